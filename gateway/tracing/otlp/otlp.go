// Package otlp sends spans to an OpenTelemetry collector as OTLP over HTTP
// with protobuf ("http/protobuf"), without linking gRPC.
//
// Why not the SDK's otlptracehttp: it shares its configuration code with
// the gRPC exporter, so it links google.golang.org/grpc and the collector's
// service package to send one HTTP POST: 102 more packages, 2.1 MB more
// stripped binary and 12 s more CPU for a cold build
// (docs/performance-weight.md). Here the SDK's generic otlptrace.Exporter turns spans into the
// official OTLP protobuf messages (its transform, not ours), and a small
// client posts them with net/http. The export request message is a single
// repeated field, so it is written with protowire instead of importing the
// collector package that defines it.
package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Retry policy: the OTLP specification asks a client to retry 429, 502,
// 503 and 504 with exponential backoff, honouring Retry-After. All
// attempts of one export share its Timeout, so a retry never outlives the
// batch it carries.
const (
	maxAttempts  = 5
	firstBackoff = 500 * time.Millisecond
	maxBackoff   = 5 * time.Second
)

// maxResponseBytes bounds what is read of a collector's answer.
const maxResponseBytes = 64 << 10

// defaultTimeout is the specification's default for one export.
const defaultTimeout = 10 * time.Second

// userAgent names the exporter to the collector, as the specification
// asks of exporters.
const userAgent = "minbil-bff OTLP/HTTP exporter"

// errStopped cancels the exports still running when the exporter stops.
var errStopped = errors.New("otlp: exporter stopped")

// Config says where and how spans are sent. FromEnv reads it from the
// standard OTEL_EXPORTER_OTLP_* variables.
type Config struct {
	// URL is where spans are posted, http or https, used as is.
	URL *url.URL
	// Headers are sent with every export. Their values are secrets
	// (collector API keys): no error or log line of this package quotes
	// them.
	Headers http.Header
	// Timeout bounds one export, retries and their waits included. Zero
	// means 10 s.
	Timeout time.Duration
	// Gzip compresses the body.
	Gzip bool
	// TLS configures https; nil means the system's roots and no client
	// certificate.
	TLS *tls.Config
}

// New returns a span exporter for the SDK's batch span processor that
// posts spans as cfg says. Its Shutdown cancels the exports still running
// and closes idle connections.
func New(ctx context.Context, cfg Config) (*otlptrace.Exporter, error) {
	if err := checkURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("otlp: %w", err)
	}
	exp, err := otlptrace.New(ctx, newClient(cfg))
	if err != nil {
		return nil, fmt.Errorf("otlp: start exporter: %w", err)
	}
	return exp, nil
}

// client is the otlptrace.Client that posts over net/http.
type client struct {
	url       string
	where     string // the URL without credentials or query, for errors
	headers   http.Header
	timeout   time.Duration
	gzip      bool
	transport *http.Transport
	http      *http.Client
	stopped   context.Context
	stop      context.CancelFunc
	// sleep waits d or until ctx ends; jitter spreads a backoff. Tests
	// replace both.
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func(d time.Duration) time.Duration
}

var _ otlptrace.Client = (*client)(nil)

func newClient(cfg Config) *client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.TLS != nil {
		transport.TLSClientConfig = cfg.TLS.Clone()
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	where := url.URL{Scheme: cfg.URL.Scheme, Host: cfg.URL.Host, Path: cfg.URL.Path}
	stopped, stop := context.WithCancelCause(context.Background())
	return &client{
		url:       cfg.URL.String(),
		where:     where.String(),
		headers:   cfg.Headers.Clone(),
		timeout:   timeout,
		gzip:      cfg.Gzip,
		transport: transport,
		http: &http.Client{
			Transport: transport,
			// A redirect would carry the headers, secrets among them,
			// to wherever it points; a collector has no reason to send
			// one.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		stopped: stopped,
		stop:    func() { stop(errStopped) },
		sleep:   sleep,
		jitter:  halfJitter,
	}
}

// Start does nothing: the first export connects.
func (c *client) Start(context.Context) error { return nil }

// Stop cancels the exports still running and closes idle connections.
func (c *client) Stop(context.Context) error {
	c.stop()
	c.transport.CloseIdleConnections()
	return nil
}

// UploadTraces posts one export request holding spans, retrying what the
// specification says to retry within the export's timeout.
func (c *client) UploadTraces(ctx context.Context, spans []*tracepb.ResourceSpans) error {
	body, err := c.body(spans)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	unhook := context.AfterFunc(c.stopped, func() { cancel(context.Cause(c.stopped)) })
	defer unhook()
	ctx, cancelTimeout := context.WithTimeout(ctx, c.timeout)
	defer cancelTimeout()

	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		err := c.post(ctx, body)
		if err == nil {
			return nil
		}
		wait, retry := c.retryAfter(err, backoff)
		if !retry || attempt == maxAttempts || !fits(ctx, wait) {
			return err
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("otlp: gave up waiting to retry (%w) after: %w", context.Cause(ctx), err)
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// body encodes the ExportTraceServiceRequest of spans, gzipped when asked.
func (c *client) body(spans []*tracepb.ResourceSpans) ([]byte, error) {
	raw, err := encodeRequest(spans)
	if err != nil {
		return nil, err
	}
	if !c.gzip {
		return raw, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("otlp: gzip spans: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("otlp: gzip spans: %w", err)
	}
	return buf.Bytes(), nil
}

// encodeRequest writes the collector's ExportTraceServiceRequest, whose
// only field is `repeated ResourceSpans resource_spans = 1`: each element
// as field 1, length-delimited. The collector package that defines the
// message also holds its gRPC service, which this package must not link.
func encodeRequest(spans []*tracepb.ResourceSpans) ([]byte, error) {
	const resourceSpansField = 1
	sizes := make([]int, len(spans))
	n := 0
	for i, rs := range spans {
		sizes[i] = proto.Size(rs)
		n += protowire.SizeTag(resourceSpansField) + protowire.SizeBytes(sizes[i])
	}
	b := make([]byte, 0, n)
	opts := proto.MarshalOptions{UseCachedSize: true}
	for i, rs := range spans {
		b = protowire.AppendTag(b, resourceSpansField, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizes[i]))
		var err error
		if b, err = opts.MarshalAppend(b, rs); err != nil {
			return nil, fmt.Errorf("otlp: encode spans: %w", err)
		}
	}
	return b, nil
}

// post sends body once and reads the answer.
func (c *client) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("otlp: request to %s: %w", c.where, err)
	}
	req.Header = c.headers.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error quotes the whole URL, query included; say where
		// without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		return fmt.Errorf("otlp: POST %s: %w", c.where, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("otlp: read the answer of %s: %w", c.where, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &statusError{Code: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	}
	if resp.Header.Get("Content-Type") != "application/x-protobuf" {
		return nil
	}
	return partialSuccess(answer)
}

// statusError is a collector's answer other than 2xx. The body is not
// kept: it is the collector's text, and the status says what to do.
type statusError struct {
	// Code is the HTTP status.
	Code int
	// RetryAfter is the answer's Retry-After header, if any.
	RetryAfter string
}

// Error names the status.
func (e *statusError) Error() string {
	return fmt.Sprintf("otlp: collector answered %d %s", e.Code, http.StatusText(e.Code))
}

// retryAfter says whether err is worth another attempt and how long to
// wait first: Retry-After when the collector says, else backoff spread by
// jitter.
func (c *client) retryAfter(err error, backoff time.Duration) (time.Duration, bool) {
	var se *statusError
	if errors.As(err, &se) {
		switch se.Code {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		default:
			return 0, false
		}
		if d, ok := parseRetryAfter(se.RetryAfter, time.Now()); ok {
			return d, true
		}
		return c.jitter(backoff), true
	}
	// A collector that restarts refuses or drops connections; the
	// specification asks to retry a disconnect without an answer.
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return c.jitter(backoff), true
	}
	return 0, false
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// fits tells whether waiting d leaves time for another attempt before
// ctx's deadline: a wait past it would only delay the error.
func fits(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// halfJitter returns a duration in [d/2, d], so that replicas that lost
// their collector together do not retry together.
func halfJitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// partialSuccess reads the ExportTraceServiceResponse of a 2xx: field 1
// is ExportTracePartialSuccess {int64 rejected_spans = 1; string
// error_message = 2}. A collector that rejected spans says so there; an
// answer it cannot read is not worth failing a delivered export for.
func partialSuccess(answer []byte) error {
	const partialField, rejectedField, messageField = 1, 1, 2
	ps, ok := field(answer, partialField)
	if !ok {
		return nil
	}
	var rejected int64
	var message string
	for len(ps) > 0 {
		num, typ, n := protowire.ConsumeTag(ps)
		if n < 0 {
			return nil
		}
		ps = ps[n:]
		switch {
		case num == rejectedField && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(ps)
			if m < 0 {
				return nil
			}
			rejected, ps = int64(v), ps[m:]
		case num == messageField && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(ps)
			if m < 0 {
				return nil
			}
			message, ps = string(v), ps[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, ps)
			if m < 0 {
				return nil
			}
			ps = ps[m:]
		}
	}
	if rejected == 0 && message == "" {
		return nil
	}
	return &partialSuccessError{Rejected: rejected, Message: truncate(message, 200)}
}

// field returns the bytes of the last length-delimited field num of msg.
func field(msg []byte, num protowire.Number) ([]byte, bool) {
	var out []byte
	found := false
	for len(msg) > 0 {
		n, typ, m := protowire.ConsumeTag(msg)
		if m < 0 {
			return nil, false
		}
		msg = msg[m:]
		if n == num && typ == protowire.BytesType {
			v, k := protowire.ConsumeBytes(msg)
			if k < 0 {
				return nil, false
			}
			out, found, msg = v, true, msg[k:]
			continue
		}
		k := protowire.ConsumeFieldValue(n, typ, msg)
		if k < 0 {
			return nil, false
		}
		msg = msg[k:]
	}
	return out, found
}

// partialSuccessError is a collector's 2xx that says it dropped spans.
type partialSuccessError struct {
	// Rejected is how many spans the collector dropped.
	Rejected int64
	// Message is the collector's explanation, cut to 200 bytes.
	Message string
}

// Error says how many spans were rejected and why.
func (e *partialSuccessError) Error() string {
	return fmt.Sprintf("otlp: collector rejected %d spans: %q", e.Rejected, e.Message)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
