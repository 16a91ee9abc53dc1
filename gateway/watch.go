package gateway

import (
	"context"
	"errors"
	"hash/maphash"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// HeaderContractCheck carries the verdict of checking the gateway's own
// answer against the contract ("ok" or "violations=N"), with Dev.ContractCheck.
const HeaderContractCheck = "X-Contract-Check"

// verdictSlots is the number of passed answers a watch remembers (a power
// of two): 4096 slots of 8 bytes.
const verdictSlots = 1 << 12

// seenKindsMax bounds the kinds of violation a watch remembers having
// logged.
const seenKindsMax = 1000

// watch checks answers against the contract: the upstream's (the drift
// watch) or the gateway's own (X-Contract-Check in development).
//
// An answer byte-identical to one that passed is not validated again: it
// is remembered by a keyed 64-bit hash of everything validation reads, with
// a random seed per process so an upstream cannot aim for a collision, in a
// direct-mapped, lock-free table where a newer answer evicts the one in its
// slot. A violating answer is validated every time, and each kind of
// violation (operation, where, problem) is logged once, so a recurring
// problem does not flood the log. Build it with newWatch.
type watch struct {
	contract *contracts.Contract
	log      *zap.Logger
	message  string

	seed   maphash.Seed
	passed [verdictSlots]atomic.Uint64

	mu   sync.Mutex
	seen map[string]struct{}
}

func newWatch(c *contracts.Contract, log *zap.Logger, message string) *watch {
	return &watch{contract: c, log: log, message: message, seed: maphash.MakeSeed(), seen: map[string]struct{}{}}
}

// reply is what validating one answer reads.
type reply struct {
	method, uri string
	status      int
	// header holds the values of checkedHeaders, in their order; an
	// http.Header is built from them only when the answer is validated, so
	// an answer that passed before costs no allocation.
	header [len(checkedHeaders)]string
	body   []byte
}

// httpHeader is r's headers as validation reads them.
func (r reply) httpHeader() http.Header {
	h := http.Header{}
	for i, name := range checkedHeaders {
		if r.header[i] != "" {
			h.Set(name, r.header[i])
		}
	}
	return h
}

// Check validates a unless an identical answer passed before. It returns
// the violations (nil when the answer passed), and checked false when the
// answer addresses no operation of the contract (the docs, health checks,
// preflights).
func (w *watch) Check(ctx context.Context, a reply) (ve *contracts.ValidationError, checked bool) {
	key := w.key(a)
	if w.passed[key&(verdictSlots-1)].Load() == key {
		return nil, true
	}
	req, err := http.NewRequestWithContext(ctx, a.method, a.uri, nil)
	if err != nil {
		return nil, false
	}
	err = w.contract.ValidateResponse(ctx, req, a.status, a.httpHeader(), a.body)
	if err == nil {
		w.passed[key&(verdictSlots-1)].Store(key)
		return nil, true
	}
	if !errors.As(err, &ve) {
		return nil, false
	}
	for _, v := range ve.Violations {
		if w.first(ve.Operation + " " + v.Where + " " + v.Problem) {
			w.log.Warn(w.message, zap.String("operation", ve.Operation), zap.Int("status", a.status),
				zap.String("where", v.Where), zap.String("problem", v.Problem))
		}
	}
	return ve, true
}

// key hashes everything validation reads of a; it is never 0, the value of
// an empty slot.
func (w *watch) key(a reply) uint64 {
	var h maphash.Hash
	h.SetSeed(w.seed)
	var num [20]byte
	_, _ = h.WriteString(a.method)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(a.uri)
	_ = h.WriteByte(0)
	_, _ = h.Write(strconv.AppendInt(num[:0], int64(a.status), 10))
	_ = h.WriteByte(0)
	// X-Request-ID (the last) is left out: it differs on every answer, and
	// the gateway always sets it.
	for _, v := range a.header[:len(checkedHeaders)-1] {
		_, _ = h.WriteString(v)
		_ = h.WriteByte(0)
	}
	_, _ = h.Write(a.body)
	return h.Sum64() | 1
}

// checkedHeaders are the answer headers the contract names; the request
// id comes last.
var checkedHeaders = [...]string{fiber.HeaderContentType, fiber.HeaderRetryAfter, fiber.HeaderWWWAuthenticate, fiber.HeaderXRequestID}

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

// upstreamAnswer is what the drift watch checks of an upstream answer to r.
func upstreamAnswer(r upstream.Request, resp *upstream.Response) reply {
	a := reply{method: r.Method, uri: r.Path, status: resp.Status, body: resp.Body}
	a.header[0], a.header[1] = resp.ContentType, resp.RetryAfter
	return a
}

// ownAnswer is the answer the gateway wrote to c.
func ownAnswer(c *fiber.Ctx) reply {
	res := c.Response()
	a := reply{method: c.Method(), uri: string(c.Request().URI().RequestURI()), status: res.StatusCode(), body: res.Body()}
	for i, name := range checkedHeaders {
		a.header[i] = string(res.Header.Peek(name))
	}
	return a
}

// checkOwn validates the answer written to c and reports the verdict in
// X-Contract-Check; answers to paths outside the contract carry none.
func (g *Gateway) checkOwn(c *fiber.Ctx) {
	switch ve, checked := g.own.Check(c.UserContext(), ownAnswer(c)); {
	case !checked:
	case ve != nil:
		c.Set(HeaderContractCheck, "violations="+strconv.Itoa(len(ve.Violations)))
	default:
		c.Set(HeaderContractCheck, "ok")
	}
}
