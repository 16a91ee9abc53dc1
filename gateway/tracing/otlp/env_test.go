package otlp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FromEnv reads the OTLP exporter's variables as the specification and
// the SDK's exporter do, per-signal variables first.
func TestFromEnv(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantURL     string
		wantHeaders map[string]string
		wantTimeout time.Duration
		wantGzip    bool
	}{
		{name: "nothing set", wantURL: "http://localhost:4318/v1/traces", wantTimeout: 10 * time.Second},
		{name: "base endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, wantURL: "http://collector:4318/v1/traces", wantTimeout: 10 * time.Second},
		{name: "base endpoint with a slash", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318/"}, wantURL: "https://collector:4318/v1/traces", wantTimeout: 10 * time.Second},
		{name: "base endpoint with a path", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://vendor.example/otlp"}, wantURL: "https://vendor.example/otlp/v1/traces", wantTimeout: 10 * time.Second},
		{name: "traces endpoint as is", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/custom/spans"}, wantURL: "http://collector:4318/custom/spans", wantTimeout: 10 * time.Second},
		{name: "traces endpoint without a path", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318"}, wantURL: "http://collector:4318/", wantTimeout: 10 * time.Second},
		{
			name:        "headers decoded and trimmed",
			env:         map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cret%2C1 , x-tenant = a%20b,"},
			wantURL:     "http://localhost:4318/v1/traces",
			wantHeaders: map[string]string{"Api-Key": "s3cret,1", "X-Tenant": "a b"},
			wantTimeout: 10 * time.Second,
		},
		{
			name:        "traces headers replace the general ones",
			env:         map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=general", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-traces=1"},
			wantURL:     "http://localhost:4318/v1/traces",
			wantHeaders: map[string]string{"X-Traces": "1"},
			wantTimeout: 10 * time.Second,
		},
		{name: "timeout", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}, wantURL: "http://localhost:4318/v1/traces", wantTimeout: 2500 * time.Millisecond},
		{name: "traces timeout wins", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "300"}, wantURL: "http://localhost:4318/v1/traces", wantTimeout: 300 * time.Millisecond},
		{name: "gzip", env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}, wantURL: "http://localhost:4318/v1/traces", wantTimeout: 10 * time.Second, wantGzip: true},
		{name: "traces compression wins", env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "none"}, wantURL: "http://localhost:4318/v1/traces", wantTimeout: 10 * time.Second},
		{name: "http/protobuf", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, wantURL: "http://localhost:4318/v1/traces", wantTimeout: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := FromEnv(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if got := cfg.URL.String(); got != tt.wantURL {
				t.Errorf("URL = %s, want %s", got, tt.wantURL)
			}
			if len(cfg.Headers) != len(tt.wantHeaders) {
				t.Errorf("headers = %d, want %d", len(cfg.Headers), len(tt.wantHeaders))
			}
			for k, v := range tt.wantHeaders {
				if got := cfg.Headers.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if cfg.Timeout != tt.wantTimeout {
				t.Errorf("Timeout = %v, want %v", cfg.Timeout, tt.wantTimeout)
			}
			if cfg.Gzip != tt.wantGzip {
				t.Errorf("Gzip = %v, want %v", cfg.Gzip, tt.wantGzip)
			}
			if cfg.TLS != nil {
				t.Errorf("TLS = %v, want none", cfg.TLS)
			}
		})
	}
}

// Every variable FromEnv cannot read is reported at once, each error
// naming its variable; no error quotes a header value or an endpoint's
// credentials.
func TestFromEnvRefuses(t *testing.T) {
	const secret = "s3cret"
	tests := []struct {
		name      string
		env       map[string]string
		wantNames []string
	}{
		{name: "not http", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://user:" + secret + "@collector:4317"}, wantNames: []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}},
		{name: "no scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318"}, wantNames: []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}},
		{name: "no host", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http:///v1/" + secret}, wantNames: []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}},
		{name: "not a URL", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + secret + "@[::1"}, wantNames: []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}},
		{name: "header without =", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "Bearer " + secret}, wantNames: []string{"OTEL_EXPORTER_OTLP_HEADERS"}},
		{name: "header value badly escaped", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "api-key=%zz" + secret}, wantNames: []string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS"}},
		{name: "header value with a newline", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=" + secret + "%0Ax-evil=1"}, wantNames: []string{"OTEL_EXPORTER_OTLP_HEADERS"}},
		{name: "header name not a token", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api key=" + secret}, wantNames: []string{"OTEL_EXPORTER_OTLP_HEADERS"}},
		{name: "timeout in seconds", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, wantNames: []string{"OTEL_EXPORTER_OTLP_TIMEOUT"}},
		{name: "zero timeout", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "0"}, wantNames: []string{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"}},
		{name: "unknown compression", env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, wantNames: []string{"OTEL_EXPORTER_OTLP_COMPRESSION"}},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, wantNames: []string{"OTEL_EXPORTER_OTLP_PROTOCOL"}},
		{name: "http/json", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, wantNames: []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"}},
		{name: "missing certificate file", env: map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": "/nonexistent/ca.pem"}, wantNames: []string{"OTEL_EXPORTER_OTLP_CERTIFICATE"}},
		{name: "client key without certificate", env: map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_KEY": "/nonexistent/key.pem"}, wantNames: []string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"}},
		{
			name:      "all at once",
			env:       map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x", "OTEL_EXPORTER_OTLP_HEADERS": secret, "OTEL_EXPORTER_OTLP_TIMEOUT": "-1"},
			wantNames: []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromEnv(func(k string) string { return tt.env[k] })
			if err == nil {
				t.Fatalf("FromEnv(%v) succeeded, want an error", tt.env)
			}
			for _, name := range tt.wantNames {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("FromEnv error %q does not name %s", err, name)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("FromEnv error %q quotes the secret", err)
			}
		})
	}
}

// OTEL_EXPORTER_OTLP_CERTIFICATE makes a collector's private CA trusted,
// and CLIENT_CERTIFICATE/CLIENT_KEY present a client certificate to a
// collector that requires one; without them the same export fails.
func TestTLSFromEnv(t *testing.T) {
	dir := t.TempDir()
	cert, certFile, keyFile := selfSigned(t, dir)
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
	}{
		{name: "trusted, with a client certificate", env: map[string]string{
			"OTEL_EXPORTER_OTLP_CERTIFICATE": certFile, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": certFile, "OTEL_EXPORTER_OTLP_CLIENT_KEY": keyFile,
		}},
		{name: "traces variables", env: map[string]string{
			"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": certFile, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": certFile, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": keyFile,
		}},
		{name: "untrusted", env: map[string]string{}, wantErr: true},
		{name: "no client certificate", env: map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": certFile}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["OTEL_EXPORTER_OTLP_ENDPOINT"] = srv.URL
			cfg, err := FromEnv(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			c, _ := testClient(t, cfg)
			err = c.UploadTraces(context.Background(), someSpans())
			if (err != nil) != tt.wantErr {
				t.Fatalf("UploadTraces = %v, want an error: %v", err, tt.wantErr)
			}
		})
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T, dir string) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "collector"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certFile, keyFile
}
