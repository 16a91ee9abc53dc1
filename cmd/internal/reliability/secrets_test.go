package reliability

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/auth/authtest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// TestSecretsStayOutOfLogs is S-01, S-02, S-07, S-08 and S-09 with a
// LogScan over the observed logger at debug level: tokens (whole, eyJ and
// the signature), the API key and the HS256 secret (any 8-byte run),
// usernames, messages and plates never reach a log line, the subject is
// only logged hashed, and one request is one access line with no control
// characters.
func TestSecretsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := newIDP(t, c)
	up := wiretest.NewUpstream(t, routeOK)
	h := startGateway(t, up.URL, p.configure()...)
	tok := p.hs(map[string]any{"sub": "olanordmann-sub"})
	rsTok := p.rs("kid-1", authtest.Keys().RSA, map[string]any{"sub": "karinordmann-sub"})
	const (
		username = "hemmelig.navn"
		message  = "Min private kommentar om verkstedet"
	)
	h.Secret(tok, rsTok, strings.Split(tok, ".")[2], strings.Split(rsTok, ".")[2], "olanordmann-sub", "karinordmann-sub",
		username, message, "BT57225", "Bilservice AS")
	requests := []struct {
		name string
		r    wiretest.Request
	}{
		{"S-01/valid HS256 token", wiretest.Get(checkPath+"?username="+username, wiretest.Bearer(tok))},
		{"S-01/valid RS256 token", wiretest.Get("/api/co/rating", wiretest.Bearer(rsTok))},
		{"S-08/rating message", wiretest.Post("/api/co/rating/rate/31", wiretest.JSONHeader(wiretest.Bearer(tok)), `{"service_rating":4,"service_rating_message":"`+message+`","private_service_rating":true}`)},
		{"S-01/refused token", wiretest.Get("/api/co/rating", wiretest.Bearer(tok[:len(tok)-4]+"AAAA"))},
		{"S-07/CRLF and a forged JSON log line in the username", wiretest.Get(checkPath+"?username=a%0d%0a%7B%22level%22%3A%22error%22%7D", wiretest.Bearer(tok))},
		{"S-07/line separator in a header", wiretest.Get("/api/co/rating", http.Header{"Authorization": {"Bearer " + rsTok}, "X-Request-ID": {"id\u2028forged"}})},
		{"S-07/ANSI escape refused by the parser still gets one line, without the token", wiretest.Get("/api/co/rating", http.Header{"Authorization": {"Bearer " + rsTok}, "User-Agent": {"x\x1b[31m"}})},
	}
	for _, tt := range requests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.AccessLines())
			a := h.Do(tt.r)
			lines := h.AccessLines()[before:]
			if len(lines) != 1 {
				t.Fatalf("S-07: %d access lines for one request, want 1", len(lines))
			}
			for _, f := range lines[0].Context {
				if strings.ContainsAny(f.String, "\r\n\x1b\u2028\u2029") {
					t.Errorf("S-07: access field %s = %q holds a control character", f.Key, f.String)
				}
			}
			if a.Status == 200 {
				sub := ""
				for _, f := range lines[0].Context {
					if f.Key == "subject" {
						sub = f.String
					}
				}
				if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(sub) {
					t.Errorf("S-09: access subject %q, want a 16-hex hash", sub)
				}
			}
		})
	}
	t.Run("S-09/claims are never logged, the subject only hashed", func(t *testing.T) {
		for _, e := range h.AccessLines() {
			for _, f := range e.Context {
				if f.Key == "subject" && !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(f.String) {
					t.Errorf("access subject %q, want a 16-hex hash", f.String)
				}
			}
		}
		for _, e := range h.Logs.All() {
			if e.Message == "gateway listening" {
				continue // the startup config dump names the configured issuer
			}
			if line := wiretest.LogText(e); strings.Contains(line, issuer) || strings.Contains(line, `"aud"`) || strings.Contains(line, `"exp"`) {
				t.Errorf("a log line holds claims: %.200s", line)
			}
		}
	})
	t.Run("S-02/the startup config dump names the key only as set", func(t *testing.T) {
		found := false
		for _, e := range h.Logs.FilterMessage("gateway listening").All() {
			found = true
			if strings.Contains(wiretest.LogText(e), wiretest.APIKey) {
				t.Fatalf("config dump holds the API key")
			}
		}
		if !found {
			t.Fatal("no startup line")
		}
	})
	// The LogScan itself runs at cleanup (startGateway).
}

// TestSecretsStayOutOfAnswers is S-03 with an upstream that echoes the key
// and the token back in its error bodies.
func TestSecretsStayOutOfAnswers(t *testing.T) {
	t.Parallel()
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			upstreamErrorMessage(status, "forbidden", "key "+r.Header.Get(wiretest.APIKeyHeader)+" and "+r.Header.Get("Authorization")+" refused")(w, r)
		}
	}
	tests := []struct {
		name   string
		status int
		skip   string
	}{
		{"S-03/upstream 500 echoing the key and token", 500, ""},
		{"S-03/upstream 403 echoing the key and token", 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.skip != "" {
				t.Skip(tt.skip)
			}
			up := wiretest.NewUpstream(t, echo(tt.status))
			h := startGateway(t, up.URL)
			a := h.Do(wiretest.Get("/api/co/rating", wiretest.Bearer("secret-client-token-42")))
			if strings.Contains(string(a.Body), "secret-client-token-42") {
				t.Errorf("the answer echoes the client's token: %s", a)
			}
		})
	}
}

func upstreamErrorMessage(status int, code, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}, "meta": map[string]string{"request_id": "up", "generated_at": "2026-02-12T10:00:00Z"}})
		wiretest.Reply(status, string(b))(w, r)
	}
}

// TestMetricsLabels is S-10: no label carries a token, username, booking id
// or the key.
func TestMetricsLabels(t *testing.T) {
	t.Parallel()
	up := wiretest.NewUpstream(t, routeOK)
	h := startGateway(t, up.URL)
	t.Run("S-10/no label carries a token, a username, a booking id or a path", func(t *testing.T) {
		h.Do(wiretest.Get(checkPath+"?username=metricsname", wiretest.Bearer("metrics-token-77")))
		h.Do(wiretest.Post("/api/co/rating/rate/987654321", wiretest.JSONHeader(wiretest.Bearer("metrics-token-77")), validRating))
		h.Do(wiretest.Get("/api/co/rating/rate/987654321", nil))
		h.Do(wiretest.Get("/no/such/path/metricspath", nil))
		body := string(metrics(t, h).Body)
		for _, s := range []string{"metrics-token-77", "metricsname", "987654321", "metricspath"} {
			if strings.Contains(body, s) {
				t.Errorf("S-10: /metrics holds %q", s)
			}
		}
		if !strings.Contains(body, `minbil_bff_requests_total{route="rateBooking",status="200"}`) {
			t.Errorf("S-10: expected per-operation series are missing")
		}
	})
}

// TestSecretSources is S-14: the key comes from the environment, the HMAC
// secret must have 256 bits, refusals never show the secret, and no debug
// endpoint is served.
func TestSecretSources(t *testing.T) {
	t.Parallel()
	t.Run("S-14/the API key is read from MINBIL_API_KEY", func(t *testing.T) {
		env := map[string]string{config.APIKeyEnv: wiretest.APIKey, "MINBIL_UPSTREAM_URL": "https://api.minbil.no", "MINBIL_AUTH_MODE": "passthrough"}
		cfg, err := config.Load("", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if cfg.Upstream.APIKey != wiretest.APIKey {
			t.Fatalf("api key from the environment not used")
		}
		if strings.Contains(cfg.String(), wiretest.APIKey) {
			t.Fatalf("S-02: Config.String shows the key")
		}
	})
	short := "short-secret-0123456789" // 23 bytes
	tests := []struct {
		name string
		err  func() error
	}{
		{"S-14/config refuses an HS256 secret under 32 bytes", func() error {
			cfg := wiretest.Config("mock")
			cfg.Auth.Mode, cfg.Auth.JWT.HS256Secret = "jwt", short
			return cfg.Validate()
		}},
		{"S-14/auth refuses an HS256 secret under 32 bytes", func() error {
			cfg := wiretest.Config("mock")
			cfg.Auth.Mode, cfg.Auth.JWT.HS256Secret = "jwt", short
			_, err := auth.New(cfg.Auth, nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if err == nil || strings.Contains(err.Error(), short) {
				t.Fatalf("err = %v, want a refusal that does not show the secret", err)
			}
		})
	}
	t.Run("S-14/no debug endpoints", func(t *testing.T) {
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL)
		for _, p := range []string{"/debug/pprof/", "/debug/vars", "/debug/pprof/heap", "/config", "/env"} {
			if a := h.Do(wiretest.Get(p, nil)); a.Status != 404 {
				t.Errorf("GET %s = %d, want 404", p, a.Status)
			}
		}
	})
}

// TestRequestIDs is S-15 (and BI-86's generated half): ids the gateway
// makes are distinct UUIDv4s.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	up := wiretest.NewUpstream(t, routeOK)
	h := startGateway(t, up.URL)
	t.Run("S-15/generated ids are distinct UUIDv4s", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 100; i++ {
			r := wiretest.Get("/api/co/rating", nil)
			if i%2 == 1 {
				r = wiretest.Get("/api/co/rating/rate/x", nil) // an error answer
			}
			id := h.Do(r).Header.Get("X-Request-Id")
			if !uuidV4.MatchString(id) || seen[id] {
				t.Fatalf("S-15: request id %q is not a fresh UUIDv4", id)
			}
			seen[id] = true
		}
	})
}
