package contracts

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestViolationsNeverQuoteValues is OA-01: an upstream that echoes
// request headers into its answer (the API key as a value, the caller's
// Bearer token as a field name) must not get them into a violation, which
// the drift watch logs.
func TestViolationsNeverQuoteValues(t *testing.T) {
	const key = "upk-5Rq8Zt2Wv9Lx3Nc7Hb4Jm6"
	const bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body string
	}{
		{name: "key as a date", body: `{"total":1,"items":[{"booking_id":1,"rated_at":"` + key + `"}]}`},
		{name: "key as a number", body: `{"total":"` + key + `","items":[]}`},
		{name: "token as a field name", body: `{"total":0,"items":[],"` + bearer + `":1}`},
		{name: "token as an item's field name", body: `{"total":1,"items":[{"booking_id":1,"` + bearer + `":"` + key + `"}]}`},
		{name: "key as a status", body: `{"total":1,"items":[{"booking_id":1,"status":"` + key + `"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", PathRatings, nil)
			err := c.ValidateResponse(context.Background(), req, 200, http.Header{"Content-Type": {"application/json"}}, []byte(tt.body))
			if err == nil {
				t.Fatalf("ValidateResponse(%s) = nil, want violations", tt.body)
			}
			for _, secret := range []string{key[4:12], "eyJ", "Bearer"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("ValidateResponse(%s) = %q, quotes %q", tt.body, err, secret)
				}
			}
		})
	}
}
