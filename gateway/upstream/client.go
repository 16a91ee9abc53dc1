// Package upstream is the gateway's client of the MinBil Ratings API: one
// fasthttp host client, a deadline per call, one circuit breaker per
// operation. A request that never left (its pooled connection was found
// closed) is sent again on a fresh connection, a GET whose connection broke
// is retried once, a POST that may have reached the upstream never.
package upstream

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/minbil/minbil-bff/contracts/header"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/scrub"
	"github.com/minbil/minbil-bff/gateway/tracing"
)

// Errors a call can end with. The gateway's error handler maps them to
// HTTP status codes; their text never reaches a client.
var (
	// ErrBreakerOpen: the operation's breaker is open or half-open and full (503).
	ErrBreakerOpen = errors.New("upstream circuit breaker open")
	// ErrTimeout: the upstream did not answer within the deadline (504).
	ErrTimeout = errors.New("upstream timeout")
	// ErrUnreachable: the upstream could not be connected to or the
	// connection broke before an answer (502).
	ErrUnreachable = errors.New("upstream unreachable")
	// ErrBadResponse: the upstream answered something that is not a usable
	// answer (a redirect, an oversized or garbled response) (502).
	ErrBadResponse = errors.New("upstream bad response")
	// ErrOverloaded: every upstream connection is busy and none freed up in
	// time (503). It is local, so it does not count against the breaker.
	ErrOverloaded = errors.New("upstream connection pool exhausted")
)

// StatusError is returned, together with the response, when the upstream
// answered 5xx. It counts as a breaker failure.
type StatusError struct{ Status int }

func (e *StatusError) Error() string { return "upstream answered " + strconv.Itoa(e.Status) }

// Request is one call to the upstream. Path must already be built from
// validated parts; it is sent as is, without normalisation.
type Request struct {
	// Operation names the breaker (the contract's operationId).
	Operation string
	Method    string
	Path      string
	// Query is an already-encoded query string without "?".
	Query string
	// BearerToken, when not empty, is sent as Authorization: Bearer
	// BearerToken (written into the request, not concatenated first).
	BearerToken string
	RequestID   string
	// IdempotencyKey is forwarded when not empty.
	IdempotencyKey string
	// Body is sent when not nil, as ContentType.
	Body []byte
	// ContentType is the media type of Body; empty means application/json.
	ContentType string
	// Relay takes a redirect (3xx) as an answer, with its Location, instead
	// of ErrBadResponse: the gateway relays the answer as it is (the
	// development pass-through of the mock's own routes).
	Relay bool
	// Forward are extra headers sent as they are, before the API key (which
	// they can therefore never replace). The gateway fills them only from
	// its development options, so a real upstream never receives them.
	Forward []Header
	// Uncounted marks a call whose outcome says nothing about the
	// upstream's health (a fault the client asked for, a development
	// pass-through): it goes past the operation's breaker, which neither
	// counts it nor refuses it, so one client cannot open a breaker that
	// others share.
	Uncounted bool
}

// Header is one extra request header.
type Header struct{ Name, Value string }

// Response is the upstream's answer. Body is owned by the caller.
type Response struct {
	Status      int
	Body        []byte
	ContentType string
	RetryAfter  string
	// Location is the Location of a relayed redirect (Request.Relay).
	Location string
	// Security holds a relayed answer's security headers (relayedHeaders):
	// a page relayed without its Content-Security-Policy could be framed.
	Security []Header

	// budget and weight are the room the answer holds until Done.
	budget *answerBudget
	weight int64
}

// Done tells the client the answer's body has been made into what the
// caller sends on: its room in the in-flight budget is free again. It may
// be called more than once, and on a nil Response.
func (r *Response) Done() {
	if r != nil && r.budget != nil {
		r.budget.release(r.weight)
		r.budget = nil
	}
}

// relayedHeaders are the security headers a relayed answer keeps.
var relayedHeaders = [...]string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy", "Permissions-Policy"}

// Dialer opens a connection to the upstream; it replaces DNS and TCP (for
// an upstream served in process on an in-memory listener).
type Dialer func(addr string) (net.Conn, error)

// Client calls the upstream. It is safe for concurrent use.
type Client struct {
	hc        *fasthttp.HostClient
	budget    *answerBudget
	scheme    string
	host      string
	basePath  string
	apiKey    string
	keyHeader string
	timeout   time.Duration
	breakers  *Breakers
	tracing   tracing.Tracing
	address   string // host without port, for server.address
	port      int    // for server.port
}

// New builds a client for cfg.URL (an http or https URL without user
// info: the client would not send it, and credentials go in their own
// keys). dial may be nil (TCP and DNS). tr makes the breaker's and the
// call's spans and writes the trace into the outbound headers (its zero
// value: no spans, W3C traceparent of the context's span). An error shows
// the URL as the configuration's redaction does (scrub.URL): its user
// info, query and fragment may hold a password or a key.
func New(cfg config.Upstream, breakers *Breakers, dial Dialer, tr tracing.Tracing) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("upstream url %q: must be an absolute http(s) URL without user info", scrub.URL(cfg.URL))
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	_, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	hc := &fasthttp.HostClient{
		Addr:                      addr,
		IsTLS:                     u.Scheme == "https",
		TLSConfig:                 &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()},
		MaxConns:                  cfg.MaxConns,
		MaxConnWaitTimeout:        poolWait(cfg.Timeout),
		ReadTimeout:               cfg.Timeout,
		WriteTimeout:              cfg.Timeout,
		MaxResponseBodySize:       cfg.MaxResponseBytes,
		ReadBufferSize:            readBufferSize,
		MaxIdemponentCallAttempts: maxAttempts,
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true,
		MaxIdleConnDuration:       cfg.IdleTimeout,
	}
	hc.Dial = watchDial(dial, cfg.Timeout)
	hc.RetryIfErr = func(req *fasthttp.Request, attempts int, err error) (bool, bool) {
		return false, retryable(req, attempts, err, hc)
	}
	return &Client{
		hc:        hc,
		budget:    newAnswerBudget(int64(cfg.MaxInflightBytes), int64(cfg.MaxResponseBytes)),
		scheme:    u.Scheme,
		host:      u.Host,
		basePath:  strings.TrimSuffix(u.Path, "/"),
		apiKey:    cfg.APIKey,
		keyHeader: cfg.APIKeyHeader,
		timeout:   cfg.Timeout,
		breakers:  breakers,
		tracing:   tr,
		address:   u.Hostname(),
		port:      port,
	}, nil
}

// readBufferSize bounds an upstream answer's status line and headers
// (fasthttp's default is 4 KiB): a redirect of the development
// pass-through echoes what the client sent (an OAuth state in its
// Location), and a client's request may carry up to limits.header_bytes
// (16 KiB by default).
const readBufferSize = 16 << 10

// maxAttempts bounds the sends of one call: a stale pooled connection
// found before writing (errStaleConn) costs nothing upstream and drops the
// idle pool, so the next try dials; a GET whose connection broke gets one
// more try.
const maxAttempts = 3

// watchDial wraps dial (nil: TCP with fasthttp's DNS cache) so that every
// connection is checked for a closed peer before each request.
func watchDial(dial Dialer, timeout time.Duration) fasthttp.DialFunc {
	return func(addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if dial != nil {
			conn, err = dial(addr)
		} else {
			conn, err = fasthttp.DialTimeout(addr, timeout)
		}
		if err != nil {
			return nil, err
		}
		return newWatchedConn(conn), nil
	}
}

// retryable decides whether a failed send is sent again (fasthttp's
// RetryIfErr): a request that never left (a stale pooled connection) is,
// whatever its method; a GET whose connection broke before an answer is,
// once. Either way the idle pool is dropped first: after an upstream
// restart every pooled connection is dead, and the next try must dial.
// A POST that may have reached the upstream is never sent again.
func retryable(req *fasthttp.Request, attempts int, err error, hc *fasthttp.HostClient) bool {
	stale := errors.Is(err, errStaleConn)
	broken := req.Header.IsGet() && attempts == 1 && !errors.Is(err, fasthttp.ErrTimeout) &&
		!errors.Is(err, fasthttp.ErrBodyTooLarge) && !errors.Is(err, fasthttp.ErrNoFreeConns)
	if !stale && !broken {
		return false
	}
	hc.CloseIdleConnections()
	return true
}

// poolWait is how long a call waits for a free upstream connection: a
// quarter of the call's budget, at most a second, so that a full pool ends in
// ErrNoFreeConns (a local 503 that does not count against the breaker)
// rather than in the call's timeout (F-24).
func poolWait(timeout time.Duration) time.Duration {
	return min(timeout/4, time.Second)
}

// Close drops the idle upstream connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Do sends r through the operation's breaker. A 4xx answer is a response,
// not an error; a 5xx answer comes back with a *StatusError. A client that
// went away (ctx cancelled) does not count against the breaker.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	ctx, span := c.tracing.Start(ctx, "breaker", trace.SpanKindInternal)
	if span.IsRecording() {
		span.SetAttributes(tracing.Operation.String(r.Operation), tracing.BreakerState.String(c.breakers.State(r.Operation).String()))
	}
	call := func() (*Response, error) { return c.attempt(ctx, r) }
	var resp *Response
	var err error
	if r.Uncounted {
		resp, err = call()
	} else {
		resp, err = c.breakers.Execute(r.Operation, call)
	}
	switch {
	case errors.Is(err, ErrBreakerOpen):
		// An open breaker's refusal is prebuilt and needs no context.
		tracing.End(span, "breaker_open")
		return nil, err
	case err != nil:
		span.End()
		return resp, fmt.Errorf("%s %s: %w", r.Method, r.Operation, err)
	}
	span.End()
	return resp, nil
}

// attempt makes the call; fasthttp sends it again where retryable says so.
func (c *Client) attempt(ctx context.Context, r Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, span := c.tracing.Start(ctx, r.Method, trace.SpanKindClient)
	resp, err := c.send(ctx, span, r)
	if errors.Is(err, errBodyBroken) && (r.Method == fasthttp.MethodGet || r.Method == fasthttp.MethodHead) {
		// The one retry of a broken GET, as retryable gives it while the
		// headers are read; every pooled connection may be as dead.
		c.hc.CloseIdleConnections()
		resp, err = c.send(ctx, span, r)
	}
	errType := ""
	switch {
	case !span.IsRecording():
	case err != nil:
		errType = ErrorType(err)
	case resp.Status >= 400:
		errType = strconv.Itoa(resp.Status)
	}
	tracing.End(span, errType)
	return resp, err
}

// send makes the call under span: the semantic conventions' HTTP client
// attributes, and the path without its query (a username travels there).
func (c *Client) send(ctx context.Context, span trace.Span, r Request) (*Response, error) {
	if span.IsRecording() {
		span.SetAttributes(
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.ServerAddress(c.address),
			semconv.ServerPort(c.port),
			semconv.URLScheme(c.scheme),
			semconv.URLPath(c.basePath+r.Path),
			tracing.Operation.String(r.Operation),
		)
	}
	req := fasthttp.AcquireRequest()
	res := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	c.build(ctx, req, r)

	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	res.StreamBody = true
	if err := c.hc.DoDeadline(req, res, deadline); err != nil {
		return nil, classify(err)
	}
	// The body is read after it has room in the budget; until then the
	// connection holds it. Closing the stream returns the connection.
	defer func() { _ = res.CloseBodyStream() }()
	status := res.StatusCode()
	if span.IsRecording() {
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	}
	if status >= 300 && status < 400 && !r.Relay {
		return nil, fmt.Errorf("%w: redirect %d not followed", ErrBadResponse, status)
	}
	body, weight, err := c.budget.read(ctx, res, deadline)
	if err != nil {
		return nil, err
	}
	out := &Response{
		Status:      status,
		Body:        body,
		ContentType: string(res.Header.ContentType()),
		RetryAfter:  string(res.Header.Peek(fasthttp.HeaderRetryAfter)),
		budget:      c.budget,
		weight:      weight,
	}
	if r.Relay {
		if status >= 300 && status < 400 {
			out.Location = string(res.Header.Peek(fasthttp.HeaderLocation))
		}
		for _, name := range relayedHeaders {
			if v := res.Header.Peek(name); len(v) > 0 {
				out.Security = append(out.Security, Header{Name: name, Value: string(v)})
			}
		}
	}
	if status >= 500 {
		return out, &StatusError{Status: status}
	}
	return out, nil
}

// build writes the outbound request from scratch: only the headers the
// upstream needs, ctx's trace, the API key set last (a client cannot supply
// or strip it).
func (c *Client) build(ctx context.Context, req *fasthttp.Request, r Request) {
	req.Header.DisableNormalizing()
	req.SetRequestURI(c.scheme + "://" + c.host + c.basePath + r.Path)
	req.URI().DisablePathNormalizing = true
	if r.Query != "" {
		req.URI().SetQueryString(r.Query)
	}
	req.Header.SetMethod(r.Method)
	req.Header.Set(fasthttp.HeaderAccept, "application/json")
	if r.BearerToken != "" {
		// The header copies the value: a buffer on the stack holds any
		// ordinary token, so forwarding it allocates nothing.
		var buf [512]byte
		req.Header.SetBytesV(fasthttp.HeaderAuthorization, append(append(buf[:0], "Bearer "...), r.BearerToken...))
	}
	if r.RequestID != "" {
		req.Header.Set("X-Request-ID", r.RequestID)
	}
	if r.IdempotencyKey != "" {
		req.Header.Set(header.IdempotencyKeyName, r.IdempotencyKey)
	}
	for _, h := range r.Forward {
		req.Header.Set(h.Name, h.Value)
	}
	if r.Body != nil {
		req.Header.SetContentType(cmp.Or(r.ContentType, "application/json"))
		req.SetBodyRaw(r.Body)
	}
	c.tracing.Inject(ctx, &req.Header)
	if c.apiKey != "" {
		req.Header.Set(c.keyHeader, c.apiKey)
	}
}

// ErrorType names a failed call for a span's error.type: the package's
// sentinel, never the error's text.
func ErrorType(err error) string {
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return strconv.Itoa(se.Status)
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrOverloaded):
		return "overloaded"
	case errors.Is(err, ErrBadResponse):
		return "bad_response"
	case errors.Is(err, ErrUnreachable):
		return "unreachable"
	}
	return "_OTHER"
}

// classify turns fasthttp's errors into the package's sentinels, keeping
// the original for the log.
func classify(err error) error {
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return fmt.Errorf("%w: %w", ErrOverloaded, err)
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return fmt.Errorf("%w: %w", ErrBadResponse, err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}
