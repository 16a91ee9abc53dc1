package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minbil/minbil-bff/gateway/scrub"
)

// Masked replaces a secret that is set in Redacted and every dump.
const Masked = "***"

// Redacted returns a copy of c safe to print: each secret that is set
// becomes Masked (an unset one stays "", so a dump shows which are missing),
// and user info in URLs becomes "***". Slices are copied.
func (c Config) Redacted() Config {
	c.Upstream = c.Upstream.redacted()
	c.Auth.JWT = c.Auth.JWT.redacted()
	c.Store.Redis.Password = mask(c.Store.Redis.Password)
	c.Server.TrustedProxies = slices.Clone(c.Server.TrustedProxies)
	c.Auth.RequireTokenOn = slices.Clone(c.Auth.RequireTokenOn)
	c.CORS.AllowOrigins = slices.Clone(c.CORS.AllowOrigins)
	return c
}

func (u Upstream) redacted() Upstream {
	u.APIKey = mask(u.APIKey)
	u.URL = scrub.URL(u.URL)
	return u
}

func (j JWT) redacted() JWT {
	j.HS256Secret = mask(j.HS256Secret)
	j.JWKSURL = scrub.URL(j.JWKSURL)
	j.Algorithms = slices.Clone(j.Algorithms)
	return j
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return Masked
}

// String returns the redacted configuration on one line, every key in
// declaration order as key=value, for the start-up log:
// `server.addr=":5000" … upstream.api_key="***" …`.
func (c Config) String() string { return dump(c, "") }

// GoString makes %#v print the redacted configuration too.
func (c Config) GoString() string {
	type fields Config
	return fmt.Sprintf("%#v", fields(c.Redacted()))
}

// String returns the redacted upstream section as key=value pairs.
func (u Upstream) String() string { return dump(Config{Upstream: u}, "upstream.") }

// GoString makes %#v print the redacted section.
func (u Upstream) GoString() string {
	type fields Upstream
	return fmt.Sprintf("%#v", fields(u.redacted()))
}

// MarshalJSON encodes the redacted section, so that a JSON dump (a
// structured logger's reflection, a debug endpoint) cannot carry the key.
func (u Upstream) MarshalJSON() ([]byte, error) {
	type fields Upstream
	return json.Marshal(fields(u.redacted()))
}

// MarshalYAML encodes the redacted section, for the same reason: a
// configuration written out is never a way to leak the key.
func (u Upstream) MarshalYAML() (any, error) {
	type fields Upstream
	return fields(u.redacted()), nil
}

// String returns the redacted jwt section as key=value pairs.
func (j JWT) String() string { return dump(Config{Auth: Auth{JWT: j}}, "auth.jwt.") }

// GoString makes %#v print the redacted section.
func (j JWT) GoString() string {
	type fields JWT
	return fmt.Sprintf("%#v", fields(j.redacted()))
}

// MarshalJSON encodes the redacted section.
func (j JWT) MarshalJSON() ([]byte, error) {
	type fields JWT
	return json.Marshal(fields(j.redacted()))
}

// MarshalYAML encodes the redacted section.
func (j JWT) MarshalYAML() (any, error) {
	type fields JWT
	return fields(j.redacted()), nil
}

// dump formats the keys of c under prefix, redacted, as key=value pairs.
func dump(c Config, prefix string) string {
	c = c.Redacted()
	var b strings.Builder
	for _, k := range Keys() {
		if !strings.HasPrefix(k.Path, prefix) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k.Path)
		b.WriteByte('=')
		b.WriteString(formatValue(k.field(&c)))
	}
	return b.String()
}

func formatValue(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.String:
		// Any value may be a URL that carries a credential.
		return strconv.Quote(scrub.URL(v.String()))
	case v.Kind() == reflect.Slice:
		items := make([]string, v.Len())
		for i := range v.Len() {
			items[i] = formatValue(v.Index(i))
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	return fmt.Sprint(v.Interface())
}
