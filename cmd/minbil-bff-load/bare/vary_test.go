package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/contractstest"
)

// answer is the upstream handler's rating list for one Authorization
// header, through the handler as the server runs it.
func answer(t *testing.T, h fasthttp.RequestHandler, auth string) []byte {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/api/co/rating")
	if auth != "" {
		ctx.Request.Header.Set(fasthttp.HeaderAuthorization, auth)
	}
	h(&ctx)
	if code := ctx.Response.StatusCode(); code != fasthttp.StatusOK {
		t.Fatalf("GET /api/co/rating = %d, want 200", code)
	}
	return bytes.Clone(ctx.Response.Body())
}

// TestPerCallerList checks what the per-caller row of the load harness
// relies on: 10,000 callers get 10,000 different lists, one caller gets
// the same list every time, every list is as long as the fixed one, and
// every list is a valid answer of the contract (the gateway under test
// validates it and must not see drift).
func TestPerCallerList(t *testing.T) {
	l, err := newPerCallerList()
	if err != nil {
		t.Fatalf("newPerCallerList() error = %v", err)
	}
	h := upstreamHandler(nil, l, nil)
	template := bytes.Clone(l.template)
	c, err := contracts.Load()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/api/co/rating", nil)
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{"Content-Type": {"application/json"}}

	const callers = 10000
	seen := make(map[string]int, callers)
	for i := range callers {
		auth := fmt.Sprintf("Bearer load-token-%d", i)
		body := answer(t, h, auth)
		if len(body) != contractstest.ListBytes {
			t.Fatalf("caller %d: list of %d bytes, want %d", i, len(body), contractstest.ListBytes)
		}
		if other, ok := seen[string(body)]; ok {
			t.Fatalf("callers %d and %d got the same list", other, i)
		}
		seen[string(body)] = i
		if again := answer(t, h, auth); !bytes.Equal(again, body) {
			t.Fatalf("caller %d got two different lists:\n%s\n%s", i, body, again)
		}
		// The lists differ only in digits, never in shape: a sample of about
		// a hundred covers every rating and the whole range of ids.
		if i%97 == 0 {
			if err := c.ValidateResponse(ctx, req, http.StatusOK, header, body); err != nil {
				t.Fatalf("caller %d: ValidateResponse = %v, want nil\n%s", i, err, body)
			}
		}
	}
	if !bytes.Equal(l.template, template) {
		t.Errorf("answering changed the template: the handler writes into a shared buffer")
	}
	if got, fixed := answer(t, upstreamHandler([]byte("fixed"), nil, nil), "Bearer a"), "fixed"; string(got) != fixed {
		t.Errorf("without -vary: list %q, want the fixed %q", got, fixed)
	}
}

func TestPutDigits(t *testing.T) {
	tests := []struct {
		name  string
		width int
		v     uint64
		want  string
	}{
		{name: "nine-digit id", width: 9, v: 123456789, want: "123456789"},
		{name: "smallest id", width: 9, v: minID, want: "100000000"},
		{name: "largest id", width: 9, v: minID + idSpan - 1, want: "999999999"},
		{name: "rating", width: 1, v: 5, want: "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, tt.width)
			putDigits(dst, tt.v)
			if string(dst) != tt.want {
				t.Errorf("putDigits(%d) = %q, want %q", tt.v, dst, tt.want)
			}
		})
	}
}
