package mock

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/minbil/minbil-bff/contracts"
)

// BenchmarkOperations measures the handlers without a network, so the
// numbers compare the mock's own work (allocations included) across
// changes.
func BenchmarkOperations(b *testing.B) {
	s, err := New(Config{Seed: 1}, testContract(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	handler := s.app.Handler()
	tests := []struct {
		name, method, uri, token, body string
	}{
		{name: "list", method: "GET", uri: contracts.PathRatings},
		{name: "list with token", method: "GET", uri: contracts.PathRatings, token: "bench-token"},
		{name: "check-username", method: "GET", uri: contracts.PathCheckUsername + "?username=nora.berg", token: "bench-token"},
		{name: "rate conflict", method: "POST", uri: contracts.PathRatePrefix + "122", body: goodBody},
		{name: "rate invalid body", method: "POST", uri: contracts.PathRatePrefix + "123", body: `{"service_rating": 9, "private_service_rating": true}`},
		{name: "unknown route", method: "GET", uri: "/nope"},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			var ctx fasthttp.RequestCtx
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod(tt.method)
				ctx.Request.SetRequestURI(tt.uri)
				if tt.token != "" {
					ctx.Request.Header.Set("Authorization", "Bearer "+tt.token)
				}
				if tt.body != "" {
					ctx.Request.Header.SetContentType("application/json")
					ctx.Request.SetBodyString(tt.body)
				}
				handler(&ctx)
				if ctx.Response.StatusCode() == fasthttp.StatusInternalServerError {
					b.Fatalf("%s %s = 500: %s", tt.method, tt.uri, ctx.Response.Body())
				}
			}
		})
	}
}
