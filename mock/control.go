package mock

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/minbil/minbil-bff/contracts/portal"
)

// The mock's control routes live under /_mock/: they are not part of the
// MinBil API, exist only on the mock (standalone or in process), and a
// gateway passes them through only in development (gateway.Dev), so they
// never reach a real upstream.
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
	{portal.Route{Method: fiber.MethodPost, Path: PathReset, Summary: "Back to the seeded state (204); with X-Mock-Session, that session only."},
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

// mountControl registers the control routes, and answers another method
// on their paths with 405 and Allow.
func (s *Server) mountControl(app *fiber.App) {
	for _, r := range controlRoutes {
		app.Add(r.Method, r.Path, r.handler(s))
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
