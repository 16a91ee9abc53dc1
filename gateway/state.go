package gateway

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/trace"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// reqState is what the middleware and handlers of one request share, kept
// in the Fiber context's locals under stateKey.
type reqState struct {
	// start is when the request was read: the time of everything it
	// does (the upstream call's fetched time, the memo's age).
	start          time.Time
	requestID      string
	operation      string
	identity       auth.Identity
	upstreamStatus int
	cache          string
	errCode        string
	cause          error
	// span is the request's server span (startRequest); nil before begin.
	span trace.Span
	// trace is span's context, for the access log; not valid when the
	// request is in no trace.
	trace trace.SpanContext
	// answers are the upstream answers the request holds room for in the
	// in-flight budget, given back by release; a request makes one upstream
	// call, two at most (a retried submission), so they fit in place.
	answers [2]*upstream.Response
	more    []*upstream.Response
}

// hold keeps resp's room in the in-flight budget until release.
func (rs *reqState) hold(resp *upstream.Response) {
	switch {
	case resp == nil:
	case rs.answers[0] == nil:
		rs.answers[0] = resp
	case rs.answers[1] == nil:
		rs.answers[1] = resp
	default:
		rs.more = append(rs.more, resp)
	}
}

// release gives back the room of the answers the request held.
func (rs *reqState) release() {
	for _, r := range append(rs.answers[:], rs.more...) {
		r.Done()
	}
	rs.answers, rs.more = [2]*upstream.Response{}, nil
}

type stateKeyType struct{}

var stateKey = stateKeyType{}

// stateOf returns the request's state, creating it when a request fails
// before the first middleware ran (fasthttp-level errors).
func stateOf(c *fiber.Ctx) *reqState {
	if rs, ok := c.Locals(stateKey).(*reqState); ok {
		return rs
	}
	rs := &reqState{operation: "other", start: c.Context().Time()}
	rs.requestID = contracts.RequestID(string(c.Request().Header.Peek(fiber.HeaderXRequestID)))
	c.Locals(stateKey, rs)
	return rs
}
