// Package portal serves the developer portal of minbil-bff at GET /docs: the
// Ratings namespace page rendered from the embedded contract by a pinned,
// embedded copy of the Scalar API Reference (MIT), with code snippets that
// use the base URL of the serving host and a console that sends real
// requests to it.
//
// Every file the page loads is embedded in the binary and served from the
// same origin, so the page works offline; its Content-Security-Policy
// refuses any other host. The vendored renderer is refreshed with
// `make portal-assets`, which copies it from the npm package pinned in
// _web/package-lock.json and rewrites vendor.sha256; a test checks the
// embedded files against that file. (The leading underscore of _web keeps
// the go command out of its node_modules.)
package portal

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
	"gopkg.in/yaml.v3"

	"github.com/minbil/minbil-bff/contracts"
)

// assetFS holds the page, its script and styles, and the vendored renderer.
//
//go:embed assets
var assetFS embed.FS

// vendorSums lists the SHA-256 of every vendored file, as sha256sum writes
// it (paths relative to this directory); `make portal-assets` rewrites it.
//
//go:embed vendor.sha256
var vendorSums []byte

// CSP is the Content-Security-Policy of every /docs answer: scripts, data
// and fonts from the serving origin only. Styles may be inline because the
// renderer injects its stylesheet at run time.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Server kinds shown on the page.
const (
	ServerGateway = "gateway"
	ServerMock    = "mock"
)

// Options configures Mount. The zero value serves the page of a gateway
// without fault-injection controls.
type Options struct {
	// Server is what serves the page, ServerGateway or ServerMock; the page
	// names it in its header. Empty means ServerGateway.
	Server string
	// FaultControls shows the console's fault-injection controls (the
	// mock's `Prefer: code=NNN` and `X-Mock-Delay` headers). Set it only
	// where those headers take effect: the mock with fault headers allowed,
	// or a gateway in front of the built-in mock. false hides them.
	FaultControls bool
	// Control lists routes of the server that are not part of the
	// contract (the mock's /_mock/ control routes); the page lists them.
	// nil lists none.
	Control []Route
	// DevToken is the path of the development identity provider's token
	// shortcut (POST {"sub", "expires_in"} answers an access token); the
	// console then shows a "Get a token" control that fills its Bearer
	// token. Empty means contracts.PathDevToken where the provider is
	// reachable from this origin: always on the mock, and on a gateway that
	// lists the mock's control routes (a development gateway in front of
	// the built-in mock, which passes the provider's routes through with
	// them); never on a gateway without them, as in production.
	DevToken string
}

// devToken is the token shortcut the page offers for opts, or "".
func devToken(opts Options) string {
	if opts.DevToken != "" {
		return opts.DevToken
	}
	if opts.Server == ServerMock || len(opts.Control) > 0 {
		return contracts.PathDevToken
	}
	return ""
}

// Route is one route outside the contract, listed on the page.
type Route struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Summary string `json:"summary"`
}

// pageConfig is what /docs/portal.json tells the page about its server.
type pageConfig struct {
	Server        string  `json:"server"`
	FaultControls bool    `json:"faultControls"`
	Control       []Route `json:"control,omitempty"`
	DevToken      string  `json:"devToken,omitempty"`
	Renderer      string  `json:"renderer"`
}

// Mount registers the portal's routes on r, all GET (Fiber adds HEAD):
// /docs (the page; /docs/ redirects there), /docs/openapi.yaml (the
// embedded contract), /docs/openapi.json (the same as JSON, what the page
// renders), /docs/portal.json (the page's settings) and /docs/assets/*.
func Mount(r fiber.Router, opts Options) {
	if opts.Server == "" {
		opts.Server = ServerGateway
	}
	assets, err := fs.Sub(assetFS, "assets")
	if err != nil {
		// Sub fails only for an invalid path, and "assets" is valid.
		assets = assetFS
	}
	etags := assetETags(assets, vendorSums)
	version, _ := fs.ReadFile(assets, "vendor/scalar/VERSION")
	settings, settingsErr := json.Marshal(pageConfig{
		Server:        opts.Server,
		FaultControls: opts.FaultControls,
		Control:       opts.Control,
		DevToken:      devToken(opts),
		Renderer:      "@scalar/api-reference " + strings.TrimSpace(string(version)),
	})
	specJSON, specErr := toJSON(contracts.Spec())

	r.Get("/docs", func(c *fiber.Ctx) error {
		return sendAsset(c, assets, "index.html", etags)
	})
	r.Get("/docs/", func(c *fiber.Ctx) error {
		secure(c)
		return c.Redirect("/docs", fiber.StatusMovedPermanently)
	})
	r.Get("/docs/openapi.yaml", func(c *fiber.Ctx) error {
		secure(c)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderContentType, "application/yaml")
		return c.Send(contracts.Spec())
	})
	r.Get("/docs/openapi.json", func(c *fiber.Ctx) error {
		if specErr != nil {
			return fmt.Errorf("portal: %w", specErr)
		}
		secure(c)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Send(specJSON)
	})
	r.Get("/docs/portal.json", func(c *fiber.Ctx) error {
		if settingsErr != nil {
			return fmt.Errorf("portal: settings: %w", settingsErr)
		}
		secure(c)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Send(settings)
	})
	r.Get("/docs/assets/*", func(c *fiber.Ctx) error {
		name := c.Params("*")
		if !fs.ValidPath(name) {
			return fiber.ErrNotFound
		}
		return sendAsset(c, assets, name, etags)
	})
}

// secure sets the headers every /docs answer carries, replacing whatever
// the app's middleware set before.
func secure(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentSecurityPolicy, CSP)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// sendAsset answers with an embedded file, or 304 when the client has it.
func sendAsset(c *fiber.Ctx, assets fs.FS, name string, etags map[string]string) error {
	body, err := fs.ReadFile(assets, name)
	if err != nil {
		return fiber.ErrNotFound
	}
	secure(c)
	// no-cache: the browser keeps the file but asks each time, so a new
	// binary's page is never mixed with an old renderer.
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderContentType, contentType(name))
	if tag, ok := etags[name]; ok {
		c.Set(fiber.HeaderETag, tag)
		if c.Get(fiber.HeaderIfNoneMatch) == tag {
			return c.SendStatus(fiber.StatusNotModified)
		}
	}
	return c.Send(body)
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return fiber.MIMETextHTMLCharsetUTF8
	case ".js", ".mjs":
		return fiber.MIMETextJavaScriptCharsetUTF8
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return fiber.MIMETextPlainCharsetUTF8
}

// assetETags returns an ETag for every embedded file: the vendored files'
// come from sums (hashing the renderer at each start would cost more than
// it saves), the small files of our own are hashed here.
func assetETags(assets fs.FS, sums []byte) map[string]string {
	known := parseSums(sums)
	tags := map[string]string{}
	_ = fs.WalkDir(assets, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		sum, ok := known[name]
		if !ok {
			b, rerr := fs.ReadFile(assets, name)
			if rerr != nil {
				return nil
			}
			h := sha256.Sum256(b)
			sum = hex.EncodeToString(h[:])
		}
		tags[name] = `"` + sum[:32] + `"`
		return nil
	})
	return tags
}

// parseSums reads sha256sum output into file (relative to assets/) → hex
// digest. Lines it does not understand are skipped.
func parseSums(sums []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		sum, file, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != sha256.Size*2 {
			continue
		}
		if name, ok := strings.CutPrefix(file, "assets/"); ok {
			out[name] = sum
		}
	}
	return out
}

// toJSON converts the YAML contract to JSON, which the page reads without a
// YAML parser of its own. Keys keep the contract's order (a Go map would
// sort them), so the page lists paths, properties and answers as written.
func toJSON(spec []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("read contract: %w", err)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &doc, 0); err != nil {
		return nil, fmt.Errorf("contract as json: %w", err)
	}
	return buf.Bytes(), nil
}

// maxDepth bounds the nesting writeJSON follows (aliases could loop).
const maxDepth = 100

func writeJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d at line %d", maxDepth, n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("want one document, got %d", len(n.Content))
		}
		return writeJSON(buf, n.Content[0], depth+1)
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias, depth+1)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			key, err := json.Marshal(n.Content[i].Value)
			if err != nil {
				return fmt.Errorf("key at line %d: %w", n.Content[i].Line, err)
			}
			buf.Write(key)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, item, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("value at line %d: %w", n.Line, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("value at line %d: %w", n.Line, err)
		}
		buf.Write(b)
		return nil
	}
	return fmt.Errorf("unexpected YAML node kind %d at line %d", n.Kind, n.Line)
}
