package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
)

// HeaderContractCheck carries the verdict of checking the gateway's own
// answer against the contract ("ok" or "violations=N"), with Dev.ContractCheck.
const HeaderContractCheck = "X-Contract-Check"

// seenKindsMax bounds the kinds of violation a watch remembers having
// logged.
const seenKindsMax = 1000

// watch reports answers that break the contract: the upstream's (the drift
// watch) or the gateway's own (X-Contract-Check in development). Each kind
// of violation (operation, where, problem) is logged once, so a recurring
// problem does not flood the log; it never quotes a value. Verdicts are
// remembered by the memo of the answers, not here. Build it with newWatch.
type watch struct {
	log     *zap.Logger
	message string

	mu   sync.Mutex
	seen map[string]struct{}
}

func newWatch(log *zap.Logger, message string) *watch {
	return &watch{log: log, message: message, seen: map[string]struct{}{}}
}

// report logs each new kind of violation of ve and returns how many
// violations it holds: 0 when err is nil or not a *contracts.ValidationError.
func (w *watch) report(err error, status int) int {
	var ve *contracts.ValidationError
	if !errors.As(err, &ve) {
		return 0
	}
	for _, v := range ve.Violations {
		if w.first(ve.Operation + " " + v.Where + " " + v.Problem) {
			w.log.Warn(w.message, zap.String("operation", ve.Operation), zap.Int("status", status),
				zap.String("where", v.Where), zap.String("problem", v.Problem))
		}
	}
	return len(ve.Violations)
}

// first reports whether kind is new; once seenKindsMax kinds are held,
// every unknown kind is reported as not new, so memory stays bounded.
func (w *watch) first(kind string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.seen[kind]; ok || len(w.seen) >= seenKindsMax {
		return false
	}
	w.seen[kind] = struct{}{}
	return true
}

// checkOwn validates the answer written to c and reports the verdict in
// X-Contract-Check; answers to paths outside the contract carry none. An
// answer byte-identical to one checked before is not checked again.
func (g *Gateway) checkOwn(c *fiber.Ctx) {
	res := c.Response()
	k := answerKey{op: c.Method() + " " + string(c.Request().URI().RequestURI()), status: res.StatusCode(), body: res.Body()}
	for i, name := range checkedHeaders {
		k.header[i] = string(res.Header.Peek(name))
	}
	now := stateOf(c).start
	j := g.ownVerdicts.get(&k, now)
	if j == nil {
		j = &judged{key: k}
		var ok bool
		if j.violations, ok = g.validateOwn(c, &k); !ok {
			return
		}
		j.key.body = append([]byte(nil), k.body...) // fasthttp reuses the response's buffer
		g.ownVerdicts.put(j, now)
	}
	if j.violations > 0 {
		c.Set(HeaderContractCheck, "violations="+strconv.Itoa(j.violations))
		return
	}
	c.Set(HeaderContractCheck, "ok")
}

// validateOwn validates the gateway's answer k to c; ok is false when the
// request addresses no operation of the contract (the docs, health checks,
// preflights).
func (g *Gateway) validateOwn(c *fiber.Ctx, k *answerKey) (violations int, ok bool) {
	req, err := http.NewRequestWithContext(c.UserContext(), c.Method(), string(c.Request().URI().RequestURI()), nil)
	if err != nil {
		return 0, false
	}
	h := http.Header{}
	for i, name := range checkedHeaders {
		if k.header[i] != "" {
			h.Set(name, k.header[i])
		}
	}
	h.Set(fiber.HeaderXRequestID, string(c.Response().Header.Peek(fiber.HeaderXRequestID)))
	err = g.contract.ValidateResponse(c.UserContext(), req, k.status, h, k.body)
	if errors.Is(err, contracts.ErrNoOperation) {
		return 0, false
	}
	return g.own.report(err, k.status), true
}

// checkDrift checks an upstream answer against the contract and reports
// the number of violations; each kind is logged once.
func (g *Gateway) checkDrift(ctx context.Context, a contracts.Answer) int {
	return g.drift.report(g.contract.CheckAnswer(ctx, a), a.Status)
}
