package mock

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/header"
	"github.com/minbil/minbil-bff/contracts/portal"
	"github.com/minbil/minbil-bff/mock/idp"
)

// The mock's control routes live under /_mock/: they are not part of the
// MinBil API, exist only on the mock (standalone or in process), and a
// gateway passes them through only in development (gateway.Dev), so they
// never reach a real upstream. Every one checks guardControl first: a
// request that changes state is JSON or carries X-Mock-Session, and an
// Origin, when sent, is the mock's own or localhost.
const (
	// PathScenarios lists the named scenarios: GET.
	PathScenarios = "/_mock/scenarios"
	// PathScenario sets the caller's scenario: PUT {"name": "many"}.
	PathScenario = "/_mock/scenario"
)

// controlRoute is one control route of the mock.
type controlRoute struct {
	portal.Route
	handler func(*Server) fiber.Handler
}

// controlRoutes is the one table of the control routes: the mock registers
// them, a gateway passes them through and /docs lists them.
var controlRoutes = []controlRoute{
	{portal.Route{Method: fiber.MethodGet, Path: PathBookings, Summary: "The caller's bookings with their state (rated, rateable)."},
		func(s *Server) fiber.Handler { return s.listBookings }},
	{portal.Route{Method: fiber.MethodPost, Path: PathReset, Summary: "Back to the seeded state (204): send {} as application/json; with X-Mock-Session (no body needed), that session only."},
		func(s *Server) fiber.Handler { return s.reset }},
	{portal.Route{Method: fiber.MethodGet, Path: PathScenarios, Summary: "The named scenarios, and the caller's current one."},
		func(s *Server) fiber.Handler { return s.listScenarios }},
	{portal.Route{Method: fiber.MethodPut, Path: PathScenario, Summary: `Sets the caller's scenario in the caller's session: {"name": "many"} (204).`},
		func(s *Server) fiber.Handler { return s.setScenario }},
}

// ControlRoutes lists the mock's control routes (method, path, summary),
// for /docs and for a gateway in front of the mock.
func ControlRoutes() []portal.Route {
	out := make([]portal.Route, len(controlRoutes))
	for i, r := range controlRoutes {
		out[i] = r.Route
	}
	return out
}

// controlPaths are the distinct paths of the control routes.
func controlPaths() []string {
	var out []string
	for _, r := range controlRoutes {
		if !slices.Contains(out, r.Path) {
			out = append(out, r.Path)
		}
	}
	return out
}

// mountControl registers the control routes behind guardControl, and
// answers another method on their paths with 405 and Allow.
func (s *Server) mountControl(app *fiber.App) {
	for _, r := range controlRoutes {
		app.Add(r.Method, r.Path, guardControl, r.handler(s))
	}
	for _, path := range controlPaths() {
		var allow []string
		for _, r := range controlRoutes {
			if r.Path == path {
				allow = append(allow, r.Method)
			}
		}
		app.Use(path, func(c *fiber.Ctx) error {
			if c.Path() != path {
				return c.Next()
			}
			return methodNotAllowed(strings.Join(allow, ", "))
		})
	}
}

// guardControl refuses a control request that a page on another site
// could have made a browser send (R3-F14: a cross-site form or a no-cors
// fetch posting text/plain to /_mock/reset wiped the mock's state, and
// through a development gateway too).
//
// A request that changes state (any method but GET and HEAD) must carry
// Content-Type: application/json or an X-Mock-Session header. Neither is
// a CORS "simple request", so a browser sends it cross-origin only after a
// preflight, which the mock answers for no control route and a gateway
// answers only for its configured origins. A gateway relays a JSON body
// with its media type and X-Mock-Session as it came, so the same rule
// holds through it; it relays no Origin, its CORS is the check there.
//
// Any request with an Origin header must also come from the mock's own
// host or from localhost (LocalOrigin): curl and test clients send no
// Origin, the mock's /docs page is same-origin, a frontend's dev server
// runs on localhost. The OAuth token endpoint is not a control route:
// RFC 6749 clients post forms to it from other origins.
func guardControl(c *fiber.Ctx) error {
	h := &c.Request().Header
	if origin := string(h.Peek(fiber.HeaderOrigin)); origin != "" && !idp.LocalOrigin(origin) && !sameHost(origin, string(h.Host())) {
		return newAPIError(http.StatusForbidden, contracts.CodeForbidden,
			"Control requests from a page on another site are refused: send them from this mock's own pages, from localhost, or without an Origin (curl, test clients).")
	}
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return c.Next()
	}
	if header.JSONBody(string(h.ContentType()), string(h.ContentEncoding())) == nil || len(h.PeekAll(HeaderSession)) > 0 {
		return c.Next()
	}
	return newAPIError(http.StatusUnsupportedMediaType, contracts.CodeUnsupportedMedia,
		"A control request that changes state needs Content-Type: application/json with a JSON body ({} will do) or an X-Mock-Session header: a page on another site cannot send either without CORS consent.")
}

// sameHost reports whether origin (scheme://host[:port]) names host, the
// request's Host. The scheme is not compared: behind a TLS-terminating
// proxy the mock cannot tell which one the page used.
func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && host != "" && u.Host != "" && u.Path == "" && strings.EqualFold(u.Host, host)
}
