package gateway

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
)

// HeaderContractCheck carries the verdict of checking an answer against the
// contract: "ok" or "violations=N".
const HeaderContractCheck = "X-Contract-Check"

// contractCheck returns the middleware that validates every answer of the
// gateway to a contract operation against the contract and sets
// X-Contract-Check, so the docs console and the browser's dev tools show
// drift at a glance. It is registered only with the built-in mock upstream
// (development): it costs a validation per answer. Each kind of violation
// is logged once. Answers to other paths carry no verdict.
func (g *Gateway) contractCheck() fiber.Handler {
	seen := newSeenKinds(1000)
	passed := newVerdicts()
	log := g.log.Named("contract-check")
	return func(c *fiber.Ctx) error {
		if err := c.Next(); err != nil {
			// Write the error answer now so that it is checked too; the
			// request's first middleware then sees no error.
			if herr := g.errorHandler(c, err); herr != nil {
				return herr
			}
		}
		// An answer byte-identical to one that passed (the same list, the
		// same username answer) is not validated again.
		res := &c.Response().Header
		key := passed.key(c.Method()+" "+c.Route().Path, c.Response().StatusCode(), string(res.ContentType()),
			string(res.Peek(fiber.HeaderRetryAfter))+"\x00"+string(res.Peek(fiber.HeaderWWWAuthenticate)), c.Response().Body())
		if passed.passed(key) {
			c.Set(HeaderContractCheck, "ok")
			return nil
		}
		verr := g.validateAnswer(c)
		if verr == nil {
			passed.pass(key)
		}
		var ve *contracts.ValidationError
		switch {
		case verr == nil:
			c.Set(HeaderContractCheck, "ok")
		case errors.As(verr, &ve):
			c.Set(HeaderContractCheck, "violations="+strconv.Itoa(len(ve.Violations)))
			for _, v := range ve.Violations {
				if seen.first(ve.Operation + " " + v.Where + " " + v.Problem) {
					log.Warn("gateway answer breaks the contract", zap.String("operation", ve.Operation),
						zap.Int("status", c.Response().StatusCode()), zap.String("where", v.Where), zap.String("problem", v.Problem))
				}
			}
		}
		return nil
	}
}

// validateAnswer checks the answer written to c against the operation the
// request addressed. It returns contracts.ErrNoOperation for requests that
// address none (the docs, health checks, preflights).
func (g *Gateway) validateAnswer(c *fiber.Ctx) error {
	req, err := http.NewRequestWithContext(c.UserContext(), c.Method(), string(c.Request().URI().RequestURI()), nil)
	if err != nil {
		return contracts.ErrNoOperation
	}
	res := c.Response()
	header := http.Header{}
	res.Header.VisitAll(func(k, v []byte) { header.Add(string(k), string(v)) })
	return g.contract.ValidateResponse(c.UserContext(), req, res.StatusCode(), header, res.Body())
}
