package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/contracts/header"
	"github.com/minbil/minbil-bff/gateway/auth/authtest"
	"github.com/minbil/minbil-bff/gateway/config"
)

func TestAuthorizationHeader(t *testing.T) {
	tok := "abc.DEF-123_~+/=="
	tests := []struct {
		name    string
		values  []string
		wantErr error // nil: accepted with Token wantTok
		wantTok string
		// wantDevTok, when set, is the token dev mode accepts where
		// passthrough refuses with wantErr: dev is a mock and takes any
		// visible ASCII, so the documentation's examples work.
		wantDevTok string
	}{
		{name: "BI-25/no header", values: nil, wantErr: ErrMissingToken},
		{name: "BI-25/empty slice", values: []string{}, wantErr: ErrMissingToken},
		{name: "BI-26/basic", values: []string{"Basic dXNlcjpw"}, wantErr: ErrMalformedToken},
		{name: "BI-26/basic with bearer-looking credentials", values: []string{"Basic Bearer abc"}, wantErr: ErrMalformedToken},
		{name: "BI-26/other scheme", values: []string{"Token abc"}, wantErr: ErrMalformedToken},
		{name: "BI-27/bearer alone", values: []string{"Bearer"}, wantErr: ErrMalformedToken},
		{name: "BI-27/bearer and one space", values: []string{"Bearer "}, wantErr: ErrMalformedToken},
		{name: "BI-27/bearer and three spaces", values: []string{"Bearer   "}, wantErr: ErrMalformedToken},
		{name: "BI-27/bearer and tab", values: []string{"Bearer\t"}, wantErr: ErrMalformedToken},
		{name: "BI-27/empty value", values: []string{""}, wantErr: ErrMalformedToken},
		{name: "BI-27/whitespace value", values: []string{"   "}, wantErr: ErrMalformedToken},
		{name: "BI-27/short value", values: []string{"Bea"}, wantErr: ErrMalformedToken},
		{name: "BI-27/only padding", values: []string{"Bearer ==="}, wantErr: ErrMalformedToken, wantDevTok: "==="},
		{name: "BI-27/no space after scheme", values: []string{"Bearerabc"}, wantErr: ErrMalformedToken},
		{name: "BI-27/tab after scheme", values: []string{"Bearer\tabc"}, wantErr: ErrMalformedToken},
		{name: "BI-28/canonical", values: []string{"Bearer " + tok}, wantTok: tok},
		{name: "BI-28/lower case", values: []string{"bearer " + tok}, wantTok: tok},
		{name: "BI-28/upper case", values: []string{"BEARER " + tok}, wantTok: tok},
		{name: "BI-28/mixed case", values: []string{"bEaReR " + tok}, wantTok: tok},
		{name: "BI-28/several spaces and surrounding whitespace", values: []string{" \tBearer   " + tok + " \t"}, wantTok: tok},
		{name: "BI-29/two headers", values: []string{"Bearer a", "Bearer b"}, wantErr: ErrMalformedToken},
		{name: "BI-29/two identical headers", values: []string{"Bearer a", "Bearer a"}, wantErr: ErrMalformedToken},
		{name: "BI-29/valid and empty", values: []string{"Bearer a", ""}, wantErr: ErrMalformedToken},
		{name: "BI-30/space inside", values: []string{"Bearer ab cd"}, wantErr: ErrMalformedToken},
		{name: "BI-30/comma", values: []string{"Bearer ab,cd"}, wantErr: ErrMalformedToken, wantDevTok: "ab,cd"},
		{name: "BI-30/double quote", values: []string{`Bearer "abcd"`}, wantErr: ErrMalformedToken, wantDevTok: `"abcd"`},
		{name: "BI-30/single quote", values: []string{"Bearer ab'cd"}, wantErr: ErrMalformedToken, wantDevTok: "ab'cd"},
		{name: "BI-30/non-ASCII", values: []string{"Bearer abcø"}, wantErr: ErrMalformedToken},
		{name: "BI-30/invalid UTF-8", values: []string{"Bearer ab\xffcd"}, wantErr: ErrMalformedToken},
		{name: "BI-30/NUL", values: []string{"Bearer ab\x00cd"}, wantErr: ErrMalformedToken},
		{name: "BI-30/CRLF", values: []string{"Bearer ab\r\nX-Evil: 1"}, wantErr: ErrMalformedToken},
		{name: "BI-30/tab inside", values: []string{"Bearer ab\tcd"}, wantErr: ErrMalformedToken},
		{name: "BI-30/padding not at the end", values: []string{"Bearer ab=cd"}, wantErr: ErrMalformedToken, wantDevTok: "ab=cd"},
		{name: "BI-30/JSON serialization", values: []string{`Bearer {"payload":"e30","signatures":[]}`}, wantErr: ErrMalformedToken, wantDevTok: `{"payload":"e30","signatures":[]}`},
		{name: "the documentation's placeholder", values: []string{"Bearer <access-token>"}, wantErr: ErrMalformedToken, wantDevTok: "<access-token>"},
		{name: "BI-31/100000 dots", values: []string{"Bearer " + strings.Repeat(".", 100000)}, wantErr: ErrMalformedToken},
		{name: "BI-31/token at the cap", values: []string{"Bearer " + strings.Repeat("a", header.MaxTokenBytes)}, wantTok: strings.Repeat("a", header.MaxTokenBytes)},
		{name: "BI-31/token one byte over the cap", values: []string{"Bearer " + strings.Repeat("a", header.MaxTokenBytes+1)}, wantErr: ErrMalformedToken},
	}
	for _, mode := range []config.AuthMode{config.AuthDev, config.AuthPassthrough} {
		a := newAuth(t, configWithMode(mode), authtest.NewClock(t0), nil)
		for _, tt := range tests {
			wantErr, wantTok := tt.wantErr, tt.wantTok
			if mode == config.AuthDev && tt.wantDevTok != "" {
				wantErr, wantTok = nil, tt.wantDevTok
			}
			t.Run(string(mode)+"/"+tt.name, func(t *testing.T) {
				id, err := a.Authenticate(context.Background(), tt.values)
				if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
					t.Fatalf("Authenticate(%.40q) error = %v, want %v", tt.values, err, wantErr)
				}
				if id.Token != wantTok {
					t.Errorf("Authenticate(%.40q).Token = %.40q, want %.40q", tt.values, id.Token, wantTok)
				}
				if wantErr == nil && id.Subject == "" {
					t.Errorf("Authenticate(%.40q).Subject is empty", tt.values)
				}
			})
		}
	}
}

func configWithMode(mode config.AuthMode) config.Auth {
	c := authtest.JWTConfig("")
	c.Mode = mode
	return c
}

// TestFloodOfDotsAllocatesNothing checks BI-31's "flat memory": refusing
// an oversized header allocates nothing, whatever its length.
func TestFloodOfDotsAllocatesNothing(t *testing.T) {
	a := newAuth(t, authtest.JWTConfig(""), authtest.NewClock(t0), nil)
	values := []string{"Bearer " + strings.Repeat(".", 100000)}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := a.Authenticate(context.Background(), values); !errors.Is(err, ErrMalformedToken) {
			t.Fatalf("Authenticate(100000 dots) = %v, want %v", err, ErrMalformedToken)
		}
	})
	if allocs != 0 {
		t.Errorf("BI-31: Authenticate(100000 dots) allocates %v times, want 0", allocs)
	}
}

func TestChallenge(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "BI-25/missing", err: errMissing, want: `Bearer realm="minbil"`},
		{name: "nil", err: nil, want: `Bearer realm="minbil"`},
		{name: "BI-26/malformed", err: errNotBearer, want: `Bearer realm="minbil", error="invalid_request"`},
		{name: "BI-35/invalid", err: refuse(ErrInvalidToken, "expired", nil), want: `Bearer realm="minbil", error="invalid_token"`},
		{name: "unexpected error fails closed", err: context.Canceled, want: `Bearer realm="minbil", error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Challenge(tt.err); got != tt.want {
				t.Errorf("Challenge(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
