package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/header"
	"github.com/minbil/minbil-bff/gateway/idempotency"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// opPassThrough names Dev.PassThrough routes in logs and metrics.
const opPassThrough = "passThrough"

// checkUsername answers rule-breaking names itself, serves cached answers
// per caller, and coalesces concurrent misses into one upstream call.
func (g *Gateway) checkUsername(c *fiber.Ctx) error {
	rs := stateOf(c)
	values := c.Context().QueryArgs().PeekMulti("username")
	switch {
	case len(values) == 0 || len(values[0]) == 0:
		return badRequest(contracts.CodeUsernameRequired, "The username query parameter is required.")
	case len(values) > 1:
		return badRequest(contracts.CodeUsernameAmbiguous, "Give the username query parameter once.")
	}
	name := string(values[0]) // a copy: it outlives the request in the cache
	if ok, msg := g.rules.Check(name); !ok {
		return g.writeUsername(c, contracts.UsernameCheck{Username: name, Available: false, Message: msg})
	}
	if fwd := g.forwarded(c); len(fwd) > 0 {
		// A forwarded header (an injected fault) is for this request
		// alone: not cached, not shared.
		answer, err := g.fetchUsername(c.UserContext(), rs, name, fwd)
		if err != nil {
			return err
		}
		answer.Username = name
		return g.writeUsername(c, answer)
	}
	key := rs.identity.Subject + "\x00" + g.rules.Key(name)
	ctx, span := g.startSpan(c.UserContext(), "username cache")
	answer, hit, err := g.usernames.Get(ctx, key, func(ctx context.Context) (contracts.UsernameCheck, error) {
		return g.fetchUsername(ctx, rs, name, nil)
	})
	g.endCacheSpan(span, hit, err)
	if err != nil {
		return err
	}
	rs.cache = "MISS"
	counter := g.metrics.cacheMiss
	if hit {
		rs.cache, counter = "HIT", g.metrics.cacheHit
	}
	counter.Inc()
	c.Set("X-Cache", rs.cache)
	answer.Username = name
	return g.writeUsername(c, answer)
}

func (g *Gateway) fetchUsername(ctx context.Context, rs *reqState, name string, fwd []upstream.Header) (contracts.UsernameCheck, error) {
	_, j, err := g.forward(ctx, rs, upstream.Request{
		Operation: contracts.OpCheckUsername,
		Method:    fiber.MethodGet,
		Path:      contracts.PathCheckUsername,
		Query:     url.Values{"username": {name}}.Encode(),
		Forward:   fwd,
		Uncounted: g.asksFault(fwd),
	})
	if err != nil {
		return contracts.UsernameCheck{}, err
	}
	return usernameAnswer(j.value)
}

// usernameAnswer reads a cleaned check-username answer: without a boolean
// "available" there is no answer to give; an absent one is false.
func usernameAnswer(v any) (contracts.UsernameCheck, error) {
	var out contracts.UsernameCheck
	m, ok := v.(map[string]any)
	if !ok {
		return out, fmt.Errorf("%w: username answer: not a JSON object", upstream.ErrBadResponse)
	}
	if out.Available, ok = orZero[bool](m["available"]); !ok {
		return out, fmt.Errorf("%w: username answer: field \"available\" is not a boolean", upstream.ErrBadResponse)
	}
	if out.Message, ok = orZero[string](m["message"]); !ok {
		return out, fmt.Errorf("%w: username answer: field \"message\" is not a string", upstream.ErrBadResponse)
	}
	return out, nil
}

// orZero is v as a T; an absent v (nil) is T's zero value, a v of another
// type is not ok.
func orZero[T any](v any) (T, bool) {
	if v == nil {
		var zero T
		return zero, true
	}
	t, ok := v.(T)
	return t, ok
}

// listRatings forwards the list and answers with the allow-listed fields of
// a well-formed upstream answer only. The answer is kept as the caller's
// last good list, served while the upstream fails (staleList); one to a
// request with a forwarded fault header is not kept (staleKey).
func (g *Gateway) listRatings(c *fiber.Ctx) error {
	rs := stateOf(c)
	fwd := g.forwarded(c)
	fetched := g.lastGood.Now()
	_, j, err := g.forward(c.UserContext(), rs, upstream.Request{
		Operation: contracts.OpListRatings,
		Method:    fiber.MethodGet,
		Path:      contracts.PathRatings,
		Forward:   fwd,
		Uncounted: g.asksFault(fwd),
	})
	if err != nil {
		return g.staleList(c, rs, err)
	}
	if key, faults := staleKey(rs.identity.Subject, fwd); !faults {
		g.lastGood.Put(key, fetched, j.clean, j.id)
	}
	return g.write(c, fiber.StatusOK, j.clean)
}

// rateBooking validates the submission strictly, re-serialises it from the
// typed struct (the upstream sees exactly what was validated) and forwards
// it once: a POST is never retried by the gateway. With an Idempotency-Key
// the outcome is recorded per caller and replayed to a retry.
func (g *Gateway) rateBooking(c *fiber.Ctx) error {
	rs := stateOf(c)
	id, err := contracts.ParseBookingID(c.Params("booking_id"))
	if err != nil {
		return badRequest(contracts.CodeInvalidBookingID, contracts.InvalidBookingIDMessage)
	}
	if err := checkJSONRequest(c); err != nil {
		return err
	}
	req, err := contracts.DecodeRateRequest(c.Request().Body(), g.ratings)
	if err != nil {
		return rateRequestError(err)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode rating: %w", err)
	}
	sub := submission{bookingID: id, body: body, forward: g.forwarded(c)}
	key, err := header.IdempotencyKey(header.Values(&c.Request().Header, header.IdempotencyKeyName))
	switch {
	case errors.Is(err, header.ErrIdempotencyKeyRepeated):
		return badRequest(contracts.CodeBadRequest, "Give the Idempotency-Key header once.")
	case err != nil:
		return badRequest(contracts.CodeBadRequest, "Idempotency-Key must be 1–255 visible ASCII characters.")
	case key == "":
		return g.submitOnce(c, rs, sub)
	}
	sub.idempotencyKey = key
	return g.submitIdempotent(c, rs, sub)
}

// submission is a validated rating on its way upstream.
type submission struct {
	bookingID      int64
	body           []byte
	idempotencyKey string
	forward        []upstream.Header
}

func (g *Gateway) submitOnce(c *fiber.Ctx, rs *reqState, sub submission) error {
	out, err := g.submit(c.UserContext(), rs, sub)
	if err != nil {
		return err
	}
	return g.write(c, out.Status, out.Body)
}

// submitIdempotent claims the caller's key, replays a recorded outcome, or
// submits and records the outcome when it is final (idempotency.Final: 2xx,
// or a refusal that describes the request). Anything else (timeout, breaker
// open, 5xx, 408, 429, another request in flight) releases the key so the
// client can retry.
func (g *Gateway) submitIdempotent(c *fiber.Ctx, rs *reqState, sub submission) error {
	ctx := c.UserContext()
	slot := idempotency.NewSlot(g.callerKey(c, rs), sub.idempotencyKey,
		append(strconv.AppendInt(nil, sub.bookingID, 10), sub.body...))
	replay, err := g.idem.Begin(ctx, slot)
	switch {
	case errors.Is(err, idempotency.ErrInFlight):
		return &apiError{status: fiber.StatusConflict, code: contracts.CodeIdempotencyInFlight,
			message: "A request with this Idempotency-Key is still in flight; retry later."}
	case errors.Is(err, idempotency.ErrKeyReused):
		return &apiError{status: fiber.StatusUnprocessableEntity, code: contracts.CodeIdempotencyReused,
			message: "This Idempotency-Key was used with another request."}
	case errors.Is(err, idempotency.ErrFull):
		// Nothing held is dropped for a new key (R3-F10): room comes back
		// as claims end, within a request's time, or records expire.
		g.metrics.storeFull[storeIdempotency].Inc()
		return &apiError{status: fiber.StatusServiceUnavailable, code: contracts.CodeUnavailable, retryAfter: g.requestBound(),
			message: "Too many submissions are held; retry later.", cause: err}
	case err != nil:
		return &apiError{status: fiber.StatusServiceUnavailable, code: contracts.CodeUnavailable, retryAfter: time.Second,
			message: "Idempotent submissions are unavailable right now; retry later.", cause: err}
	case replay != nil:
		c.Set("Idempotent-Replayed", "true")
		return g.write(c, replay.Status, replay.Body)
	}
	out, err := g.submit(ctx, rs, sub)
	var ae *apiError
	if err != nil && !(errors.As(err, &ae) && ae.upstream && idempotency.Final(ae.status, ae.code)) {
		if aerr := g.idem.Abandon(ctx, slot); aerr != nil {
			g.log.Warn("release idempotency key", zap.String("request_id", rs.requestID), zap.Error(aerr))
		}
		return err
	}
	if err != nil {
		out = idempotency.Outcome{Status: ae.status, Body: g.errorBody(rs, ae)}
	}
	if ferr := g.idem.Finish(ctx, slot, out); ferr != nil {
		g.outcomeNotStored(rs, ferr)
	}
	if err != nil {
		return err
	}
	return g.write(c, out.Status, out.Body)
}

// outcomeNotStored reports an outcome the store did not take: it waits in
// this process and is written when the store answers (R3-F1), or, when too
// many wait already, it is lost.
func (g *Gateway) outcomeNotStored(rs *reqState, err error) {
	if errors.Is(err, idempotency.ErrPending) {
		g.log.Warn("idempotency outcome waits for the store", zap.String("request_id", rs.requestID), zap.Error(err))
		return
	}
	if errors.Is(err, idempotency.ErrLost) {
		g.metrics.outcomesLost.Inc()
	}
	g.log.Error("idempotency outcome not recorded", zap.String("request_id", rs.requestID), zap.Error(err))
}

// callerKey scopes idempotency keys: the caller's identity, or for an
// anonymous caller its client IP; in development also the forwarded
// headers, so that two X-Mock-Session worlds never share a record.
func (g *Gateway) callerKey(c *fiber.Ctx, rs *reqState) string {
	key := "ip:" + g.clientIP(c)
	if rs.identity.Subject != "" {
		key = "sub:" + rs.identity.Subject
	}
	for _, h := range g.forwarded(c) {
		key += "\x00" + h.Name + "=" + h.Value
	}
	return key
}

// submit sends the rating upstream and renders the answer. A rating that
// may have been stored drops the caller's kept list, so a stale answer
// never shows them a list without the rating they just made.
func (g *Gateway) submit(ctx context.Context, rs *reqState, sub submission) (idempotency.Outcome, error) {
	_, j, err := g.forward(ctx, rs, upstream.Request{
		Operation:      contracts.OpRateBooking,
		Method:         fiber.MethodPost,
		Path:           contracts.RatePath(sub.bookingID),
		Body:           sub.body,
		IdempotencyKey: sub.idempotencyKey,
		Forward:        sub.forward,
		Uncounted:      g.asksFault(sub.forward),
	})
	if mayHaveRated(err) {
		key, _ := staleKey(rs.identity.Subject, sub.forward)
		g.lastGood.Drop(key)
	}
	if err != nil {
		return idempotency.Outcome{}, err
	}
	b, err := rateAnswer(j.value, rs.requestID, time.Now())
	if err != nil {
		return idempotency.Outcome{}, err
	}
	// Any 2xx (a 201 for a stored rating) is the contract's 200.
	return idempotency.Outcome{Status: fiber.StatusOK, Body: b}, nil
}

// rateAnswer renders the contract's rate answer from a cleaned upstream
// answer: the upstream's data as it came, and the gateway's meta (its
// request id; the upstream's generated_at when it is a time, else now).
func rateAnswer(v any, requestID string, now time.Time) ([]byte, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: rate answer: not a JSON object", upstream.ErrBadResponse)
	}
	data := m["data"]
	if data == nil {
		data = map[string]any{}
	}
	if meta, ok := m["meta"].(map[string]any); ok {
		if s, ok := meta["generated_at"].(string); ok {
			if t, err := time.Parse(time.RFC3339, s); err == nil && !t.IsZero() {
				now = t
			}
		}
	}
	b, err := json.Marshal(struct {
		Data any            `json:"data"`
		Meta contracts.Meta `json:"meta"`
	}{data, contracts.NewMeta(requestID, now)})
	if err != nil {
		return nil, fmt.Errorf("encode rate answer: %w", err)
	}
	return b, nil
}

// checkJSONRequest refuses bodies that are not plain JSON: another media
// type, or any Content-Encoding (Fiber would decompress without a limit).
func checkJSONRequest(c *fiber.Ctx) error {
	h := &c.Request().Header
	if header.JSONBody(string(h.ContentType()), string(h.ContentEncoding())) != nil {
		return &apiError{status: fiber.StatusUnsupportedMediaType, code: contracts.CodeUnsupportedMedia,
			message: "Send the body as application/json, uncompressed."}
	}
	return nil
}

func rateRequestError(err error) error {
	code := contracts.CodeValidationFailed
	if errors.Is(err, contracts.ErrInvalidJSON) {
		code = contracts.CodeInvalidJSON
	}
	return &apiError{status: fiber.StatusBadRequest, code: code, message: err.Error(), cause: err}
}

// passThrough forwards a request to a Dev.PassThrough path (the mock's
// control routes, such as its bookings listing or its reset, and its
// identity provider) with its method, query and JSON or form body, and
// answers as the upstream answered (redirects and 4xx included). The
// upstream learns the host and scheme the client used (X-Forwarded-Host,
// X-Forwarded-Proto), so the identity provider's discovery document names
// the gateway's URLs.
func (g *Gateway) passThrough(c *fiber.Ctx) error {
	scheme, host := g.publicURL(c)
	fwd := append(g.forwarded(c),
		upstream.Header{Name: fiber.HeaderXForwardedHost, Value: host},
		upstream.Header{Name: fiber.HeaderXForwardedProto, Value: scheme})
	r := upstream.Request{Operation: opPassThrough, Method: utils.CopyString(c.Method()), Path: c.Path(),
		Query: string(c.Request().URI().QueryString()), Forward: fwd, Relay: true,
		// The mock's own routes in development: a client's bad request (an
		// oversized OAuth state) must not open a breaker every sign-in
		// shares, and there is no remote upstream to protect.
		Uncounted: true}
	if body := c.Request().Body(); len(body) > 0 {
		if isForm(string(c.Request().Header.ContentType())) {
			r.ContentType = fiber.MIMEApplicationForm
		} else if err := checkJSONRequest(c); err != nil {
			return err
		}
		r.Body = append([]byte(nil), body...)
	}
	resp, _, err := g.forward(c.UserContext(), stateOf(c), r)
	if err != nil {
		return err
	}
	return g.relay(c, resp)
}

// publicURL is the scheme and host browsers reach the gateway on (R3-F18):
// server.public_url when set; else X-Forwarded-Proto and -Host from a
// trusted proxy; else the request's own Host. A client-sent
// X-Forwarded-Host is never believed from anyone else.
func (g *Gateway) publicURL(c *fiber.Ctx) (scheme, host string) {
	if u := g.cfg.Server.PublicURL; u != "" {
		scheme, rest, _ := strings.Cut(u, "://")
		return scheme, strings.TrimSuffix(rest, "/")
	}
	scheme, host = "http", string(c.Request().Host())
	if c.Context().IsTLS() {
		scheme = "https"
	}
	if peer, ok := netip.AddrFromSlice(c.Context().RemoteIP()); ok && g.proxies.trusts(peer.Unmap()) {
		h := &c.Request().Header
		if fh := string(h.Peek(fiber.HeaderXForwardedHost)); fh != "" {
			host = fh
		}
		if p := string(h.Peek(fiber.HeaderXForwardedProto)); p == "http" || p == "https" {
			scheme = p
		}
	}
	return scheme, host
}

// isForm reports whether ct is application/x-www-form-urlencoded (an OAuth
// token request), parameters aside.
func isForm(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), fiber.MIMEApplicationForm)
}
