package auth

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/gateway/auth/authtest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// flipPadBit returns tok with the lowest bit of its last character's 6-bit
// value flipped: for a 32-byte (HS256) or 256-byte (RS256) signature that
// bit is padding, so a lenient decoder reads the same bytes (BI-49).
func flipPadBit(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[last^1])
}

// swapPayload keeps tok's header and signature around another payload.
func swapPayload(t *testing.T, tok string, claims jwt.MapClaims) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	return parts[0] + "." + authtest.B64(authtest.JSON(t, claims)) + "." + parts[2]
}

func rsaPublicPEM(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&authtest.Keys().RSA.PublicKey)
	if err != nil {
		t.Fatalf("MarshalPKIXPublicKey: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// rawClaims signs a hand-written payload with the HS256 secret.
func rawClaims(t testing.TB, payload string) string {
	t.Helper()
	return authtest.SignRaw(t, map[string]any{"alg": "HS256", "typ": "JWT"}, []byte(payload), jwt.SigningMethodHS256, []byte(authtest.Secret))
}

func TestJWTVerification(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t,
		authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256),
		authtest.JWK(t, &k.EC.PublicKey, authtest.ECKID, jwkset.AlgES256))
	a := newAuth(t, authtest.JWTConfig(idp.URL()), authtest.NewClock(t0), nil)

	exp, iat := t0.Add(10*time.Minute).Unix(), t0.Add(-time.Minute).Unix()
	valid := authtest.RS256(t, stdClaims())
	noneHeader := func(alg string) map[string]any { return map[string]any{"alg": alg, "typ": "JWT"} }
	noneToken := func(alg, sig string) string {
		return authtest.B64(authtest.JSON(t, noneHeader(alg))) + "." + authtest.B64(authtest.JSON(t, stdClaims())) + "." + sig
	}
	year := 365 * 24 * time.Hour

	tests := []struct {
		name    string
		token   string
		wantErr error  // nil: accepted as user-a
		wantIs  error  // optional: the underlying reason
		wantSub string // when accepted; default "user-a"
	}{
		{name: "valid/HS256", token: authtest.HS256(t, stdClaims())},
		{name: "valid/RS256", token: valid},
		{name: "valid/ES256", token: authtest.ES256(t, stdClaims())},
		{name: "valid/RS256 without kid tries every key", token: authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "", stdClaims(), nil)},
		{name: "valid/aud array containing ours", token: authtest.HS256(t, with(map[string]any{"aud": []string{"other", authtest.Audience}}))},
		{name: "valid/unicode sub", token: authtest.HS256(t, with(map[string]any{"sub": "Åsmund"})), wantSub: "Åsmund"},

		{name: "BI-32/alg none empty signature", token: noneToken("none", ""), wantErr: ErrInvalidToken},
		{name: "BI-32/alg none with signature", token: noneToken("none", authtest.B64([]byte("sig"))), wantErr: ErrInvalidToken},
		{name: "BI-32/alg None", token: noneToken("None", ""), wantErr: ErrInvalidToken},
		{name: "BI-32/alg NONE", token: noneToken("NONE", ""), wantErr: ErrInvalidToken},
		{name: "BI-32/alg nOnE", token: noneToken("nOnE", authtest.B64([]byte("x"))), wantErr: ErrInvalidToken},
		{name: "BI-32/alg missing", token: authtest.SignRaw(t, map[string]any{"typ": "JWT"}, authtest.JSON(t, stdClaims()), jwt.SigningMethodHS256, []byte(authtest.Secret)), wantErr: ErrInvalidToken},
		{name: "BI-32/alg not a string", token: authtest.SignRaw(t, map[string]any{"alg": 256}, authtest.JSON(t, stdClaims()), jwt.SigningMethodHS256, []byte(authtest.Secret)), wantErr: ErrInvalidToken},

		{name: "BI-33/HS256 MACed with the RSA public key PEM", token: authtest.Sign(t, jwt.SigningMethodHS256, rsaPublicPEM(t), authtest.KID, stdClaims(), nil), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenSignatureInvalid},

		{name: "BI-34/HS512 with our secret", token: authtest.Sign(t, jwt.SigningMethodHS512, []byte(authtest.Secret), "", stdClaims(), nil), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenSignatureInvalid},
		{name: "BI-34/HS384 with our secret", token: authtest.Sign(t, jwt.SigningMethodHS384, []byte(authtest.Secret), "", stdClaims(), nil), wantErr: ErrInvalidToken},
		{name: "BI-34/PS256 with our RSA key", token: authtest.Sign(t, jwt.SigningMethodPS256, k.RSA, authtest.KID, stdClaims(), nil), wantErr: ErrInvalidToken},
		{name: "BI-34/RS384 with our RSA key", token: authtest.Sign(t, jwt.SigningMethodRS384, k.RSA, authtest.KID, stdClaims(), nil), wantErr: ErrInvalidToken},
		{name: "BI-34/RS256 header with the EC key's kid", token: authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, authtest.ECKID, stdClaims(), nil), wantErr: ErrInvalidToken},

		{name: "BI-35/exp an hour ago", token: authtest.HS256(t, with(map[string]any{"exp": t0.Add(-time.Hour).Unix()})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenExpired},
		{name: "BI-36/exp 20s ago within 30s leeway", token: authtest.HS256(t, with(map[string]any{"exp": t0.Add(-20 * time.Second).Unix()}))},
		{name: "BI-36/exp 29s ago within 30s leeway", token: authtest.HS256(t, with(map[string]any{"exp": t0.Add(-29 * time.Second).Unix()}))},
		{name: "BI-36/exp exactly 30s ago (now == exp+leeway)", token: authtest.HS256(t, with(map[string]any{"exp": t0.Add(-30 * time.Second).Unix()})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenExpired},
		{name: "BI-36/exp 31s ago", token: authtest.HS256(t, with(map[string]any{"exp": t0.Add(-31 * time.Second).Unix()})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenExpired},
		{name: "BI-37/no exp", token: authtest.HS256(t, with(map[string]any{"exp": nil})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenRequiredClaimMissing},
		{name: "BI-38/exp as string", token: rawClaims(t, `{"sub":"user-a","iss":"`+authtest.Issuer+`","aud":"`+authtest.Audience+`","exp":"9999999999"}`), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-38/exp 1e300", token: rawClaims(t, `{"sub":"user-a","iss":"`+authtest.Issuer+`","aud":"`+authtest.Audience+`","exp":1e300}`), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-38/exp negative", token: rawClaims(t, `{"sub":"user-a","iss":"`+authtest.Issuer+`","aud":"`+authtest.Audience+`","exp":-1}`), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-38/exp null", token: rawClaims(t, `{"sub":"user-a","iss":"`+authtest.Issuer+`","aud":"`+authtest.Audience+`","exp":null}`), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenRequiredClaimMissing},
		{name: "BI-38/exp true", token: rawClaims(t, `{"sub":"user-a","iss":"`+authtest.Issuer+`","aud":"`+authtest.Audience+`","exp":true}`), wantErr: ErrInvalidToken},
		{name: "BI-38/exp object", token: rawClaims(t, `{"sub":"user-a","iss":"`+authtest.Issuer+`","aud":"`+authtest.Audience+`","exp":{}}`), wantErr: ErrInvalidToken},
		{name: "BI-38/iat as string", token: rawClaims(t, `{"sub":"user-a","iss":"`+authtest.Issuer+`","aud":"`+authtest.Audience+`","exp":`+itoa(exp)+`,"iat":"`+itoa(iat)+`"}`), wantErr: ErrInvalidToken},
		{name: "BI-38/fractional exp is a number", token: rawClaims(t, `{"sub":"user-a","iss":"`+authtest.Issuer+`","aud":"`+authtest.Audience+`","exp":`+itoa(exp)+`.5}`)},
		{name: "BI-39/nbf in 10 min", token: authtest.HS256(t, with(map[string]any{"nbf": t0.Add(10 * time.Minute).Unix()})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenNotValidYet},
		{name: "BI-39/nbf in 20s within leeway", token: authtest.HS256(t, with(map[string]any{"nbf": t0.Add(20 * time.Second).Unix()}))},
		{name: "BI-39/nbf in 30s at the leeway edge", token: authtest.HS256(t, with(map[string]any{"nbf": t0.Add(30 * time.Second).Unix()}))},
		{name: "BI-39/nbf in 31s", token: authtest.HS256(t, with(map[string]any{"nbf": t0.Add(31 * time.Second).Unix()})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenNotValidYet},
		{name: "BI-40/iat in an hour", token: authtest.HS256(t, with(map[string]any{"iat": t0.Add(time.Hour).Unix(), "exp": t0.Add(2 * time.Hour).Unix()})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenUsedBeforeIssued},
		{name: "BI-40/iat in 20s within leeway", token: authtest.HS256(t, with(map[string]any{"iat": t0.Add(20 * time.Second).Unix()}))},
		{name: "BI-40/iat in 31s", token: authtest.HS256(t, with(map[string]any{"iat": t0.Add(31 * time.Second).Unix()})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenUsedBeforeIssued},
		{name: "F-33/IdP clock 2 min ahead: iat in the future", token: authtest.HS256(t, with(map[string]any{"iat": t0.Add(2 * time.Minute).Unix(), "exp": t0.Add(12 * time.Minute).Unix()})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenUsedBeforeIssued},
		{name: "F-33/IdP clock 2 min ahead: nbf in the future", token: authtest.HS256(t, with(map[string]any{"nbf": t0.Add(2 * time.Minute).Unix()})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenNotValidYet},
		{name: "F-33/IdP clock 2 min behind: exp 90s after its now is 30s ago here", token: authtest.HS256(t, with(map[string]any{"iat": t0.Add(-2 * time.Minute).Unix(), "exp": t0.Add(-30 * time.Second).Unix()})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenExpired},
		{name: "F-33/IdP clock 2 min behind: exp 100s after its now", token: authtest.HS256(t, with(map[string]any{"iat": t0.Add(-2 * time.Minute).Unix(), "exp": t0.Add(-20 * time.Second).Unix()}))},
		{name: "BI-41/exp-iat 10 years", token: authtest.HS256(t, with(map[string]any{"exp": t0.Add(10 * year).Unix()})), wantErr: ErrInvalidToken, wantIs: errLifetime},
		{name: "BI-41/exp-iat exactly max lifetime", token: authtest.HS256(t, with(map[string]any{"iat": t0.Add(-time.Hour).Unix(), "exp": t0.Add(23 * time.Hour).Unix()}))},
		{name: "BI-41/exp-iat max lifetime plus 1s", token: authtest.HS256(t, with(map[string]any{"iat": t0.Add(-time.Hour).Unix(), "exp": t0.Add(23*time.Hour + time.Second).Unix()})), wantErr: ErrInvalidToken, wantIs: errLifetime},
		{name: "BI-41/no iat and exp in 10 years", token: authtest.HS256(t, with(map[string]any{"iat": nil, "exp": t0.Add(10 * year).Unix()})), wantErr: ErrInvalidToken, wantIs: errLifetime},
		{name: "BI-41/no iat and exp in 1 hour", token: authtest.HS256(t, with(map[string]any{"iat": nil, "exp": t0.Add(time.Hour).Unix()}))},
		{name: "BI-42/wrong iss", token: authtest.HS256(t, with(map[string]any{"iss": "https://evil.test/"})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenInvalidIssuer},
		{name: "BI-42/iss with a trailing space", token: authtest.HS256(t, with(map[string]any{"iss": authtest.Issuer + " "})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenInvalidIssuer},
		{name: "BI-42/iss prefix", token: authtest.HS256(t, with(map[string]any{"iss": authtest.Issuer + "evil"})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenInvalidIssuer},
		{name: "BI-42/missing iss", token: authtest.HS256(t, with(map[string]any{"iss": nil})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenRequiredClaimMissing},
		{name: "BI-42/iss not a string", token: authtest.HS256(t, with(map[string]any{"iss": 42})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-43/aud for another service", token: authtest.HS256(t, with(map[string]any{"aud": "billing"})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenInvalidAudience},
		{name: "BI-43/missing aud", token: authtest.HS256(t, with(map[string]any{"aud": nil})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenRequiredClaimMissing},
		{name: "BI-43/aud array without ours", token: authtest.HS256(t, with(map[string]any{"aud": []string{"billing", "crm"}})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenInvalidAudience},
		{name: "BI-43/aud superstring", token: authtest.HS256(t, with(map[string]any{"aud": authtest.Audience + "-evil"})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenInvalidAudience},
		{name: "BI-43/aud substring", token: authtest.HS256(t, with(map[string]any{"aud": "minbil"})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenInvalidAudience},
		{name: "BI-43/aud array with a non-string", token: authtest.HS256(t, with(map[string]any{"aud": []any{authtest.Audience, 1}})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-44/sub swapped keeping the signature", token: swapPayload(t, valid, with(map[string]any{"sub": "user-b"})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenSignatureInvalid},
		{name: "BI-44/signature stripped", token: valid[:strings.LastIndexByte(valid, '.')+1], wantErr: ErrInvalidToken},
		{name: "BI-44/HS256 signature stripped", token: authtest.HS256(t, stdClaims())[:strings.LastIndexByte(authtest.HS256(t, stdClaims()), '.')+1], wantErr: ErrInvalidToken},
		{name: "BI-45/2 segments", token: valid[:strings.LastIndexByte(valid, '.')], wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-45/4 segments", token: valid + ".abc", wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-45/5-segment JWE", token: authtest.B64([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".a.b.c.d", wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-45/header not JSON", token: "bm90IGpzb24." + strings.SplitN(valid, ".", 2)[1], wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-47/kid path traversal", token: authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "../../dev/null", stdClaims(), nil), wantErr: ErrInvalidToken},
		{name: "BI-47/kid SQL", token: authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "' OR 1=1--", stdClaims(), nil), wantErr: ErrInvalidToken},
		{name: "BI-47/kid 4 KB", token: authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, strings.Repeat("k", 4096), stdClaims(), nil), wantErr: ErrInvalidToken},
		{name: "BI-47/kid a URL", token: authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, strings.TrimSuffix(idp.URL(), "/jwks")+"/evil", stdClaims(), nil), wantErr: ErrInvalidToken},
		{name: "BI-47/kid not a string", token: authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "", stdClaims(), map[string]any{"kid": 7}), wantErr: ErrInvalidToken},
		{name: "BI-49/RS256 signature with a padding bit set", token: flipPadBit(valid), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-49/HS256 signature with a padding bit set", token: flipPadBit(authtest.HS256(t, stdClaims())), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-49/padded signature", token: authtest.HS256(t, stdClaims()) + "=", wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "BI-49/padded header (= only allowed at the end of a b64token)", token: strings.Replace(authtest.HS256(t, stdClaims()), ".", "==.", 1), wantErr: ErrMalformedToken},
		{name: "BI-50/other IdP's RSA key with our kid", token: authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, authtest.KID, stdClaims(), nil), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenSignatureInvalid},
		{name: "BI-50/other IdP's EC key with our kid", token: authtest.Sign(t, jwt.SigningMethodES256, k.OtherEC, authtest.ECKID, stdClaims(), nil), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenSignatureInvalid},
		{name: "BI-50/other realm's HMAC secret", token: authtest.Sign(t, jwt.SigningMethodHS256, []byte("another-realm-secret-0123456789abcdef"), "", stdClaims(), nil), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenSignatureInvalid},
		{name: "sub/missing", token: authtest.HS256(t, with(map[string]any{"sub": nil})), wantErr: ErrInvalidToken, wantIs: errSubject},
		{name: "sub/empty", token: authtest.HS256(t, with(map[string]any{"sub": ""})), wantErr: ErrInvalidToken, wantIs: errSubject},
		{name: "sub/with CRLF", token: authtest.HS256(t, with(map[string]any{"sub": "a\r\nb"})), wantErr: ErrInvalidToken, wantIs: errSubject},
		{name: "sub/with zero-width space", token: authtest.HS256(t, with(map[string]any{"sub": "a\u200bb"})), wantErr: ErrInvalidToken, wantIs: errSubject},
		{name: "sub/too long", token: authtest.HS256(t, with(map[string]any{"sub": strings.Repeat("s", 257)})), wantErr: ErrInvalidToken, wantIs: errSubject},
		{name: "sub/not a string", token: authtest.HS256(t, with(map[string]any{"sub": 12})), wantErr: ErrInvalidToken, wantIs: jwt.ErrTokenMalformed},
		{name: "crit header", token: authtest.Sign(t, jwt.SigningMethodHS256, []byte(authtest.Secret), "", stdClaims(), map[string]any{"crit": []string{"exp"}}), wantErr: ErrInvalidToken, wantIs: errCritHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(context.Background(), bearer(tt.token))
			if tt.wantErr == nil {
				want := tt.wantSub
				if want == "" {
					want = "user-a"
				}
				if err != nil || id.Subject != want || id.Token != tt.token {
					t.Fatalf("Authenticate() = (%q, %v), want (%q, nil) with the token", id.Subject, err, want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate() error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Authenticate() error = %v (cause %v), want it to wrap %v", err, errors.Unwrap(err), tt.wantIs)
			}
			if id != (Identity{}) {
				t.Errorf("Authenticate() identity = %v, want the zero Identity", id)
			}
			if got := Challenge(err); tt.wantErr == ErrInvalidToken && got != challengeInvalid {
				t.Errorf("S-12: Challenge(%v) = %q, want %q", err, got, challengeInvalid)
			}
		})
	}
	if n := idp.Others.Load(); n != 0 {
		t.Errorf("BI-47: requests to paths other than the JWKS = %d, want 0", n)
	}
	if n := idp.Fetches.Load(); n > 2 {
		t.Errorf("BI-46/BI-47: JWKS fetches = %d, want at most 2 (start + one rate-limited refresh)", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAlgorithmAllowlist checks BI-33/BI-34 against configurations whose
// allowlist is narrower than the keys they hold.
func TestAlgorithmAllowlist(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t,
		authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256),
		authtest.JWK(t, &k.EC.PublicKey, authtest.ECKID, jwkset.AlgES256))
	jwksOnly := authtest.JWTConfig(idp.URL())
	jwksOnly.JWT.HS256Secret = ""
	rs256Only := authtest.JWTConfig(idp.URL())
	rs256Only.JWT.Algorithms = []string{"RS256"}
	hsOnly := authtest.JWTConfig("")

	tests := []struct {
		name    string
		cfg     config.Auth
		token   string
		wantErr error
	}{
		{name: "BI-33/JWKS only: HS256 MACed with the RSA public key PEM", cfg: jwksOnly, token: authtest.Sign(t, jwt.SigningMethodHS256, rsaPublicPEM(t), authtest.KID, stdClaims(), nil), wantErr: ErrInvalidToken},
		{name: "BI-33/JWKS only: HS256 MACed with the PEM, no kid", cfg: jwksOnly, token: authtest.Sign(t, jwt.SigningMethodHS256, rsaPublicPEM(t), "", stdClaims(), nil), wantErr: ErrInvalidToken},
		{name: "BI-34/RS256 only: ES256 with a key in the JWKS", cfg: rs256Only, token: authtest.ES256(t, stdClaims()), wantErr: ErrInvalidToken},
		{name: "BI-34/RS256 only: HS256 with the configured secret", cfg: rs256Only, token: authtest.HS256(t, stdClaims()), wantErr: ErrInvalidToken},
		{name: "BI-34/RS256 only: RS256 accepted", cfg: rs256Only, token: authtest.RS256(t, stdClaims())},
		{name: "BI-34/HS256 only: RS256", cfg: hsOnly, token: authtest.RS256(t, stdClaims()), wantErr: ErrInvalidToken},
		{name: "BI-34/JWKS only: RS256 accepted", cfg: jwksOnly, token: authtest.RS256(t, stdClaims())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuth(t, tt.cfg, authtest.NewClock(t0), nil)
			_, err := a.Authenticate(context.Background(), bearer(tt.token))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Authenticate() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestAccessTokenType: with auth.jwt.require_access_token_type only a typ
// of at+jwt or application/at+jwt is accepted (RFC 9068 §4), so an ID
// token whose aud equals the gateway's audience is refused (R3-F11);
// without it the typ is not read.
func TestAccessTokenType(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	typed := func(typ any) string {
		return authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, authtest.KID, stdClaims(), map[string]any{"typ": typ})
	}
	untyped := authtest.SignRaw(t, map[string]any{"alg": "RS256", "kid": authtest.KID}, authtest.JSON(t, stdClaims()), jwt.SigningMethodRS256, k.RSA)

	tests := []struct {
		name         string
		token        string
		wantRequired error // with require_access_token_type
	}{
		{name: "at+jwt", token: typed("at+jwt")},
		{name: "application/at+jwt", token: typed("application/at+jwt")},
		{name: "AT+JWT", token: typed("AT+JWT")},
		{name: "JWT (an ID token)", token: typed("JWT"), wantRequired: errTokenType},
		{name: "no typ", token: untyped, wantRequired: errTokenType},
		{name: "typ not a string", token: typed(9068), wantRequired: errTokenType},
		{name: "at+jwt with a suffix", token: typed("at+jwt; x"), wantRequired: errTokenType},
	}
	for _, required := range []bool{false, true} {
		cfg := authtest.JWTConfig(idp.URL())
		cfg.JWT.RequireAccessTokenType = required
		a := newAuth(t, cfg, authtest.NewClock(t0), nil)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/required=%v", tt.name, required), func(t *testing.T) {
				want := tt.wantRequired
				if !required {
					want = nil
				}
				_, err := a.Authenticate(context.Background(), bearer(tt.token))
				if want == nil && err != nil || want != nil && !(errors.Is(err, ErrInvalidToken) && errors.Is(err, want)) {
					t.Errorf("Authenticate() error = %v, want %v", err, want)
				}
			})
		}
	}
}
