package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// loadKID names the harness's RSA key in its JWKS.
const loadKID = "load-rs256"

// The iss and aud of every harness token, and the auth.jwt.issuer and
// auth.jwt.audience every JWT gateway is given: with a JWKS in front of a
// real upstream the gateway refuses to start without both (OA-11),
// and checking them is part of the work a production gateway does per
// token.
const (
	loadIssuer   = "https://idp.load.invalid/"
	loadAudience = "minbil-bff-load"
)

// credentials are the keys and tokens of one harness run, made fresh each
// time and never written anywhere but the run's own directory.
type credentials struct {
	secret string
	jwks   []byte
	hs256  string
	rs256  string
}

func newCredentials() (credentials, error) {
	var c credentials
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return c, err
	}
	c.secret = base64.RawURLEncoding.EncodeToString(raw)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return c, err
	}
	c.jwks, err = json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": loadKID, "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}})
	if err != nil {
		return c, err
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": loadIssuer, "aud": loadAudience, "sub": "load-user",
		"iat": now.Unix(), "exp": now.Add(6 * time.Hour).Unix(),
	}
	if c.hs256, err = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(c.secret)); err != nil {
		return c, fmt.Errorf("sign hs256: %w", err)
	}
	rs := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	rs.Header["kid"] = loadKID
	if c.rs256, err = rs.SignedString(key); err != nil {
		return c, fmt.Errorf("sign rs256: %w", err)
	}
	return c, nil
}
