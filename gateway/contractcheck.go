package gateway

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

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
	answers := newAnswerCheck(g.log.Named("contract-check"), "gateway answer breaks the contract")
	return func(c *fiber.Ctx) error {
		if err := c.Next(); err != nil {
			// Write the error answer now so that it is checked too; the
			// request's first middleware then sees no error.
			if herr := g.errorHandler(c, err); herr != nil {
				return herr
			}
		}
		res := &c.Response().Header
		status := c.Response().StatusCode()
		key := answers.passed.key(c.Method()+" "+c.Route().Path, status, string(res.ContentType()),
			string(res.Peek(fiber.HeaderRetryAfter))+"\x00"+string(res.Peek(fiber.HeaderWWWAuthenticate)), c.Response().Body())
		if answers.known(key) {
			c.Set(HeaderContractCheck, "ok")
			return nil
		}
		err := g.validateAnswer(c)
		switch ve := answers.record(key, status, err); {
		case ve != nil:
			c.Set(HeaderContractCheck, "violations="+strconv.Itoa(len(ve.Violations)))
		case err == nil:
			c.Set(HeaderContractCheck, "ok")
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
