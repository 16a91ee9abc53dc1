package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// headerValues turns one fuzz input into Authorization header values:
// "" is no header, and "\n" separates several headers.
func headerValues(in string) []string {
	if in == "" {
		return nil
	}
	return strings.Split(in, "\n")
}

// independentlySigned verifies tok's signature with the standard library
// only, against the keys the fuzzed Authenticator trusts. It is the
// fuzz oracle: an accepted token must pass it.
func independentlySigned(tok string, k testKeys) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	dec := base64.RawURLEncoding.Strict()
	hb, err := dec.DecodeString(parts[0])
	if err != nil {
		return "", false
	}
	sig, err := dec.DecodeString(parts[2])
	if err != nil {
		return "", false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &h) != nil {
		return "", false
	}
	input := parts[0] + "." + parts[1]
	digest := sha256.Sum256([]byte(input))
	switch h.Alg {
	case "HS256":
		m := hmac.New(sha256.New, []byte(testSecret))
		m.Write([]byte(input))
		return h.Alg, hmac.Equal(m.Sum(nil), sig)
	case "RS256":
		return h.Alg, rsa.VerifyPKCS1v15(&k.rsa.PublicKey, crypto.SHA256, digest[:], sig) == nil
	case "ES256":
		if len(sig) != 64 {
			return h.Alg, false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return h.Alg, ecdsa.Verify(&k.ec.PublicKey, digest[:], r, s)
	}
	return h.Alg, false
}

// fuzzSeeds are inputs worth starting from; testdata/fuzz/FuzzAuthenticate
// holds more (with a valid HS256 token signed with testSecret at t0).
func fuzzSeeds(t testing.TB) []string {
	k := keys(t)
	return []string{
		"",
		"Bearer",
		"Bearer ",
		"Basic dXNlcjpw",
		"Bearer " + hs(t, stdClaims()),
		"bearer " + rs(t, stdClaims()),
		"BEARER " + es(t, stdClaims()),
		"Bearer " + rs(t, stdClaims()) + "\nBearer " + hs(t, stdClaims()),
		"Bearer " + sign(t, jwt.SigningMethodRS256, k.other, testKID, stdClaims(), nil),
		"Bearer " + b64([]byte(`{"alg":"none"}`)) + "." + b64(mustJSON(t, stdClaims())) + ".",
		"Bearer " + rawClaims(t, `{"sub":"user-a","iss":"`+testIssuer+`","aud":"`+testAudience+`","exp":"9999999999"}`),
		"Bearer " + strings.Repeat(".", 200),
		"Bearer a.b.c",
		"Bearer ====",
	}
}

func FuzzAuthenticate(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	k := keys(f)
	idp := newJWKSServer(f,
		jwk(f, &k.rsa.PublicKey, testKID, jwkset.AlgRS256),
		jwk(f, &k.ec.PublicKey, testECKID, jwkset.AlgES256))
	clock := newClock()
	jwtAuth := newAuth(f, jwtConfig(idp.url()), clock, nil)
	uncached := jwtConfig(idp.url())
	uncached.JWT.TokenCacheSize = 0
	jwtUncached := newAuth(f, uncached, clock, nil)
	dev := newAuth(f, configWithMode("dev"), clock, nil)
	passthrough := newAuth(f, configWithMode("passthrough"), clock, nil)

	f.Fuzz(func(t *testing.T, in string) {
		values := headerValues(in)
		ctx := context.Background()
		for _, a := range []*Authenticator{jwtAuth, jwtUncached} {
			id, err := a.Authenticate(ctx, values)
			if err != nil {
				if !errors.Is(err, ErrMissingToken) && !errors.Is(err, ErrMalformedToken) && !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("Authenticate(%q) = %v, wraps no sentinel", in, err)
				}
				continue
			}
			if alg, ok := independentlySigned(id.Token, k); !ok {
				t.Fatalf("jwt mode accepted %q (alg %q) without a valid signature", in, alg)
			}
			if !validSubject(id.Subject) {
				t.Fatalf("jwt mode accepted %q with subject %q", in, id.Subject)
			}
		}
		for _, a := range []*Authenticator{dev, passthrough} {
			id, err := a.Authenticate(ctx, values)
			if err != nil {
				continue
			}
			if id.Token == "" || len(id.Token) > MaxTokenBytes || !isB64Token(id.Token) || !strings.Contains(in, id.Token) {
				t.Fatalf("Authenticate(%q) accepted token %q", in, id.Token)
			}
			if !validSubject(id.Subject) {
				t.Fatalf("Authenticate(%q) subject = %q", in, id.Subject)
			}
		}
	})
}

// TestFuzzCorpusHasAnAcceptedToken keeps the checked-in corpus useful: at
// least one file must hold a token jwt mode accepts, so plain `go test`
// runs the fuzz oracle on an accepted token too.
func TestFuzzCorpusHasAnAcceptedToken(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzAuthenticate", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus: %v", err)
	}
	a := newAuth(t, jwtConfig(""), newClock(), nil)
	accepted := 0
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 3)
		if len(lines) < 2 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a fuzz corpus file", name)
		}
		in, ok := strings.CutPrefix(strings.TrimSpace(lines[1]), "string(")
		if !ok {
			t.Fatalf("%s: want a string value", name)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(in, ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := a.Authenticate(context.Background(), headerValues(s)); err == nil {
			accepted++
		}
	}
	if accepted == 0 {
		t.Errorf("no file in the seed corpus holds a token jwt mode accepts")
	}
}
