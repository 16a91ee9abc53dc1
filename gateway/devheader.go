package gateway

import (
	"errors"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/header"
)

// checksMockSession reports whether this gateway forwards the mock's
// X-Mock-Session (a development gateway in front of the built-in mock),
// and so must read it by the mock's rule.
func (g *Gateway) checksMockSession() bool {
	return slices.Contains(g.dev.ForwardHeaders, header.MockSessionName)
}

// checkMockSession refuses, in the mock's words, an X-Mock-Session the
// mock would refuse, on every route and before anything reads or forwards
// it, as the mock does. Without it an empty value was dropped on the way
// (forwarded passes only non-empty values) and the request acted in the
// default world; a repeated one was forwarded as its first value.
func checkMockSession(c *fiber.Ctx) error {
	_, err := header.MockSession(header.Values(&c.Request().Header, header.MockSessionName))
	var ref *header.Refusal
	if errors.As(err, &ref) {
		return badRequest(contracts.CodeBadRequest, ref.Message)
	}
	if err != nil {
		return err
	}
	return c.Next()
}
