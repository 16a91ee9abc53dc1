package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/minbil/minbil-bff/contracts/secret"
)

func secretConfig() Config {
	c := Default()
	c.Upstream.URL = "https://svc:pw-in-url-0123@api.minbil.no"
	c.Upstream.APIKey = "ak_live_4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99"
	c.Auth.Mode = "jwt"
	c.Auth.JWT.HS256Secret = "hs_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
	c.Auth.JWT.JWKSURL = "https://jwksuser:jwkspass-0123@id.example/jwks"
	return c
}

func TestRedacted(t *testing.T) {
	c := secretConfig()
	r := c.Redacted()
	checks := []struct {
		name string
		got  string
		want string
	}{
		{"upstream.api_key", r.Upstream.APIKey, Masked},
		{"auth.jwt.hs256_secret", r.Auth.JWT.HS256Secret, Masked},
		{"upstream.url", r.Upstream.URL, "https://***@api.minbil.no"},
		{"auth.jwt.jwks_url", r.Auth.JWT.JWKSURL, "https://***@id.example/jwks"},
		{"unset secret stays empty", Default().Redacted().Upstream.APIKey, ""},
		{"original untouched", c.Upstream.APIKey, secretConfig().Upstream.APIKey},
	}
	for _, tt := range checks {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	r.CORS.AllowOrigins[0] = "changed"
	if c.CORS.AllowOrigins[0] == "changed" {
		t.Error("Redacted() shares cors.allow_origins with the original")
	}
}

// TestDumpsNeverShowSecrets runs every way a config might be printed.
func TestDumpsNeverShowSecrets(t *testing.T) {
	c := secretConfig()
	secrets := []string{c.Upstream.APIKey, c.Auth.JWT.HS256Secret, "pw-in-url-0123", "jwkspass-0123"}
	mustJSON := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		return string(b)
	}
	mustYAML := func(v any) string {
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatalf("yaml.Marshal: %v", err)
		}
		return string(b)
	}
	dumps := []struct {
		name string
		out  string
	}{
		{"String", c.String()},
		{"%v", fmt.Sprintf("%v", c)},
		{"%+v", fmt.Sprintf("%+v", c)},
		{"%#v", fmt.Sprintf("%#v", c)},
		{"pointer", fmt.Sprint(&c)},
		{"%v upstream", fmt.Sprintf("%v", c.Upstream)},
		{"%+v upstream", fmt.Sprintf("%+v", c.Upstream)},
		{"%#v upstream", fmt.Sprintf("%#v", c.Upstream)},
		{"%+v auth", fmt.Sprintf("%+v", c.Auth)},
		{"%#v auth", fmt.Sprintf("%#v", c.Auth)},
		{"%v jwt", fmt.Sprintf("%v", c.Auth.JWT)},
		{"%#v jwt", fmt.Sprintf("%#v", c.Auth.JWT)},
		{"json", mustJSON(c)},
		{"json upstream", mustJSON(c.Upstream)},
		{"yaml", mustYAML(c)},
		{"yaml jwt", mustYAML(c.Auth.JWT)},
	}
	for _, d := range dumps {
		t.Run(d.name, func(t *testing.T) {
			for _, s := range secrets {
				if secret.Quotes(d.out, s) {
					t.Errorf("%s quotes the secret %q (S-02):\n%s", d.name, s, d.out)
				}
			}
			if !strings.Contains(d.out, Masked) {
				t.Errorf("%s shows no %q:\n%s", d.name, Masked, d.out)
			}
		})
	}
}

func TestStringListsEveryKey(t *testing.T) {
	s := Default().String()
	for _, k := range Keys() {
		if !strings.Contains(s, k.Path+"=") {
			t.Errorf("String() lacks %s=: %s", k.Path, s)
		}
	}
	for _, want := range []string{`server.addr=":5000"`, `upstream.timeout=5s`, `upstream.api_key=""`, `cors.allow_origins=["http://localhost:*","http://127.0.0.1:*"]`, `mock.seed=1`} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %s: %s", want, s)
		}
	}
	if strings.Contains(s, "\n") {
		t.Errorf("String() spans lines: %q", s)
	}
}

// TestSecretKeysAreMarked guards that a credential added to Config later is
// redacted: every string key named like one must be marked Secret.
func TestSecretKeysAreMarked(t *testing.T) {
	credential := regexp.MustCompile(`(secret|password|passwd|api_key|token|credential)$`)
	for _, k := range Keys() {
		if k.typ.Kind() == reflect.String && credential.MatchString(k.Path) && !k.Secret {
			t.Errorf("key %s looks like a credential but is not marked secret (isSecret)", k.Path)
		}
	}
}
