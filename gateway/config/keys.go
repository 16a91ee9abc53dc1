package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "MINBIL_"

// APIKeyEnv is the documentation's own variable for the upstream API key, an
// alias of MINBIL_UPSTREAM_API_KEY. When both are set, the specific
// MINBIL_UPSTREAM_API_KEY wins: it names the key path exactly, so it is the
// deliberate choice when an environment happens to carry both.
const APIKeyEnv = "MINBIL_API_KEY"

// Key describes one leaf of the configuration tree.
type Key struct {
	// Path is the dotted YAML key path, e.g. "upstream.api_key".
	Path string
	// Env is the environment variable that overrides it: EnvPrefix plus
	// Path in upper snake case, e.g. "MINBIL_UPSTREAM_API_KEY".
	Env string
	// Aliases are further variables read when Env is not set, in order.
	Aliases []string
	// Secret reports whether the value is a credential: it is never
	// printed, logged or echoed in an error.
	Secret bool

	index []int
	typ   reflect.Type
}

// isSecret reports whether the key at path is a credential. A test guards
// that every string key named like a credential is listed here.
func isSecret(path string) bool {
	switch path {
	case "upstream.api_key", "auth.jwt.hs256_secret", "store.redis.password":
		return true
	}
	return false
}

// envAliases returns the extra environment variables of the key at path,
// read when its own variable is unset.
func envAliases(path string) []string {
	if path == "upstream.api_key" {
		return []string{APIKeyEnv}
	}
	return nil
}

var durationType = reflect.TypeFor[time.Duration]()

// Keys lists every leaf key of Config in declaration order, derived from the
// yaml tags, so the list cannot drift from the struct.
func Keys() []Key {
	var keys []Key
	collectKeys(reflect.TypeFor[Config](), "", nil, &keys)
	return keys
}

func collectKeys(t reflect.Type, prefix string, index []int, keys *[]Key) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct {
			collectKeys(f.Type, path, idx, keys)
			continue
		}
		*keys = append(*keys, Key{
			Path:    path,
			Env:     EnvName(path),
			Aliases: envAliases(path),
			Secret:  isSecret(path),
			index:   idx,
			typ:     f.Type,
		})
	}
}

// yamlName returns the key of a struct field, or "" for unexported or
// yaml:"-" fields.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// EnvName returns the environment variable of a dotted key path:
// "upstream.url" → "MINBIL_UPSTREAM_URL".
func EnvName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// field returns the settable value of key k inside *c.
func (k Key) field(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(k.index)
}

// typeDesc says in words what a value of type t looks like, for errors.
func typeDesc(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a Go duration such as 5s or 1m30s"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "a list of strings"
	}
	return fmt.Sprintf("a value of unsupported type %s", t)
}
