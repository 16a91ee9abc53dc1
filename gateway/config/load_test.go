package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	gatewayYAML    = "../../configs/gateway.yaml"
	productionYAML = "../../configs/production.yaml"
)

// env returns a lookup function over vars.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// writeFile writes content to a file in a fresh temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// keyValue returns the value of the key at path in c.
func keyValue(t *testing.T, c Config, path string) any {
	t.Helper()
	for _, k := range Keys() {
		if k.Path == path {
			return k.field(&c).Interface()
		}
	}
	t.Fatalf("no key %q", path)
	return nil
}

// problemKeys returns the Key of every *FieldError joined in err, and the
// errors that are not *FieldError.
func problemKeys(err error) (keys []string, others []error) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	for _, e := range errs {
		var fe *FieldError
		if errors.As(e, &fe) {
			keys = append(keys, fe.Key)
		} else {
			others = append(others, e)
		}
	}
	return keys, others
}

func TestLoadWithoutFileOrEnvIsDefault(t *testing.T) {
	got, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load(\"\", nil) error = %v", err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Errorf("Load(\"\", nil) = %v, want Default() = %v", got, Default())
	}
}

// TestGatewayYAMLIsDefault keeps configs/gateway.yaml equal to Default.
func TestGatewayYAMLIsDefault(t *testing.T) {
	got, err := Load(gatewayYAML, nil)
	if err != nil {
		t.Fatalf("Load(%s) error = %v", gatewayYAML, err)
	}
	want := Default()
	for _, k := range Keys() {
		if g, w := k.field(&got).Interface(), k.field(&want).Interface(); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %s = %#v, Default() has %#v", gatewayYAML, k.Path, g, w)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load(%s) != Default()", gatewayYAML)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate() of %s = %v, want nil", gatewayYAML, err)
	}
}

// TestGatewayYAMLListsEveryKey keeps configs/gateway.yaml documenting every
// key, and only real keys.
func TestGatewayYAMLListsEveryKey(t *testing.T) {
	data, err := os.ReadFile(gatewayYAML)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var inFile []string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			path := joinPath(prefix, n.Content[i].Value)
			if v := n.Content[i+1]; v.Kind == yaml.MappingNode {
				walk(v, path)
				continue
			}
			inFile = append(inFile, path)
			if n.Content[i].HeadComment == "" {
				t.Errorf("%s: key %s has no comment above it", gatewayYAML, path)
			}
		}
	}
	walk(doc.Content[0], "")
	var all []string
	for _, k := range Keys() {
		all = append(all, k.Path)
		if !slices.Contains(inFile, k.Path) {
			t.Errorf("%s lacks key %s", gatewayYAML, k.Path)
		}
	}
	for _, p := range inFile {
		if !slices.Contains(all, p) {
			t.Errorf("%s has %s, which is not a key", gatewayYAML, p)
		}
	}
}

func TestProductionYAML(t *testing.T) {
	const key = "prod-key-0123456789abcdef"
	cfg, err := Load(productionYAML, env(map[string]string{APIKeyEnv: key}))
	if err != nil {
		t.Fatalf("Load(%s) error = %v", productionYAML, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() of %s with %s set = %v, want nil", productionYAML, APIKeyEnv, err)
	}
	checks := []struct {
		key  string
		want any
	}{
		{"upstream.url", "https://api.minbil.no"},
		{"upstream.api_key", key},
		{"upstream.validate_responses", ValidateLog},
		{"auth.mode", AuthJWT},
		{"auth.require_token_on", []string{"checkUsername", "listRatings", "rateBooking"}},
		{"log.format", "json"},
	}
	for _, c := range checks {
		if got := keyValue(t, cfg, c.key); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %s = %#v, want %#v", productionYAML, c.key, got, c.want)
		}
	}

	cfg, err = Load(productionYAML, nil)
	if err != nil {
		t.Fatalf("Load(%s) error = %v", productionYAML, err)
	}
	keys, others := problemKeys(cfg.Validate())
	if !slices.Equal(keys, []string{"upstream.api_key"}) || others != nil {
		t.Errorf("Validate() of %s without %s: keys %v (and %v), want [upstream.api_key]", productionYAML, APIKeyEnv, keys, others)
	}
}

func TestLoadEnvOverridesEveryType(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		key  string
		want any
	}{
		{"string", map[string]string{"MINBIL_SERVER_ADDR": "127.0.0.1:8080"}, "server.addr", "127.0.0.1:8080"},
		{"string set empty", map[string]string{"MINBIL_UPSTREAM_API_KEY_HEADER": ""}, "upstream.api_key_header", ""},
		{"string kept verbatim", map[string]string{"MINBIL_AUTH_JWT_ISSUER": " https://iss/ "}, "auth.jwt.issuer", " https://iss/ "},
		{"nested string", map[string]string{"MINBIL_AUTH_JWT_HS256_SECRET": "s3cret"}, "auth.jwt.hs256_secret", "s3cret"},
		{"int", map[string]string{"MINBIL_BREAKER_CONSECUTIVE_FAILURES": "9"}, "breaker.consecutive_failures", 9},
		{"int with spaces", map[string]string{"MINBIL_LIMITS_BODY_BYTES": " 2048 "}, "limits.body_bytes", 2048},
		{"int negative", map[string]string{"MINBIL_RATE_LIMIT_PER_IP": "-1"}, "rate_limit.per_ip", -1},
		{"int64", map[string]string{"MINBIL_MOCK_SEED": "9007199254740993"}, "mock.seed", int64(9007199254740993)},
		{"duration", map[string]string{"MINBIL_UPSTREAM_TIMEOUT": "1m30s"}, "upstream.timeout", 90 * time.Second},
		{"duration negative", map[string]string{"MINBIL_BREAKER_OPEN_TIMEOUT": "-1s"}, "breaker.open_timeout", -time.Second},
		{"list", map[string]string{"MINBIL_CORS_ALLOW_ORIGINS": "https://a.example, https://b.example:8443"}, "cors.allow_origins", []string{"https://a.example", "https://b.example:8443"}},
		{"list drops empty items", map[string]string{"MINBIL_AUTH_REQUIRE_TOKEN_ON": ",listRatings,,"}, "auth.require_token_on", []string{"listRatings"}},
		{"list set empty", map[string]string{"MINBIL_CORS_ALLOW_ORIGINS": ""}, "cors.allow_origins", []string(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load("", env(tt.env))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if got := keyValue(t, cfg, tt.key); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load() with %v: %s = %#v, want %#v", tt.env, tt.key, got, tt.want)
			}
		})
	}
}

// TestParseValueEveryType covers the types no key uses today.
func TestParseValueEveryType(t *testing.T) {
	tests := []struct {
		name    string
		typ     reflect.Type
		in      string
		want    any
		wantErr bool
	}{
		{"bool true", reflect.TypeFor[bool](), "true", true, false},
		{"bool 0", reflect.TypeFor[bool](), "0", false, false},
		{"bool bad", reflect.TypeFor[bool](), "yes", nil, true},
		{"float", reflect.TypeFor[float64](), "0.25", 0.25, false},
		{"float NaN", reflect.TypeFor[float64](), "NaN", nil, true},
		{"float Inf", reflect.TypeFor[float64](), "+Inf", nil, true},
		{"int8 unsupported", reflect.TypeFor[int8](), "1", nil, true},
		{"map unsupported", reflect.TypeFor[map[string]string](), "a", nil, true},
		{"int overflow", reflect.TypeFor[int64](), "9223372036854775808", nil, true},
		{"int hex refused", reflect.TypeFor[int](), "0x10", nil, true},
		{"duration without unit", durationType, "5", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseValue(tt.typ, tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseValue(%s, %q) error = %v, want error %v", tt.typ, tt.in, err, tt.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got.Interface(), tt.want) {
				t.Errorf("parseValue(%s, %q) = %#v, want %#v", tt.typ, tt.in, got.Interface(), tt.want)
			}
		})
	}
}

func TestEveryKeyTypeIsSupported(t *testing.T) {
	for _, k := range Keys() {
		if strings.Contains(typeDesc(k.typ), "unsupported") {
			t.Errorf("key %s has unsupported type %s", k.Path, k.typ)
		}
	}
}

func TestLoadEnvErrorsNameVariableAndKey(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		wantLines []string
	}{
		{
			name:      "duration without unit",
			env:       map[string]string{"MINBIL_UPSTREAM_TIMEOUT": "5"},
			wantLines: []string{`env MINBIL_UPSTREAM_TIMEOUT: upstream.timeout: "5" is not a Go duration such as 5s or 1m30s`},
		},
		{
			name:      "int empty",
			env:       map[string]string{"MINBIL_SERVER_MAX_CONNS": ""},
			wantLines: []string{`env MINBIL_SERVER_MAX_CONNS: server.max_conns: "" is not an integer`},
		},
		{
			name:      "int64 not a number",
			env:       map[string]string{"MINBIL_MOCK_SEED": "one"},
			wantLines: []string{`env MINBIL_MOCK_SEED: mock.seed: "one" is not an integer`},
		},
		{
			name: "all at once",
			env: map[string]string{
				"MINBIL_LIMITS_BODY_BYTES":       "16k",
				"MINBIL_AUTH_JWT_LEEWAY":         "30",
				"MINBIL_RATE_LIMIT_PER_IDENTITY": "1.5",
			},
			wantLines: []string{
				`env MINBIL_AUTH_JWT_LEEWAY: auth.jwt.leeway: "30" is not a Go duration such as 5s or 1m30s`,
				`env MINBIL_LIMITS_BODY_BYTES: limits.body_bytes: "16k" is not an integer`,
				`env MINBIL_RATE_LIMIT_PER_IDENTITY: rate_limit.per_identity: "1.5" is not an integer`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load("", env(tt.env))
			if err == nil {
				t.Fatalf("Load() with %v = nil error, want %q", tt.env, tt.wantLines)
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.wantLines) {
				t.Errorf("Load() error lines = %q, want %q", got, tt.wantLines)
			}
			if !reflect.DeepEqual(cfg, Config{}) {
				t.Errorf("Load() on error returned %v, want the zero Config", cfg)
			}
		})
	}
}

func TestLoadPrecedence(t *testing.T) {
	path := writeFile(t, "server:\n  addr: \":6000\"\nupstream:\n  timeout: 7s\n")
	tests := []struct {
		name        string
		path        string
		env         map[string]string
		flags       Flags
		wantAddr    string
		wantTimeout time.Duration
	}{
		{"default", "", nil, Flags{}, ":5000", 5 * time.Second},
		{"file over default", path, nil, Flags{}, ":6000", 7 * time.Second},
		{"env over file", path, map[string]string{"MINBIL_SERVER_ADDR": ":7000"}, Flags{}, ":7000", 7 * time.Second},
		{"env over default", "", map[string]string{"MINBIL_UPSTREAM_TIMEOUT": "2s"}, Flags{}, ":5000", 2 * time.Second},
		{"flag over env", path, map[string]string{"MINBIL_SERVER_ADDR": ":7000"}, Flags{Addr: ":8000"}, ":8000", 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(tt.path, env(tt.env))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			cfg = cfg.ApplyFlags(tt.flags)
			if cfg.Server.Addr != tt.wantAddr || cfg.Upstream.Timeout != tt.wantTimeout {
				t.Errorf("addr, timeout = %q, %v, want %q, %v", cfg.Server.Addr, cfg.Upstream.Timeout, tt.wantAddr, tt.wantTimeout)
			}
		})
	}
}

func TestApplyFlags(t *testing.T) {
	tests := []struct {
		name         string
		flags        Flags
		wantAddr     string
		wantUpstream string
	}{
		{"none", Flags{}, ":5000", "mock"},
		{"addr", Flags{Addr: "127.0.0.1:9000"}, "127.0.0.1:9000", "mock"},
		{"upstream", Flags{Upstream: "https://api.minbil.no"}, ":5000", "https://api.minbil.no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Default().ApplyFlags(tt.flags)
			if got.Server.Addr != tt.wantAddr || got.Upstream.URL != tt.wantUpstream {
				t.Errorf("ApplyFlags(%+v): addr, url = %q, %q, want %q, %q", tt.flags, got.Server.Addr, got.Upstream.URL, tt.wantAddr, tt.wantUpstream)
			}
		})
	}
}

func TestLoadAPIKeyAlias(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want string
	}{
		{"alias alone", "", map[string]string{"MINBIL_API_KEY": "from-alias"}, "from-alias"},
		{"specific alone", "", map[string]string{"MINBIL_UPSTREAM_API_KEY": "from-specific"}, "from-specific"},
		{"specific wins over alias", "", map[string]string{"MINBIL_API_KEY": "from-alias", "MINBIL_UPSTREAM_API_KEY": "from-specific"}, "from-specific"},
		{"alias over file", "upstream:\n  api_key: from-file\n", map[string]string{"MINBIL_API_KEY": "from-alias"}, "from-alias"},
		{"file without env", "upstream:\n  api_key: from-file\n", nil, "from-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			cfg, err := Load(path, env(tt.env))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if cfg.Upstream.APIKey != tt.want {
				t.Errorf("upstream.api_key = %q, want %q", cfg.Upstream.APIKey, tt.want)
			}
		})
	}
}

func TestLoadIgnoresOtherMinbilVariables(t *testing.T) {
	var asked []string
	lookup := func(name string) (string, bool) {
		asked = append(asked, name)
		switch name {
		case "MINBIL_API_BASE_URL":
			return "http://localhost:5000", true
		case "MINBIL_ACCESS_TOKEN":
			return "token", true
		}
		return "", false
	}
	cfg, err := Load("", lookup)
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load() = %v, want Default()", cfg)
	}
	for _, name := range []string{"MINBIL_API_BASE_URL", "MINBIL_ACCESS_TOKEN"} {
		if slices.Contains(asked, name) {
			t.Errorf("Load() looked up %s", name)
		}
	}
}

func TestEnvNames(t *testing.T) {
	seen := map[string]string{}
	valid := regexp.MustCompile(`^MINBIL_[A-Z0-9]+(_[A-Z0-9]+)*$`)
	for _, k := range Keys() {
		if k.Env != EnvName(k.Path) {
			t.Errorf("key %s: Env = %s, want %s", k.Path, k.Env, EnvName(k.Path))
		}
		for _, name := range append([]string{k.Env}, k.Aliases...) {
			if !valid.MatchString(name) {
				t.Errorf("key %s: variable %s is not upper snake case", k.Path, name)
			}
			if other, dup := seen[name]; dup {
				t.Errorf("variable %s names both %s and %s", name, other, k.Path)
			}
			seen[name] = k.Path
		}
	}
	want := map[string]string{
		"MINBIL_SERVER_ADDR":                 "server.addr",
		"MINBIL_UPSTREAM_URL":                "upstream.url",
		"MINBIL_UPSTREAM_API_KEY":            "upstream.api_key",
		"MINBIL_API_KEY":                     "upstream.api_key",
		"MINBIL_AUTH_JWT_HS256_SECRET":       "auth.jwt.hs256_secret",
		"MINBIL_RATE_LIMIT_PER_IP":           "rate_limit.per_ip",
		"MINBIL_CORS_ALLOW_ORIGINS":          "cors.allow_origins",
		"MINBIL_AUTH_JWT_ALLOW_ANY_AUDIENCE": "auth.jwt.allow_any_audience",
	}
	for name, path := range want {
		if seen[name] != path {
			t.Errorf("variable %s names %q, want %q", name, seen[name], path)
		}
	}
	for _, name := range []string{"MINBIL_API_BASE_URL", "MINBIL_ACCESS_TOKEN"} {
		if path, ok := seen[name]; ok {
			t.Errorf("client-side variable %s names key %s", name, path)
		}
	}
}

// TestKeysIncludeIssueKeys guards the keys the issue names.
func TestKeysIncludeIssueKeys(t *testing.T) {
	var paths []string
	for _, k := range Keys() {
		paths = append(paths, k.Path)
	}
	for _, p := range []string{
		"server.addr", "upstream.url", "upstream.api_key", "upstream.api_key_header",
		"upstream.timeout", "auth.mode", "auth.jwt.hs256_secret", "auth.jwt.jwks_url",
		"auth.jwt.issuer", "auth.jwt.audience", "cache.username_ttl",
		"breaker.consecutive_failures", "breaker.open_timeout", "limits.body_bytes",
		"cors.allow_origins",
	} {
		if !slices.Contains(paths, p) {
			t.Errorf("Keys() lacks %s", p)
		}
	}
}

// TestLoadAllowAnyAudience: the OA-11 waiver loads from the file
// and from its variable.
func TestLoadAllowAnyAudience(t *testing.T) {
	cfg, err := Load("", env(map[string]string{"MINBIL_AUTH_JWT_ALLOW_ANY_AUDIENCE": "true"}))
	if err != nil || !cfg.Auth.JWT.AllowAnyAudience {
		t.Errorf("Load(env true) = %v, allow_any_audience %v, want true", err, cfg.Auth.JWT.AllowAnyAudience)
	}
	cfg, err = Load(writeFile(t, "auth:\n  jwt:\n    allow_any_audience: true\n"), nil)
	if err != nil || !cfg.Auth.JWT.AllowAnyAudience {
		t.Errorf("Load(file true) = %v, allow_any_audience %v, want true", err, cfg.Auth.JWT.AllowAnyAudience)
	}
}

func TestLoadFile(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		key   string
		want  any
		check string // a second key that must keep its default
	}{
		{"empty file", "", "server.addr", ":5000", "upstream.url"},
		{"comments only", "# nothing\n", "server.addr", ":5000", "upstream.url"},
		{"empty document", "---\n", "server.addr", ":5000", "upstream.url"},
		{"empty section keeps defaults", "server:\n", "server.addr", ":5000", "server.max_conns"},
		{"empty scalar keeps default", "upstream:\n  timeout:\n", "upstream.timeout", 5 * time.Second, "upstream.url"},
		{"empty list is nil", "cors:\n  allow_origins:\n", "cors.allow_origins", []string(nil), "server.addr"},
		{"[] is nil", "cors:\n  allow_origins: []\n", "cors.allow_origins", []string(nil), "server.addr"},
		{"list replaces default", "cors:\n  allow_origins: [\"https://a.example\"]\n", "cors.allow_origins", []string{"https://a.example"}, "server.addr"},
		{"quoted number into int", "server:\n  max_conns: \"20\"\n", "server.max_conns", 20, "server.addr"},
		{"number into string", "mock:\n  state_file: 5000\n", "mock.state_file", "5000", "mock.seed"},
		{"quoted null is a string", "mock:\n  state_file: \"null\"\n", "mock.state_file", "null", "mock.seed"},
		{"anchor and alias", "server:\n  read_timeout: &t 7s\n  write_timeout: *t\n", "server.write_timeout", 7 * time.Second, "server.idle_timeout"},
		{"negative duration loads, Validate refuses", "breaker:\n  open_timeout: -1s\n", "breaker.open_timeout", -time.Second, "breaker.interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(writeFile(t, tt.file), nil)
			if err != nil {
				t.Fatalf("Load(%q) error = %v", tt.file, err)
			}
			if got := keyValue(t, cfg, tt.key); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load(%q): %s = %#v, want %#v", tt.file, tt.key, got, tt.want)
			}
			if got, want := keyValue(t, cfg, tt.check), keyValue(t, Default(), tt.check); !reflect.DeepEqual(got, want) {
				t.Errorf("Load(%q): %s = %#v, want the default %#v", tt.file, tt.check, got, want)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		wantLines []string // each prefixed with the file name and ":"
	}{
		{
			name:      "unknown key",
			file:      "server:\n  adr: \":5000\"\n",
			wantLines: []string{`2: server.adr: unknown key; did you mean addr? server has addr, read_timeout, write_timeout, idle_timeout, shutdown_timeout, max_conns, trusted_proxies, public_url`},
		},
		{
			name:      "unknown top-level key",
			file:      "upstream:\n  url: mock\nsever:\n  addr: x\n",
			wantLines: []string{`3: sever: unknown key; did you mean server? the top level has server, upstream, auth, cache, breaker, limits, cors, idempotency, rate_limit, mock, log, store`},
		},
		{
			name:      "unknown nested key",
			file:      "auth:\n  jwt:\n    secret: x\n",
			wantLines: []string{`3: auth.jwt: unknown key, not shown (it is more than two edits from every key, and may be a secret); auth.jwt has hs256_secret, jwks_url, issuer, audience, allow_any_audience, require_access_token_type, algorithms, leeway, max_lifetime, jwks_refresh_interval, jwks_min_refresh_interval, jwks_max_stale, token_cache_size`},
		},
		{
			name:      "key given twice",
			file:      "server:\n  addr: \":1\"\n  addr: \":2\"\n",
			wantLines: []string{`3: server.addr: is given twice (first on line 2)`},
		},
		{
			name:      "integer duration",
			file:      "upstream:\n  timeout: 5\n",
			wantLines: []string{`2: upstream.timeout: "5" is not a Go duration such as 5s or 1m30s`},
		},
		{
			name:      "scalar for a list",
			file:      "cors:\n  allow_origins: https://a.example\n",
			wantLines: []string{`2: cors.allow_origins: is a scalar, want a list of strings`},
		},
		{
			name:      "list item not a string",
			file:      "cors:\n  allow_origins:\n    - [a]\n",
			wantLines: []string{`3: cors.allow_origins: has an item that is a list, want a string`},
		},
		{
			name:      "mapping for a scalar",
			file:      "server:\n  addr:\n    host: x\n",
			wantLines: []string{`3: server.addr: is a mapping, want a string`},
		},
		{
			name:      "scalar for a section",
			file:      "server: \":5000\"\n",
			wantLines: []string{`1: server: is a scalar, want a mapping of keys`},
		},
		{
			name:      "list at the top",
			file:      "- a\n",
			wantLines: []string{`1: the top level: is a list, want a mapping of keys`},
		},
		{
			name:      "malformed YAML",
			file:      "server:\n  addr: \":5000\n",
			wantLines: []string{`2: invalid YAML: found unexpected end of stream`},
		},
		{
			name:      "bad indentation",
			file:      "server:\n  addr: x\n timeout: 5s\n",
			wantLines: []string{`2: invalid YAML: did not find expected key`},
		},
		{
			name:      "two documents",
			file:      "server:\n  addr: x\n---\nserver:\n  addr: y\n",
			wantLines: []string{`3: a config file holds one YAML document; this is a second`},
		},
		{
			name:      "alias reported where used",
			file:      "server: &s\n  addr: \":1\"\n  read_timeout: *s\n",
			wantLines: []string{`3: server.read_timeout: is a mapping, want a Go duration such as 5s or 1m30s`},
		},
		{
			name:      "merge keys are not supported",
			file:      "base: &b {addr: \":1\"}\n",
			wantLines: []string{`1: the top level: unknown key, not shown (it is more than two edits from every key, and may be a secret); the top level has server, upstream, auth, cache, breaker, limits, cors, idempotency, rate_limit, mock, log, store`},
		},
		{
			name:      "secret never echoed",
			file:      "auth:\n  jwt:\n    hs256_secret: [do-not-show-me]\n",
			wantLines: []string{`3: auth.jwt.hs256_secret: is a list, want a string`},
		},
		// R3-F17: a secret written as a key, or as an anchor's name, is
		// never echoed; a typo is.
		{
			name:      "R3-F17 secret pasted as a key",
			file:      "upstream:\n  api_key:\n  upk-5Rq8Zt2Wv9Lx3Nc7Hb4Jm6: x\n",
			wantLines: []string{`3: upstream: unknown key, not shown (it is more than two edits from every key, and may be a secret); upstream has url, api_key, api_key_header, timeout, max_response_bytes, max_inflight_bytes, max_conns, idle_timeout, validate_responses`},
		},
		{
			name: "R3-F17 secret pasted as a key, twice",
			file: "upk-5Rq8Zt2Wv9Lx3Nc7Hb4Jm6: x\nupk-5Rq8Zt2Wv9Lx3Nc7Hb4Jm6: x\n",
			wantLines: []string{
				`1: the top level: unknown key, not shown (it is more than two edits from every key, and may be a secret); the top level has server, upstream, auth, cache, breaker, limits, cors, idempotency, rate_limit, mock, log, store`,
				`2: the top level: unknown key, not shown (it is more than two edits from every key, and may be a secret); the top level has server, upstream, auth, cache, breaker, limits, cors, idempotency, rate_limit, mock, log, store`,
			},
		},
		{
			name:      "R3-F17 secret as an anchor's name",
			file:      "upstream:\n  api_key: *upk-5Rq8Zt2Wv9Lx3Nc7Hb4Jm6\n",
			wantLines: []string{` invalid YAML: unknown anchor (not shown) referenced`},
		},
		{
			name: "every problem at once",
			file: "server:\n  adr: x\n  max_conns: many\nupstream:\n  timeout: soon\nlog:\n  colour: true\n",
			wantLines: []string{
				`2: server.adr: unknown key; did you mean addr? server has addr, read_timeout, write_timeout, idle_timeout, shutdown_timeout, max_conns, trusted_proxies, public_url`,
				`3: server.max_conns: "many" is not an integer`,
				`5: upstream.timeout: "soon" is not a Go duration such as 5s or 1m30s`,
				`7: log: unknown key, not shown (it is more than two edits from every key, and may be a secret); log has format, level`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file)
			_, err := Load(path, nil)
			if err == nil {
				t.Fatalf("Load(%q) = nil error, want %q", tt.file, tt.wantLines)
			}
			want := make([]string, len(tt.wantLines))
			for i, l := range tt.wantLines {
				want[i] = path + ":" + l
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
				t.Errorf("Load(%q) error lines:\n%s\nwant:\n%s", tt.file, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestLoadFileAndEnvErrorsTogether(t *testing.T) {
	path := writeFile(t, "server:\n  adr: x\n")
	_, err := Load(path, env(map[string]string{"MINBIL_UPSTREAM_TIMEOUT": "soon"}))
	keys, others := problemKeys(err)
	if !slices.Equal(keys, []string{"server.adr", "upstream.timeout"}) || others != nil {
		t.Errorf("Load() problem keys = %v (others %v), want [server.adr upstream.timeout]", keys, others)
	}
}

func TestLoadMissingOrHugeFile(t *testing.T) {
	huge := writeFile(t, "# "+strings.Repeat("x", maxFileBytes)+"\n")
	tests := []struct {
		name    string
		path    string
		wantSub string
	}{
		{"missing", filepath.Join(t.TempDir(), "nope.yaml"), "no such file"},
		{"huge", huge, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("Load(%s) error = %v, want one containing %q", tt.path, err, tt.wantSub)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"addr", "addr", 0},
		{"adr", "addr", 1},
		{"sever", "server", 1},
		{"api_kye", "api_key", 2},
		{"", "db", 2},
		{"colour", "format", 3}, // more than the limit
		{strings.Repeat("x", 8<<10), "addr", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b, 2); got != tt.want {
			t.Errorf("editDistance(%.20q, %q, 2) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
