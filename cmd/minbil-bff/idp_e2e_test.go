package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The mock's identity provider through the real binary: a gateway in
// local-idp mode, and a jwt-mode gateway in front of the standalone mock
// with the mock's JWKS, issuer and audience.

const (
	e2eIssuer   = "https://mock-idp.minbil.invalid"
	e2eAudience = "minbil-bff"
)

func mintToken(t *testing.T, base, claims string) string {
	t.Helper()
	res, err := http.Post(base+"/_dev/token", "application/json", strings.NewReader(claims))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || res.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("POST %s/_dev/token %s = %d %s", base, claims, res.StatusCode, body)
	}
	return tok.AccessToken
}

func listStatus(t *testing.T, base, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/co/rating", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header.Get("WWW-Authenticate")
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", url, res.StatusCode, b)
	}
	return string(b)
}

func TestLocalIDPGatewayBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	addr := freeAddr(t)
	start(t, addr, []string{"MINBIL_AUTH_MODE=local-idp"}, "serve", "--addr", addr)
	base := "http://" + addr

	tests := []struct {
		name       string
		token      string
		wantStatus int
	}{
		{"minted token", mintToken(t, base, `{"sub": "kari", "expires_in": 300}`), 200},
		{"wrong audience", mintToken(t, base, `{"sub": "kari", "aud": "another-app"}`), 401},
		{"any string", "kari", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, challenge := listStatus(t, base, tt.token)
			if status != tt.wantStatus {
				t.Fatalf("list = %d, want %d", status, tt.wantStatus)
			}
			if status == 401 && challenge != `Bearer realm="minbil", error="invalid_token"` {
				t.Errorf("challenge = %q, want jwt mode's invalid_token", challenge)
			}
		})
	}
}

const (
	e2eVerifier = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag"
	e2eRedirect = "http://localhost:5173/callback"
)

// authorize asks base's /authorize to sign sub in as the OAuth client
// clientID (PKCE, scope openid) and returns the query of the redirect:
// a code, or an OAuth error.
func authorize(t *testing.T, base, clientID, sub string) url.Values {
	t.Helper()
	sum := sha256.Sum256([]byte(e2eVerifier))
	q := url.Values{"client_id": {clientID}, "redirect_uri": {e2eRedirect}, "response_type": {"code"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"scope": {"openid"}, "login_hint": {sub}}
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirects.Get(base + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), e2eRedirect+"?") {
		t.Fatalf("authorize = %d, Location %q: want a redirect to the client", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query()
}

// exchangeCode exchanges code at base's /token for the access token and
// the ID token.
func exchangeCode(t *testing.T, base, clientID, code string) (access, id string) {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {clientID},
		"redirect_uri": {e2eRedirect}, "code_verifier": {e2eVerifier}}
	res, err := http.PostForm(base+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || res.StatusCode != 200 || tok.AccessToken == "" || tok.IDToken == "" {
		t.Fatalf("POST /token = %d %s, want an access token and an ID token", res.StatusCode, body)
	}
	return tok.AccessToken, tok.IDToken
}

// signInPKCE signs sub in at base as the OAuth client clientID and returns
// the access token and the ID token.
func signInPKCE(t *testing.T, base, clientID, sub string) (access, id string) {
	t.Helper()
	q := authorize(t, base, clientID, sub)
	if q.Get("code") == "" {
		t.Fatalf("authorize redirected with %v, want a code", q)
	}
	return exchangeCode(t, base, clientID, q.Get("code"))
}

// TestR3F13FloodThroughTheGateway: through `serve`'s gateway (every
// request reaches the in-process mock from one address), a client that
// floods /authorize stops at its bound with temporarily_unavailable and a
// description, while another client's pending code still exchanges.
func TestR3F13FloodThroughTheGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	addr := freeAddr(t)
	start(t, addr, nil, "serve", "--addr", addr)
	base := "http://" + addr
	pending := authorize(t, base, "minbil-web", "kari").Get("code")

	const flood, bound = 150, 100 // under the gateway's 600 a minute per IP
	codes, refused := 0, 0
	for range flood {
		q := authorize(t, base, "flooder", "ola")
		switch {
		case q.Get("code") != "":
			codes++
		case q.Get("error") == "temporarily_unavailable" && q.Get("error_description") != "":
			refused++
		default:
			t.Fatalf("authorize redirected with %v, want a code or temporarily_unavailable", q)
		}
	}
	if codes != bound || refused != flood-bound {
		t.Errorf("flood: %d codes, %d refused; want %d and %d", codes, refused, bound, flood-bound)
	}
	exchangeCode(t, base, "minbil-web", pending)
}

// TestR3F11IDTokenIsNotAnAccessToken: a client whose id is the gateway's
// audience (minbil-bff) gets an ID token with that aud, signed by the same
// key. A local-idp gateway takes only tokens typed at+jwt, so the ID
// token is refused and the access token accepted.
func TestR3F11IDTokenIsNotAnAccessToken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	addr := freeAddr(t)
	start(t, addr, []string{"MINBIL_AUTH_MODE=local-idp"}, "serve", "--addr", addr)
	base := "http://" + addr
	access, id := signInPKCE(t, base, e2eAudience, "kari")

	tests := []struct {
		name          string
		token         string
		wantStatus    int
		wantChallenge string
	}{
		{"ID token", id, 401, `Bearer realm="minbil", error="invalid_token"`},
		{"access token", access, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, challenge := listStatus(t, base, tt.token); status != tt.wantStatus || challenge != tt.wantChallenge {
				t.Errorf("list = %d %q, want %d %q", status, challenge, tt.wantStatus, tt.wantChallenge)
			}
		})
	}
}

func TestStandaloneMockIsAJWKSIssuer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	state := filepath.Join(t.TempDir(), "mock-state.json")
	mockAddr := freeAddr(t)
	m := startUnmanaged(t, mockAddr, nil, "mock", "--addr", mockAddr, "--state", state)
	mockBase := "http://" + mockAddr
	gwAddr := freeAddr(t)
	start(t, gwAddr, []string{
		"MINBIL_AUTH_MODE=jwt",
		"MINBIL_API_KEY=e2e-api-key-not-a-secret",
		"MINBIL_AUTH_JWT_JWKS_URL=" + mockBase + "/.well-known/jwks.json",
		"MINBIL_AUTH_JWT_ISSUER=" + e2eIssuer,
		"MINBIL_AUTH_JWT_AUDIENCE=" + e2eAudience,
		"MINBIL_AUTH_JWT_REQUIRE_ACCESS_TOKEN_TYPE=true",
	}, "serve", "--addr", gwAddr, "--upstream", mockBase)
	gwBase := "http://" + gwAddr

	token := mintToken(t, mockBase, `{"sub": "ola"}`)
	if status, _ := listStatus(t, gwBase, token); status != 200 {
		t.Fatalf("list through the jwt gateway with the mock's token = %d, want 200", status)
	}
	if status, _ := listStatus(t, gwBase, mintToken(t, mockBase, `{"aud": "another-app"}`)); status != 401 {
		t.Errorf("list with another audience = %d, want 401", status)
	}
	access, id := signInPKCE(t, mockBase, e2eAudience, "ola")
	if status, _ := listStatus(t, gwBase, access); status != 200 {
		t.Errorf("list with a signed-in access token = %d, want 200", status)
	}
	if status, _ := listStatus(t, gwBase, id); status != 401 {
		t.Errorf("list with an ID token for the client %s = %d, want 401 (auth.jwt.require_access_token_type)", e2eAudience, status)
	}

	// The signing key lives in the state file: a restarted mock serves
	// the same JWKS, so tokens outlive the process.
	before := getBody(t, mockBase+"/.well-known/jwks.json")
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	if err := m.wait(20 * time.Second); err != nil {
		t.Fatalf("mock after SIGTERM: %v\n%s", err, m.out)
	}
	start(t, mockAddr, nil, "mock", "--addr", mockAddr, "--state", state)
	if after := getBody(t, mockBase+"/.well-known/jwks.json"); after != before {
		t.Errorf("JWKS after a restart with the same state file changed:\n%s\nwant\n%s", after, before)
	}
}
