package reliability

import (
	"regexp"
	"strings"
	"testing"

	"net/http"

	"github.com/minbil/minbil-bff/gateway/auth"
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
	up := newFake(t, routeOK)
	h := startGateway(t, up.url, p.configure()...)
	tok := p.hs(map[string]any{"sub": "olanordmann-sub"})
	rsTok := p.rs("kid-1", rsaKeys()[0], map[string]any{"sub": "karinordmann-sub"})
	const (
		username = "hemmelig.navn"
		message  = "Min private kommentar om verkstedet"
	)
	h.secret(tok, rsTok, strings.Split(tok, ".")[2], strings.Split(rsTok, ".")[2], "olanordmann-sub", "karinordmann-sub",
		username, message, "BT57225", "Bilservice AS")
	requests := []struct {
		name string
		r    req
	}{
		{"S-01/valid HS256 token", get(checkPath+"?username="+username, bearer(tok))},
		{"S-01/valid RS256 token", get("/api/co/rating", bearer(rsTok))},
		{"S-08/rating message", post("/api/co/rating/rate/31", jsonHeader(bearer(tok)), `{"service_rating":4,"service_rating_message":"`+message+`","private_service_rating":true}`)},
		{"S-01/refused token", get("/api/co/rating", bearer(tok[:len(tok)-4]+"AAAA"))},
		{"S-07/CRLF and a forged JSON log line in the username", get(checkPath+"?username=a%0d%0a%7B%22level%22%3A%22error%22%7D", bearer(tok))},
		{"S-07/line separator in a header", get("/api/co/rating", http.Header{"Authorization": {"Bearer " + rsTok}, "X-Request-ID": {"id\u2028forged"}})},
		{"S-07/ANSI escape refused by the parser still gets one line, without the token", get("/api/co/rating", http.Header{"Authorization": {"Bearer " + rsTok}, "User-Agent": {"x\x1b[31m"}})},
	}
	for _, tt := range requests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.accessLines())
			a := h.do(tt.r)
			lines := h.accessLines()[before:]
			if len(lines) != 1 {
				t.Fatalf("S-07: %d access lines for one request, want 1", len(lines))
			}
			for _, f := range lines[0].Context {
				if strings.ContainsAny(f.String, "\r\n\x1b\u2028\u2029") {
					t.Errorf("S-07: access field %s = %q holds a control character", f.Key, f.String)
				}
			}
			if a.status == 200 {
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
		for _, e := range h.accessLines() {
			for _, f := range e.Context {
				if f.Key == "subject" && !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(f.String) {
					t.Errorf("access subject %q, want a 16-hex hash", f.String)
				}
			}
		}
		for _, e := range h.logs.All() {
			if e.Message == "gateway listening" {
				continue // the startup config dump names the configured issuer
			}
			if line := logText(e); strings.Contains(line, issuer) || strings.Contains(line, `"aud"`) || strings.Contains(line, `"exp"`) {
				t.Errorf("a log line holds claims: %.200s", line)
			}
		}
	})
	t.Run("S-02/the startup config dump names the key only as set", func(t *testing.T) {
		found := false
		for _, e := range h.logs.FilterMessage("gateway listening").All() {
			found = true
			if strings.Contains(logText(e), apiKey) {
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
	echo := func(status int) behaviour {
		return func(w http.ResponseWriter, r *http.Request, f *fake) {
			upstreamErrorMessage(status, "forbidden", "key "+r.Header.Get(keyHeader)+" and "+r.Header.Get("Authorization")+" refused")(w, r, f)
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
			up := newFake(t, echo(tt.status))
			h := startGateway(t, up.url)
			a := h.do(get("/api/co/rating", bearer("secret-client-token-42")))
			if strings.Contains(string(a.body), "secret-client-token-42") {
				t.Errorf("the answer echoes the client's token: %s", a)
			}
		})
	}
}

func upstreamErrorMessage(status int, code, message string) behaviour {
	return func(w http.ResponseWriter, r *http.Request, f *fake) {
		b, _ := jsonString(map[string]any{"error": map[string]string{"code": code, "message": message}, "meta": map[string]string{"request_id": "up", "generated_at": "2026-02-12T10:00:00Z"}})
		reply(status, b)(w, r, f)
	}
}

func jsonString(v any) (string, error) {
	b := mustJSON(v)
	return string(b), nil
}

// TestMetricsLabels is S-10: no label carries a token, username, booking id
// or the key.
func TestMetricsLabels(t *testing.T) {
	t.Parallel()
	up := newFake(t, routeOK)
	h := startGateway(t, up.url)
	t.Run("S-10/no label carries a token, a username, a booking id or a path", func(t *testing.T) {
		h.do(get(checkPath+"?username=metricsname", bearer("metrics-token-77")))
		h.do(post("/api/co/rating/rate/987654321", jsonHeader(bearer("metrics-token-77")), validRating))
		h.do(get("/api/co/rating/rate/987654321", nil))
		h.do(get("/no/such/path/metricspath", nil))
		body := string(h.metrics().body)
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
		env := map[string]string{config.APIKeyEnv: apiKey, "MINBIL_UPSTREAM_URL": "https://api.minbil.no", "MINBIL_AUTH_MODE": "passthrough"}
		cfg, err := config.Load("", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if cfg.Upstream.APIKey != apiKey {
			t.Fatalf("api key from the environment not used")
		}
		if strings.Contains(cfg.String(), apiKey) {
			t.Fatalf("S-02: Config.String shows the key")
		}
	})
	short := "short-secret-0123456789" // 23 bytes
	tests := []struct {
		name string
		err  func() error
	}{
		{"S-14/config refuses an HS256 secret under 32 bytes", func() error {
			cfg := baseConfig()
			cfg.Auth.Mode, cfg.Auth.JWT.HS256Secret = "jwt", short
			return cfg.Validate()
		}},
		{"S-14/auth refuses an HS256 secret under 32 bytes", func() error {
			cfg := baseConfig()
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
		up := newFake(t, routeOK)
		h := startGateway(t, up.url)
		for _, p := range []string{"/debug/pprof/", "/debug/vars", "/debug/pprof/heap", "/config", "/env"} {
			if a := h.do(get(p, nil)); a.status != 404 {
				t.Errorf("GET %s = %d, want 404", p, a.status)
			}
		}
	})
}

// TestRequestIDs is S-15 (and BI-86's generated half): ids the gateway
// makes are distinct UUIDv4s.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	up := newFake(t, routeOK)
	h := startGateway(t, up.url)
	t.Run("S-15/generated ids are distinct UUIDv4s", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 100; i++ {
			r := get("/api/co/rating", nil)
			if i%2 == 1 {
				r = get("/api/co/rating/rate/x", nil) // an error answer
			}
			id := h.do(r).header.Get("X-Request-Id")
			if !uuidV4.MatchString(id) || seen[id] {
				t.Fatalf("S-15: request id %q is not a fresh UUIDv4", id)
			}
			seen[id] = true
		}
	})
}
