package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// chunked encodes s as one chunk and the last chunk.
func chunked(s string) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(s), s) }

// TestRawFraming is BI-79…BI-93 over raw sockets (plus the buffer cases
// BI-05 and BI-31): bytes are written as they are, the answers are read
// raw. Connections are keep-alive unless the payload says otherwise, so a
// smuggled second request would be answered and seen upstream.
func TestRawFraming(t *testing.T) {
	t.Parallel()
	up := wiretest.NewUpstream(t, routeOK)
	h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Server.ReadTimeout = 400 * time.Millisecond }))
	const host = "Host: bff.test\r\n"
	const json = "Content-Type: application/json\r\n"
	smuggled := "GET /api/co/rating HTTP/1.1\r\nHost: bff.test\r\nX-Request-ID: smuggled\r\n\r\n"
	tests := []struct {
		name         string
		payload      string
		wantStatuses []int // every answer on the connection, in order
		wantClosed   bool  // the gateway closes the connection after them
		wantCalls    int64
		skip         string // a known defect, reported
	}{
		{
			name:         "BI-05/request line over ReadBufferSize",
			payload:      "GET " + checkPath + "?username=" + strings.Repeat("a", 20000) + " HTTP/1.1\r\n" + host + "Authorization: Bearer x\r\n\r\n",
			wantStatuses: []int{431}, wantClosed: true,
		},
		{
			name:         "BI-31/Bearer with 100000 dots",
			payload:      "GET /api/co/rating HTTP/1.1\r\n" + host + "Authorization: Bearer " + strings.Repeat(".", 100000) + "\r\n\r\n",
			wantStatuses: []int{431}, wantClosed: true,
		},
		{
			name:         "BI-79/Content-Length 100 with 10 bytes sent, then a stall",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Content-Length: 100\r\n\r\n{\"service_",
			wantStatuses: []int{408}, wantClosed: true,
		},
		{
			name: "BI-80/Content-Length and chunked with a request smuggled in the chunk",
			payload: "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
				chunked(smuggled),
			wantStatuses: []int{400},
		},
		{
			name: "BI-80/chunked then Content-Length, smuggled after a zero chunk",
			payload: "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Transfer-Encoding: chunked\r\nContent-Length: " + fmt.Sprint(len("0\r\n\r\n")+len(smuggled)) + "\r\n\r\n" +
				"0\r\n\r\n" + smuggled,
			wantStatuses: []int{400},
		},
		{
			name:         "BI-81/two different Content-Lengths",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Content-Length: 5\r\nContent-Length: 50\r\n\r\n" + strings.Repeat("x", 50),
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "BI-82/Transfer-Encoding chunked twice",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(validRating),
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "BI-82/Transfer-Encoding gzip, chunked",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked(validRating),
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "BI-82/Transfer-Encoding chunked with a trailing tab",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Transfer-Encoding: chunked\t\r\n\r\n" + chunked(validRating),
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "BI-82/Transfer-Encoding Chunked in another case is accepted",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n" + chunked(validRating),
			wantStatuses: []int{200}, wantClosed: true, wantCalls: 1,
		},
		{
			name:         "BI-83/space before the colon",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Content-Length : 5\r\n\r\n{}{}{",
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			// RFC 9112 §5.2 allows replacing obs-fold with SP instead of a
			// 400; fasthttp folds, so the continuation never becomes a
			// header of its own: no chunked body is awaited, and the
			// folded X-Request-ID is no longer sane (a UUID is answered).
			name:         "BI-83/obs-fold continuation line is folded, not a header",
			payload:      "GET /api/co/rating HTTP/1.1\r\n" + host + "X-Request-ID: abc\r\n Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
			wantStatuses: []int{200}, wantClosed: true, wantCalls: 1,
		},
		{
			name:         "BI-83/CR inside a header name",
			payload:      "GET /api/co/rating HTTP/1.1\r\n" + host + "X-Fo\ro: 1\r\n\r\n",
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "BI-84/chunk extension with a bare LF",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Transfer-Encoding: chunked\r\n\r\n5;a\nb\r\n{}{}{\r\n0\r\n\r\n" + smuggled,
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "BI-85/CR inside a header value",
			payload:      "GET /api/co/rating HTTP/1.1\r\n" + host + "X-Request-ID: a\rSet-Cookie: x=1\r\n\r\n",
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "BI-85/NUL inside a header value",
			payload:      "GET /api/co/rating HTTP/1.1\r\n" + host + "X-Request-ID: a\x00b\r\n\r\n",
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "BI-91/64 KiB cookie",
			payload:      "GET /api/co/rating HTTP/1.1\r\n" + host + "Cookie: c=" + strings.Repeat("x", 64<<10) + "\r\n\r\n",
			wantStatuses: []int{431}, wantClosed: true,
		},
		{
			name:         "BI-91/10000 small headers",
			payload:      "GET /api/co/rating HTTP/1.1\r\n" + host + strings.Repeat("X-A: 1\r\n", 10000) + "\r\n",
			wantStatuses: []int{431}, wantClosed: true,
		},
		{
			name:         "BI-92/HTTP/1.0 with chunked",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.0\r\n" + host + json + "Transfer-Encoding: chunked\r\n\r\n" + chunked(validRating),
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			// fasthttp answers 100 Continue before it compares the length
			// with the limit, then 413 without reading a byte of the body
			// (none is sent here) and closes.
			name:         "BI-93/Expect 100-continue with an over-limit Content-Length",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Expect: 100-continue\r\nContent-Length: 1048576\r\n\r\n",
			wantStatuses: []int{100, 413}, wantClosed: true,
		},
		{
			name:         "BI-93/Expect 100-continue within the limit is served",
			payload:      "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Expect: 100-continue\r\nConnection: close\r\nContent-Length: " + fmt.Sprint(len(validRating)) + "\r\n\r\n" + validRating,
			wantStatuses: []int{100, 200}, wantClosed: true, wantCalls: 1,
		},
		{
			name: "OA-08/Idempotency-Key and X-Request-ID as chunked trailers",
			payload: "POST /api/co/rating/rate/5 HTTP/1.1\r\n" + host + json + "Transfer-Encoding: chunked\r\n\r\n" +
				fmt.Sprintf("%x\r\n%s\r\n", len(validRating), validRating) + "0\r\nIdempotency-Key: from-the-trailer\r\nX-Request-ID: smuggled\r\n\r\n",
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "OA-10/lower-case method",
			payload:      "get /api/co/rating HTTP/1.1\r\n" + host + "\r\n",
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "OA-10/unknown method",
			payload:      "BREW /api/co/rating HTTP/1.1\r\n" + host + "\r\n",
			wantStatuses: []int{400}, wantClosed: true,
		},
		{
			name:         "pipelining control: two well-formed requests get two answers",
			payload:      "GET /api/co/rating HTTP/1.1\r\n" + host + "\r\nGET /api/co/rating HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n",
			wantStatuses: []int{200, 200}, wantClosed: true, wantCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip != "" {
				t.Skip(tt.skip)
			}
			before := up.Calls.Load()
			conn, err := net.DialTimeout("tcp", h.Addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = conn.Write([]byte(tt.payload))
			rawAnswer := readUntilQuiet(conn, 1500*time.Millisecond)
			got := responses(rawAnswer)
			var statuses []int
			for _, a := range got {
				statuses = append(statuses, a.Status)
			}
			if fmt.Sprint(statuses) != fmt.Sprint(tt.wantStatuses) {
				t.Fatalf("answers %v, want %v:\n%.600q", statuses, tt.wantStatuses, rawAnswer)
			}
			if tt.wantClosed {
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
				if n, err := conn.Read(make([]byte, 1)); err == nil || n > 0 {
					t.Errorf("the connection stayed open after the answers")
				}
			}
			for i, a := range got {
				if a.Status >= 400 {
					wiretest.CheckErrorBody(t, wiretest.Request{Method: "RAW", Target: tt.name}, a)
				}
				if a.Status >= 200 && a.Header.Get("X-Request-Id") == "" {
					t.Errorf("answer %d (%d) has no X-Request-ID", i, a.Status)
				}
				if a.Header.Get("Set-Cookie") != "" {
					t.Errorf("answer %d carries Set-Cookie %q", i, a.Header.Get("Set-Cookie"))
				}
			}
			if calls := up.Calls.Load() - before; calls != tt.wantCalls {
				t.Errorf("upstream calls = %d, want %d", calls, tt.wantCalls)
			}
		})
	}
	t.Run("BI-80/no smuggled request ever reached the upstream", func(t *testing.T) {
		for _, r := range up.Records() {
			if r.Header.Get("X-Request-Id") == "smuggled" {
				t.Errorf("the smuggled request reached the upstream: %s", r.Line)
			}
		}
	})
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestHeaderHygiene is BI-86…BI-90: what a client sends in headers never
// chooses the upstream, its key or its fault http.HandlerFunc.
func TestHeaderHygiene(t *testing.T) {
	t.Parallel()
	up := wiretest.NewUpstream(t, routeOK)
	h := startGateway(t, up.URL)
	upHost := strings.TrimPrefix(up.URL, "http://")

	t.Run("BI-86/request ids", func(t *testing.T) {
		tests := []struct {
			name, given string
			wantEcho    bool
		}{
			{"4 KiB id is replaced", strings.Repeat("a", 4096), false},
			{"129 chars is replaced", strings.Repeat("b", 129), false},
			{"markup is replaced", "<script>", false},
			{"space is replaced", "a b", false},
			{"a sane caller id is echoed (contract)", "req-42.a_b:c", true},
			{"128 chars is echoed (contract)", strings.Repeat("c", 128), true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := h.Do(wiretest.Get("/api/co/rating", http.Header{"X-Request-ID": {tt.given}}))
				got := a.Header.Get("X-Request-Id")
				if tt.wantEcho != (got == tt.given) || (!tt.wantEcho && !uuidV4.MatchString(got)) {
					t.Fatalf("X-Request-ID %.40q answered %q; want echo=%v, else a UUIDv4", tt.given, got, tt.wantEcho)
				}
				if up.Last().Header.Get("X-Request-Id") != got {
					t.Errorf("upstream X-Request-ID %q, want the answer's %q", up.Last().Header.Get("X-Request-Id"), got)
				}
			})
		}
	})

	tests := []struct {
		name   string
		r      wiretest.Request
		header string
		want   []string // the upstream's values of header
	}{
		{"BI-87/client API key is replaced by the configured one",
			wiretest.Get("/api/co/rating", http.Header{"X-Api-Key": {"attacker"}, "x-api-key": {"attacker2"}}), wiretest.APIKeyHeader, []string{wiretest.APIKey}},
		{"BI-87/client API key on a POST",
			wiretest.Post("/api/co/rating/rate/9", wiretest.JSONHeader(http.Header{"X-API-KEY": {"attacker"}}), validRating), wiretest.APIKeyHeader, []string{wiretest.APIKey}},
		{"BI-88/Connection naming the key keeps the key",
			wiretest.Get("/api/co/rating", http.Header{"Connection": {"close, X-Api-Key, Authorization"}, "Authorization": {"Bearer who-am-i"}}), wiretest.APIKeyHeader, []string{wiretest.APIKey}},
		{"BI-88/Connection naming Authorization keeps the identity",
			wiretest.Get("/api/co/rating", http.Header{"Connection": {"close, X-Api-Key, Authorization"}, "Authorization": {"Bearer who-am-i"}}), "Authorization", []string{"Bearer who-am-i"}},
		{"BI-89/absolute-form target and a metadata Host go to the configured upstream",
			wiretest.Request{Method: "POST", Target: "http://evil.example/api/co/rating/rate/1", Header: wiretest.JSONHeader(http.Header{"Host": {"169.254.169.254"}, "X-Forwarded-Host": {"evil"}}), Body: validRating}, "Host", nil},
		{"BI-90/X-Forwarded-For is not forwarded", wiretest.Get("/api/co/rating", http.Header{"X-Forwarded-For": {"1.2.3.4"}}), "X-Forwarded-For", nil},
		{"BI-90/X-Real-IP is not forwarded", wiretest.Get("/api/co/rating", http.Header{"X-Real-Ip": {"1.2.3.4"}}), "X-Real-Ip", nil},
		{"BI-90/x-envoy headers are not forwarded", wiretest.Get("/api/co/rating", http.Header{"X-Envoy-Upstream-Rq-Timeout-Ms": {"1"}}), "X-Envoy-Upstream-Rq-Timeout-Ms", nil},
		{"BI-90/x-mock-fault is not forwarded", wiretest.Get("/api/co/rating", http.Header{"X-Mock-Fault": {"500"}}), "X-Mock-Fault", nil},
		{"BI-90/Prefer code is not forwarded", wiretest.Get("/api/co/rating", http.Header{"Prefer": {"code=500"}}), "Prefer", nil},
		{"BI-90/X-Mock-Delay is not forwarded", wiretest.Get("/api/co/rating", http.Header{"X-Mock-Delay": {"5s"}}), "X-Mock-Delay", nil},
		{"BI-90/Cookie is not forwarded", wiretest.Get("/api/co/rating", http.Header{"Cookie": {"session=abc"}}), "Cookie", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.Do(tt.r)
			if a.Status != 200 {
				t.Fatalf("answer %s, want 200", a)
			}
			rec := up.Last()
			if tt.header == "Host" {
				if rec.Host != upHost {
					t.Fatalf("upstream Host %q, want the configured %q", rec.Host, upHost)
				}
				return
			}
			if got := rec.Header.Values(tt.header); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("upstream %s = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
	t.Run("S-11/no-store and no Server banner on every operation", func(t *testing.T) {
		for _, r := range []wiretest.Request{wiretest.Get(checkPath+"?username=ola", wiretest.Bearer("u")), wiretest.Get("/api/co/rating", wiretest.Bearer("u")), wiretest.Post("/api/co/rating/rate/8", wiretest.JSONHeader(wiretest.Bearer("u")), validRating), wiretest.Get("/api/co/rating/rate/8", nil)} {
			a := h.Do(r)
			if a.Header.Get("Cache-Control") != "no-store" || a.Header.Get("Server") != "" || a.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s %s: Cache-Control %q Server %q nosniff %q", r.Method, r.Target, a.Header.Get("Cache-Control"), a.Header.Get("Server"), a.Header.Get("X-Content-Type-Options"))
			}
		}
	})
	t.Run("BI-89/every upstream request went to the configured host", func(t *testing.T) {
		for _, r := range up.Records() {
			if r.Host != upHost {
				t.Errorf("upstream request %s with Host %q", r.Line, r.Host)
			}
		}
	})
}

// TestMockModeFaultHeaders records the decision of commit 7eae970 (F-36,
// S-13): with the built-in mock as upstream, a client's Prefer and
// X-Mock-Delay reach the mock so the docs console can inject faults; with
// a real upstream they never leave the gateway (TestHeaderHygiene, BI-90).
// The configured API key is never echoed either way.
func TestMockModeFaultHeaders(t *testing.T) {
	t.Parallel()
	h := startGateway(t, "mock")
	tests := []struct {
		name       string
		header     http.Header
		wantStatus int
	}{
		{"F-36/Prefer code=503 reaches the built-in mock", http.Header{"Prefer": {"code=503"}}, 503},
		{"F-36/no fault header: the mock's normal answer", nil, 200},
		{"S-13/a client API key is neither used nor echoed", http.Header{"X-Api-Key": {"attacker"}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.Do(wiretest.Get("/api/co/rating", tt.header))
			if a.Status != tt.wantStatus {
				t.Fatalf("answer %s, want %d", a, tt.wantStatus)
			}
			if bytes.Contains(a.Body, []byte("attacker")) {
				t.Errorf("the answer echoes the client's key")
			}
		})
	}
}

// TestCORS is BI-94: a foreign origin is never reflected, and never * with
// credentials.
func TestCORS(t *testing.T) {
	t.Parallel()
	up := wiretest.NewUpstream(t, routeOK)
	h := startGateway(t, up.URL)
	tests := []struct {
		name, origin, wantAllow string
	}{
		{"BI-94/foreign origin preflight", "https://evil.example", ""},
		{"BI-94/null origin preflight", "null", ""},
		{"BI-94/look-alike localhost origin", "http://localhost.evil.example:3000", ""},
		{"BI-94/allowed dev origin", "http://localhost:3000", "http://localhost:3000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.Calls.Load()
			a, err := h.Try(wiretest.Request{Method: "OPTIONS", Target: "/api/co/rating/rate/5", Header: http.Header{
				"Origin": {tt.origin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"authorization,content-type"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			got := a.Header.Get("Access-Control-Allow-Origin")
			if got != tt.wantAllow || got == "*" {
				t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantAllow)
			}
			if a.Header.Get("Access-Control-Allow-Credentials") == "true" && (got == "*" || got == "") {
				t.Errorf("credentials allowed with origin %q", got)
			}
			if up.Calls.Load() != before {
				t.Errorf("a preflight reached the upstream")
			}
		})
	}
	t.Run("BI-94/simple request from a foreign origin", func(t *testing.T) {
		a := h.Do(wiretest.Get("/api/co/rating", http.Header{"Origin": {"https://evil.example"}}))
		if v := a.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Fatalf("Access-Control-Allow-Origin = %q on a foreign origin", v)
		}
		var list struct{ Total int }
		_ = json.Unmarshal(a.Body, &list)
	})
}
