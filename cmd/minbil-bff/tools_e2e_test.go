package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts"
)

// The findings of outside contract tools and clients (R3-T*) and the
// X-Mock-Session rule (R3-F19), through the real binary: the standalone
// mock and the gateway with its in-process mock, each on a loopback port,
// must answer alike.

// servers starts the standalone mock and a development gateway (its
// in-process mock) and returns their addresses, named.
func servers(t *testing.T) []server {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	mockAddr := freeAddr(t)
	start(t, mockAddr, nil, "mock", "--addr", mockAddr, "--seed", "7")
	gatewayAddr := freeAddr(t)
	start(t, gatewayAddr, nil, "serve", "--addr", gatewayAddr)
	return []server{{"mock", mockAddr}, {"gateway", gatewayAddr}}
}

type server struct{ name, addr string }

// rawAnswer is an answer read from a connection: its status, headers and
// the contract's error body, when it is one.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a rawAnswer) errorBody() (contracts.ErrorBody, bool) {
	var e contracts.ErrorBody
	err := json.Unmarshal(a.body, &e)
	return e, err == nil && e.Error.Code != "" && e.Error.Message != "" && e.Meta.RequestID != ""
}

// sendRaw writes head (a request line and headers, each line ending in
// CRLF, without the blank line) and body on a new connection, then reads
// the answer.
func sendRaw(t *testing.T, addr, head, body string) rawAnswer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	req := head + fmt.Sprintf("Host: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", addr, len(body)) + body
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("write: %v", err)
	}
	a, err := readAnswer(conn, "POST")
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return a
}

func readAnswer(conn net.Conn, method string) (rawAnswer, error) {
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return rawAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawAnswer{}, err
	}
	return rawAnswer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

const validRating = `{"service_rating":5,"service_rating_message":"Bra","private_service_rating":false}`

// TestR3T3BookingIDOneRuleOneMessage: a booking id outside the contract's
// rule (a leading zero, below the minimum 1, a sign, beyond the maximum
// 9223372036854775807, an exponent) is answered alike by the mock and the
// gateway: 400 invalid_booking_id with the one message the contracts
// package holds.
func TestR3T3BookingIDOneRuleOneMessage(t *testing.T) {
	srvs := servers(t)
	for _, id := range []string{"0123", "0", "-1", "9223372036854775808", "1e3"} {
		t.Run(id, func(t *testing.T) {
			for _, s := range srvs {
				a := sendRaw(t, s.addr, "POST "+contracts.PathRatePrefix+id+" HTTP/1.1\r\nAuthorization: Bearer demo\r\nContent-Type: application/json\r\n", validRating)
				e, ok := a.errorBody()
				if a.status != http.StatusBadRequest || !ok {
					t.Fatalf("%s: POST %s = %d %s, want 400 with the error body", s.name, id, a.status, a.body)
				}
				if e.Error.Code != contracts.CodeInvalidBookingID || e.Error.Message != contracts.InvalidBookingIDMessage {
					t.Errorf("%s: POST %s = %s %q, want %s %q", s.name, id, e.Error.Code, e.Error.Message,
						contracts.CodeInvalidBookingID, contracts.InvalidBookingIDMessage)
				}
			}
		})
	}
}

// TestR3F19MockSessionOneRule: an X-Mock-Session the mock refuses (empty,
// given twice, too long, not visible ASCII) is refused by the gateway in
// front of the mock with the same status, code and message, on every
// route that reads it, rather than read as the default world; a valid one
// passes.
func TestR3F19MockSessionOneRule(t *testing.T) {
	srvs := servers(t)
	routes := []struct{ name, head, body string }{
		{"list", "GET " + contracts.PathRatings + " HTTP/1.1\r\nAuthorization: Bearer demo\r\n", ""},
		{"rate", "POST " + contracts.PathRatePrefix + "123 HTTP/1.1\r\nAuthorization: Bearer demo\r\nContent-Type: application/json\r\n", validRating},
		{"check username", "GET " + contracts.PathCheckUsername + "?username=ola.nordmann HTTP/1.1\r\nAuthorization: Bearer demo\r\n", ""},
		{"bookings", "GET /_mock/bookings HTTP/1.1\r\nAuthorization: Bearer demo\r\n", ""},
	}
	tests := []struct {
		name       string
		header     string
		wantStatus int // 0: not a refusal (whatever the route answers)
		wantMsg    string
	}{
		{"empty", "X-Mock-Session: \r\n", http.StatusBadRequest, "X-Mock-Session must be 1–128 visible ASCII characters."},
		{"blank", "X-Mock-Session:    \r\n", http.StatusBadRequest, "X-Mock-Session must be 1–128 visible ASCII characters."},
		{"twice", "X-Mock-Session: s1\r\nX-Mock-Session: s2\r\n", http.StatusBadRequest, "Give the X-Mock-Session header once."},
		{"empty and valid", "X-Mock-Session: \r\nX-Mock-Session: s1\r\n", http.StatusBadRequest, "Give the X-Mock-Session header once."},
		{"too long", "X-Mock-Session: " + strings.Repeat("s", 129) + "\r\n", http.StatusBadRequest, "X-Mock-Session must be 1–128 visible ASCII characters."},
		{"inner space", "X-Mock-Session: s 1\r\n", http.StatusBadRequest, "X-Mock-Session must be 1–128 visible ASCII characters."},
		{"valid", "X-Mock-Session: r3-f19\r\n", 0, ""},
	}
	for _, r := range routes {
		for _, tt := range tests {
			t.Run(r.name+"/"+tt.name, func(t *testing.T) {
				var answers []rawAnswer
				for _, s := range srvs {
					a := sendRaw(t, s.addr, r.head+tt.header, r.body)
					answers = append(answers, a)
					e, ok := a.errorBody()
					if tt.wantStatus == 0 {
						if a.status == http.StatusBadRequest && e.Error.Code == contracts.CodeBadRequest {
							t.Errorf("%s: %s = %d %s, want the session accepted", s.name, r.name, a.status, a.body)
						}
						continue
					}
					if a.status != tt.wantStatus || !ok || e.Error.Code != contracts.CodeBadRequest || e.Error.Message != tt.wantMsg {
						t.Errorf("%s: %s = %d %s, want %d %s %q", s.name, r.name, a.status, a.body, tt.wantStatus, contracts.CodeBadRequest, tt.wantMsg)
					}
				}
				if answers[0].status != answers[1].status {
					t.Errorf("mock answered %d, gateway %d; want the same", answers[0].status, answers[1].status)
				}
			})
		}
	}
}

// TestR3T7OversizedBodyGetsThe413: a client that sends a 2 MiB rating
// body, in chunks, as a slow client or an HTTP library does, can write it
// whole and then read the whole 413 answer with the contract's error body,
// 20 times in 20, from the mock and from the gateway: both drain what the
// client still sends before they close (a lingering close), instead of
// closing under the client's writes, which reset the connection and lost
// the answer.
func TestR3T7OversizedBodyGetsThe413(t *testing.T) {
	const (
		size  = 2 << 20
		chunk = 16 << 10
		tries = 20
	)
	body := bytes.Repeat([]byte("a"), chunk)
	for _, s := range servers(t) {
		t.Run(s.name, func(t *testing.T) {
			for i := range tries {
				a, err := sendOversized(s.addr, size, body)
				if err != nil {
					t.Fatalf("try %d of %d: %v", i+1, tries, err)
				}
				e, ok := a.errorBody()
				if a.status != http.StatusRequestEntityTooLarge || !ok || e.Error.Code != contracts.CodePayloadTooLarge {
					t.Fatalf("try %d of %d: answer %d %s, want 413 %s with the error body", i+1, tries, a.status, a.body, contracts.CodePayloadTooLarge)
				}
			}
		})
	}
}

// sendOversized announces size bytes of JSON, writes them in chunks and
// reads the answer: every write and the read must succeed.
func sendOversized(addr string, size int, chunk []byte) (rawAnswer, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return rawAnswer{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	head := fmt.Sprintf("POST %s123 HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer demo\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		contracts.PathRatePrefix, addr, size)
	if _, err := io.WriteString(conn, head); err != nil {
		return rawAnswer{}, fmt.Errorf("write headers: %w", err)
	}
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := conn.Write(chunk[:min(len(chunk), size-sent)]); err != nil {
			return rawAnswer{}, fmt.Errorf("write body at byte %d: %w", sent, err)
		}
	}
	a, err := readAnswer(conn, "POST")
	if err != nil {
		return rawAnswer{}, fmt.Errorf("read answer: %w", err)
	}
	return a, nil
}
