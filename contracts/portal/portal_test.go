package portal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"gopkg.in/yaml.v3"

	"github.com/minbil/minbil-bff/contracts"
)

// The embedded vendored files are exactly the ones vendor.sha256 lists,
// byte for byte, and every vendored file is listed.
func TestVendoredFilesMatchChecksums(t *testing.T) {
	sums := parseSums(vendorSums)
	if len(sums) == 0 {
		t.Fatal("vendor.sha256 lists no file")
	}
	for name, want := range sums {
		b, err := fs.ReadFile(assetFS, "assets/"+name)
		if err != nil {
			t.Errorf("vendor.sha256 lists %s, which is not embedded: %v", name, err)
			continue
		}
		h := sha256.Sum256(b)
		if got := hex.EncodeToString(h[:]); got != want {
			t.Errorf("sha256(%s) = %s, want %s (run make portal-assets, or restore the file)", name, got, want)
		}
	}
	err := fs.WalkDir(assetFS, "assets/vendor", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, ok := sums[strings.TrimPrefix(p, "assets/")]; !ok {
			t.Errorf("%s is vendored but not in vendor.sha256", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The embedded renderer is the version pinned in _web/package.json and
// locked in _web/package-lock.json.
func TestVendoredVersionIsThePinnedOne(t *testing.T) {
	const pkg = "@scalar/api-reference"
	version, err := fs.ReadFile(assetFS, "assets/vendor/scalar/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	embedded := strings.TrimSpace(string(version))

	var manifest struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	readJSON(t, "_web/package.json", &manifest)
	if got := manifest.DevDependencies[pkg]; got != embedded {
		t.Errorf("_web/package.json pins %s %q, the embedded copy is %q", pkg, got, embedded)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	readJSON(t, "_web/package-lock.json", &lock)
	if got := lock.Packages["node_modules/"+pkg].Version; got != embedded {
		t.Errorf("_web/package-lock.json locks %s %q, the embedded copy is %q", pkg, got, embedded)
	}
}

func readJSON(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

var externalURL = regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`)

// The page and our own scripts name no other host: everything loads from
// /docs on the serving origin (the browser test checks the same at run
// time, including what the renderer does).
func TestPageLoadsNothingFromElsewhere(t *testing.T) {
	for _, name := range []string{"assets/index.html", "assets/portal.js", "assets/snippets.js", "assets/portal.css"} {
		b, err := fs.ReadFile(assetFS, name)
		if err != nil {
			t.Fatal(err)
		}
		if m := externalURL.Find(b); m != nil {
			t.Errorf("%s loads %q from another host", name, m)
		}
		if bytes.Contains(b, []byte("https://")) || bytes.Contains(b, []byte("http://")) {
			t.Errorf("%s names an absolute URL", name)
		}
	}
}

func newApp(opts Options) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, StrictRouting: true, CaseSensitive: true})
	Mount(app, opts)
	return app
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, app *fiber.App, path string, header http.Header) result {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{status: res.StatusCode, header: res.Header, body: b}
}

func TestMountRoutes(t *testing.T) {
	app := newApp(Options{Server: ServerMock, FaultControls: true})
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{name: "page", path: "/docs", wantStatus: 200, wantType: "text/html", wantBody: `<script type="module" src="/docs/assets/portal.js">`},
		{name: "trailing slash", path: "/docs/", wantStatus: 301},
		{name: "contract yaml", path: "/docs/openapi.yaml", wantStatus: 200, wantType: "application/yaml", wantBody: "openapi: 3.0.3"},
		{name: "contract json", path: "/docs/openapi.json", wantStatus: 200, wantType: "application/json", wantBody: `"openapi":"3.0.3"`},
		{name: "settings", path: "/docs/portal.json", wantStatus: 200, wantType: "application/json", wantBody: `"server":"mock","faultControls":true`},
		{name: "script", path: "/docs/assets/portal.js", wantStatus: 200, wantType: "text/javascript", wantBody: "createApiReference"},
		{name: "renderer", path: "/docs/assets/vendor/scalar/standalone.js", wantStatus: 200, wantType: "text/javascript"},
		{name: "styles", path: "/docs/assets/portal.css", wantStatus: 200, wantType: "text/css"},
		{name: "icon", path: "/docs/assets/favicon.svg", wantStatus: 200, wantType: "image/svg+xml"},
		{name: "licence", path: "/docs/assets/vendor/scalar/LICENSE", wantStatus: 200, wantType: "text/plain", wantBody: "MIT License"},
		{name: "unknown asset", path: "/docs/assets/nope.js", wantStatus: 404},
		{name: "escape attempt", path: "/docs/assets/..%2f..%2fportal.go", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, app, tt.path, nil)
			if r.status != tt.wantStatus {
				t.Fatalf("GET %s = %d, want %d", tt.path, r.status, tt.wantStatus)
			}
			if r.status == 404 {
				return
			}
			if got := r.header.Get("Content-Security-Policy"); got != CSP {
				t.Errorf("GET %s Content-Security-Policy = %q, want %q", tt.path, got, CSP)
			}
			if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, tt.wantType) {
				t.Errorf("GET %s Content-Type = %q, want %s", tt.path, got, tt.wantType)
			}
			if !bytes.Contains(r.body, []byte(tt.wantBody)) {
				t.Errorf("GET %s body does not contain %q", tt.path, tt.wantBody)
			}
		})
	}
}

func TestAssetsRevalidate(t *testing.T) {
	app := newApp(Options{})
	for _, path := range []string{"/docs", "/docs/assets/portal.js", "/docs/assets/vendor/scalar/standalone.js"} {
		first := get(t, app, path, nil)
		tag := first.header.Get("ETag")
		if tag == "" || first.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: ETag %q, Cache-Control %q, want an ETag and no-cache", path, tag, first.header.Get("Cache-Control"))
			continue
		}
		if again := get(t, app, path, http.Header{"If-None-Match": {tag}}); again.status != http.StatusNotModified || len(again.body) != 0 {
			t.Errorf("GET %s with If-None-Match = %d (%d bytes), want 304 and no body", path, again.status, len(again.body))
		}
	}
}

func TestSettingsDefaults(t *testing.T) {
	r := get(t, newApp(Options{}), "/docs/portal.json", nil)
	var got pageConfig
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Server != ServerGateway || got.FaultControls || !strings.HasPrefix(got.Renderer, "@scalar/api-reference ") {
		t.Errorf("settings of Options{} = %+v, want a gateway without fault controls", got)
	}
}

// /docs/openapi.json is the embedded contract, value for value, with its
// keys in the contract's order.
func TestContractAsJSON(t *testing.T) {
	out, err := toJSON(contracts.Spec())
	if err != nil {
		t.Fatal(err)
	}
	var fromYAML any
	if err := yaml.Unmarshal(contracts.Spec(), &fromYAML); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("toJSON gave invalid JSON: %v", err)
	}
	if err := json.Unmarshal(want, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("toJSON(contract) differs from the contract")
	}
	order := []string{`"/api/co/profile/check-username"`, `"/api/co/rating"`, `"/api/co/rating/rate/{booking_id}"`,
		`"service_rating"`, `"service_rating_message"`, `"private_service_rating"`}
	last := -1
	for _, key := range order[:3] {
		i := bytes.Index(out, []byte(key))
		if i <= last {
			t.Errorf("%s is out of the contract's order", key)
		}
		last = i
	}
	rate := bytes.Index(out, []byte(`"RateRequest"`))
	rate += bytes.Index(out[rate:], []byte(`"properties"`))
	last = rate
	for _, key := range order[3:] {
		i := bytes.Index(out[rate:], []byte(key)) + rate
		if i <= last {
			t.Errorf("RateRequest property %s is out of the contract's order", key)
		}
		last = i
	}
}

func TestToJSONRefusesBrokenInput(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{name: "not YAML", in: "a: [b"},
		{name: "alias loop", in: "a: &x [*x]\n"},
	}
	for _, tt := range tests {
		if out, err := toJSON([]byte(tt.in)); err == nil {
			t.Errorf("toJSON(%s) = %s, want an error", tt.name, out)
		}
	}
}
