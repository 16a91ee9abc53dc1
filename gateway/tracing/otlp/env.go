package otlp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"golang.org/x/net/http/httpguts"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// defaultEndpoint is the specification's default for OTLP over HTTP.
const defaultEndpoint = "http://localhost:4318"

// tracesPath is appended to a base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT).
const tracesPath = "v1/traces"

// FromEnv reads the exporter's configuration from the OTLP exporter's
// standard variables, through getenv; certificate files named there are
// read from disk. Each variable X has a per-signal OTEL_EXPORTER_OTLP_TRACES_X
// that wins over OTEL_EXPORTER_OTLP_X when set:
//
//   - ENDPOINT: OTEL_EXPORTER_OTLP_ENDPOINT is a base URL that gets
//     /v1/traces appended to its path; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
//     is used as is (an empty path is /). http:// sends in clear text,
//     https:// over TLS. Unset: http://localhost:4318/v1/traces.
//   - HEADERS: comma-separated key=value pairs, values URL-decoded. The
//     per-signal list replaces the general one, as in the SDK's exporter.
//   - TIMEOUT: milliseconds for one export, retries included (10000).
//   - COMPRESSION: gzip or none (none).
//   - PROTOCOL: http/protobuf only.
//   - CERTIFICATE: a PEM file of the roots to trust; CLIENT_CERTIFICATE
//     and CLIENT_KEY: PEM files of a client certificate.
//
// Unlike the SDK, which logs a value it cannot read (a header value
// included) and goes on without it, FromEnv reports every problem at
// once, each naming its variable and never quoting a header value.
func FromEnv(getenv func(string) string) (Config, error) {
	e := env{getenv: getenv}
	cfg := Config{
		URL:     e.endpoint(),
		Headers: e.headers(),
		Timeout: e.timeout(),
		Gzip:    e.gzip(),
		TLS:     e.tls(),
	}
	e.protocol()
	return cfg, errors.Join(e.errs...)
}

// env reads OTEL_EXPORTER_OTLP_* variables and collects their problems.
type env struct {
	getenv func(string) string
	errs   []error
}

// lookup returns the name and trimmed value of the traces variable of
// suffix when set, else of the general one.
func (e *env) lookup(suffix string) (name, value string) {
	name = "OTEL_EXPORTER_OTLP_TRACES_" + suffix
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return name, v
	}
	name = "OTEL_EXPORTER_OTLP_" + suffix
	return name, strings.TrimSpace(e.getenv(name))
}

func (e *env) fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("otlp: %s: "+format, append([]any{name}, args...)...))
}

func (e *env) endpoint() *url.URL {
	name, v := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", strings.TrimSpace(e.getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
	perSignal := v != ""
	if !perSignal {
		name, v = "OTEL_EXPORTER_OTLP_ENDPOINT", strings.TrimSpace(e.getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	}
	if v == "" {
		v = defaultEndpoint
	}
	// Neither url.Parse's error nor the value is quoted: an endpoint may
	// carry credentials.
	u, err := url.Parse(v)
	if err != nil {
		e.fail(name, "not a URL")
		return nil
	}
	if err := checkURL(u); err != nil {
		e.fail(name, "%w", err)
		return nil
	}
	switch {
	case perSignal && u.Path == "":
		u.Path = "/"
	case !perSignal:
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + tracesPath
		u.RawPath = ""
	}
	return u
}

// checkURL accepts an absolute http or https URL with a host.
func checkURL(u *url.URL) error {
	if u == nil {
		return errors.New("no endpoint")
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return errors.New("want an http:// or https:// URL")
	}
	if u.Host == "" {
		return errors.New("the URL names no host")
	}
	return nil
}

func (e *env) headers() http.Header {
	name, v := e.lookup("HEADERS")
	if v == "" {
		return nil
	}
	h := http.Header{}
	for i, pair := range strings.Split(v, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		// The value is a secret: problems name the pair's position and
		// never quote it.
		key, raw, ok := strings.Cut(pair, "=")
		key = strings.TrimSpace(key)
		if !ok || !httpguts.ValidHeaderFieldName(key) {
			e.fail(name, "pair %d is not key=value with a header name as key", i+1)
			continue
		}
		value, err := url.PathUnescape(raw)
		if err != nil {
			e.fail(name, "the value of %s is not URL-encoded", key)
			continue
		}
		value = strings.TrimSpace(value)
		if !httpguts.ValidHeaderFieldValue(value) {
			e.fail(name, "the value of %s holds a control character", key)
			continue
		}
		h.Set(key, value)
	}
	return h
}

func (e *env) timeout() time.Duration {
	name, v := e.lookup("TIMEOUT")
	if v == "" {
		return defaultTimeout
	}
	ms, err := strconv.Atoi(v)
	if err != nil || ms <= 0 {
		e.fail(name, "%q is not a positive number of milliseconds", v)
		return defaultTimeout
	}
	return time.Duration(ms) * time.Millisecond
}

func (e *env) gzip() bool {
	name, v := e.lookup("COMPRESSION")
	switch v {
	case "", "none":
		return false
	case "gzip":
		return true
	}
	e.fail(name, "%q: want gzip or none", v)
	return false
}

func (e *env) protocol() {
	name, v := e.lookup("PROTOCOL")
	if v != "" && v != "http/protobuf" {
		e.fail(name, "%q: minbil-bff exports OTLP over \"http/protobuf\" only", v)
	}
}

// tls builds the TLS configuration the certificate variables ask for, or
// nil when they ask for none.
func (e *env) tls() *tls.Config {
	var cfg tls.Config
	set := false
	if name, file := e.lookup("CERTIFICATE"); file != "" {
		set = true
		pem, err := os.ReadFile(file)
		switch {
		case err != nil:
			e.fail(name, "%w", err)
		default:
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				e.fail(name, "%s holds no PEM certificate", file)
			}
		}
	}
	certName, certFile := e.lookup("CLIENT_CERTIFICATE")
	keyName, keyFile := e.lookup("CLIENT_KEY")
	switch {
	case certFile == "" && keyFile == "":
	case certFile == "" || keyFile == "":
		e.fail(certName+" and "+keyName, "set both or neither")
	default:
		set = true
		// LoadX509KeyPair's errors name files, never the key's bytes.
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			e.fail(certName+" and "+keyName, "%w", err)
			break
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if !set {
		return nil
	}
	return &cfg
}
