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

// signInPKCE signs sub in at base as the OAuth client clientID (the
// authorization-code flow with PKCE, scope openid) and returns the access
// token and the ID token.
func signInPKCE(t *testing.T, base, clientID, sub string) (access, id string) {
	t.Helper()
	const verifier = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag"
	const redirect = "http://localhost:5173/callback"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"scope": {"openid"}, "login_hint": {sub}}
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirects.Get(base + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("authorize = %d, Location %q: want a redirect with a code", res.StatusCode, res.Header.Get("Location"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "client_id": {clientID},
		"redirect_uri": {redirect}, "code_verifier": {verifier}}
	res, err = http.PostForm(base+"/token", form)
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
	}, "serve", "--addr", gwAddr, "--upstream", mockBase)
	gwBase := "http://" + gwAddr

	token := mintToken(t, mockBase, `{"sub": "ola"}`)
	if status, _ := listStatus(t, gwBase, token); status != 200 {
		t.Fatalf("list through the jwt gateway with the mock's token = %d, want 200", status)
	}
	if status, _ := listStatus(t, gwBase, mintToken(t, mockBase, `{"aud": "another-app"}`)); status != 401 {
		t.Errorf("list with another audience = %d, want 401", status)
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
