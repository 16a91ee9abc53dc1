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
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/contracts/header"
	"github.com/minbil/minbil-bff/gateway/auth/authtest"
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
func independentlySigned(tok string, k authtest.KeySet) (string, bool) {
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
		m := hmac.New(sha256.New, []byte(authtest.Secret))
		m.Write([]byte(input))
		return h.Alg, hmac.Equal(m.Sum(nil), sig)
	case "RS256":
		return h.Alg, rsa.VerifyPKCS1v15(&k.RSA.PublicKey, crypto.SHA256, digest[:], sig) == nil
	case "ES256":
		if len(sig) != 64 {
			return h.Alg, false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return h.Alg, ecdsa.Verify(&k.EC.PublicKey, digest[:], r, s)
	}
	return h.Alg, false
}

// The token syntaxes, written independently of contracts/header: the
// oracle of what dev (visible ASCII) and passthrough (RFC 6750 b64token)
// may accept.
var (
	visibleASCII = regexp.MustCompile(`^[\x21-\x7e]+$`)
	b64token     = regexp.MustCompile(`^[A-Za-z0-9._~+/-]+=*$`)
)

// fuzzSeeds are inputs worth starting from; testdata/fuzz/FuzzAuthenticate
// holds more (with a valid HS256 token signed with authtest.Secret at t0,
// see TestFuzzCorpusHasAnAcceptedToken).
func fuzzSeeds(t testing.TB) []string {
	k := authtest.Keys()
	return []string{
		"",
		"Bearer",
		"Bearer ",
		"Basic dXNlcjpw",
		"Bearer " + authtest.HS256(t, stdClaims()),
		"bearer " + authtest.RS256(t, stdClaims()),
		"BEARER " + authtest.ES256(t, stdClaims()),
		"Bearer " + authtest.RS256(t, stdClaims()) + "\nBearer " + authtest.HS256(t, stdClaims()),
		"Bearer " + authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, authtest.KID, stdClaims(), nil),
		"Bearer " + authtest.B64([]byte(`{"alg":"none"}`)) + "." + authtest.B64(authtest.JSON(t, stdClaims())) + ".",
		"Bearer " + rawClaims(t, `{"sub":"user-a","iss":"`+authtest.Issuer+`","aud":"`+authtest.Audience+`","exp":"9999999999"}`),
		"Bearer " + strings.Repeat(".", 200),
		"Bearer a.b.c",
		"Bearer ====",
		"Bearer <access-token>",
	}
}

func FuzzAuthenticate(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	k := authtest.Keys()
	idp := authtest.NewJWKS(f,
		authtest.JWK(f, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256),
		authtest.JWK(f, &k.EC.PublicKey, authtest.ECKID, jwkset.AlgES256))
	clock := authtest.NewClock(t0)
	jwtAuth := newAuth(f, authtest.JWTConfig(idp.URL()), clock, nil)
	uncached := authtest.JWTConfig(idp.URL())
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
		for _, m := range []struct {
			a      *Authenticator
			syntax *regexp.Regexp
		}{{dev, visibleASCII}, {passthrough, b64token}} {
			id, err := m.a.Authenticate(ctx, values)
			if err != nil {
				continue
			}
			if len(id.Token) > header.MaxTokenBytes || !m.syntax.MatchString(id.Token) || !strings.Contains(in, id.Token) {
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
	a := newAuth(t, authtest.JWTConfig(""), authtest.NewClock(t0), nil)
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
