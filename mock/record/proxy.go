package record

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minbil/minbil-bff/contracts/header"
)

// maxAnswer bounds an upstream answer the recorder reads.
const maxAnswer = 4 << 20

// ErrUpstream wraps a failure to reach the upstream or read its answer.
var ErrUpstream = errors.New("upstream unreachable")

// Proxy forwards requests to a real upstream and records each answer in a
// Dir. Build it with NewProxy.
type Proxy struct {
	upstream  *url.URL
	apiKey    string
	keyHeader string
	client    *http.Client
	dir       *Dir
}

// ProxyConfig configures a Proxy.
type ProxyConfig struct {
	// Upstream is the base URL of the real API (http or https).
	Upstream string
	// APIKey is sent in APIKeyHeader on every request; empty sends none.
	APIKey string
	// APIKeyHeader defaults to "X-API-Key".
	APIKeyHeader string
	// Timeout bounds one upstream call; 0 means 15s.
	Timeout time.Duration
	// Transport replaces http.DefaultTransport (tests).
	Transport http.RoundTripper
}

// NewProxy checks cfg and builds the proxy recording into dir.
func NewProxy(cfg ProxyConfig, dir *Dir) (*Proxy, error) {
	u, err := url.Parse(cfg.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, errors.New("record: the upstream must be an http(s) URL without credentials, e.g. https://api.example.com")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if cfg.APIKeyHeader == "" {
		cfg.APIKeyHeader = "X-API-Key"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	return &Proxy{upstream: u, apiKey: cfg.APIKey, keyHeader: cfg.APIKeyHeader, dir: dir,
		client: &http.Client{Transport: cfg.Transport, Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// Incoming is a caller's request to forward. Header may carry
// Authorization, Content-Type, Accept, Idempotency-Key and X-Request-ID;
// nothing else is forwarded (no cookie, no development header).
type Incoming struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// Answer is the upstream's answer, as the caller gets it, and the fixture
// it was recorded as.
type Answer struct {
	Status  int
	Header  http.Header
	Body    []byte
	Fixture string
	Written bool
	Verdict Verdict
}

var forwarded = []string{"Authorization", "Content-Type", "Accept", header.IdempotencyKeyName, "X-Request-ID"}

// Forward sends in to the upstream with the API key and records the answer.
func (p *Proxy) Forward(ctx context.Context, in Incoming) (Answer, error) {
	target := *p.upstream
	target.Path += in.Path
	target.RawQuery = in.Query
	var body io.Reader
	if in.Body != nil {
		body = bytes.NewReader(in.Body)
	}
	req, err := http.NewRequestWithContext(ctx, in.Method, target.String(), body)
	if err != nil {
		return Answer{}, fmt.Errorf("record: build request: %w", err)
	}
	for _, h := range forwarded {
		if v := in.Header.Values(h); len(v) > 0 {
			req.Header[http.CanonicalHeaderKey(h)] = v
		}
	}
	if p.apiKey != "" {
		req.Header.Set(p.keyHeader, p.apiKey) // last: nothing replaces it
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("%w: %s %s: %w", ErrUpstream, in.Method, in.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil || len(b) > maxAnswer {
		return Answer{}, fmt.Errorf("%w: %s %s: answer unreadable or over %d bytes", ErrUpstream, in.Method, in.Path, maxAnswer)
	}
	var token string
	if t, err := header.Bearer(in.Header.Values("Authorization"), header.Opaque); err == nil {
		token = t
	}
	secrets := []string{p.apiKey, token, in.Header.Get("Authorization")}
	name, f, written, err := p.dir.Write(ctx, in.Method, in.Path, in.Query, resp.StatusCode, resp.Header, b, secrets...)
	if err != nil {
		return Answer{}, err
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Fixture: name, Written: written, Verdict: f.Contract}, nil
}
