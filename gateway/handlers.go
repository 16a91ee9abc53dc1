package gateway

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/idempotency"
	"github.com/minbil/minbil-bff/gateway/upstream"
	"github.com/minbil/minbil-bff/mock"
)

const (
	pathCheckUsername = "/api/co/profile/check-username"
	pathRatings       = "/api/co/rating"
	pathRate          = "/api/co/rating/rate/"
)

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
		return g.writeJSON(c, fiber.StatusOK, contracts.UsernameCheck{Username: name, Available: false, Message: msg})
	}
	if faults := g.mockFaults(c); !faults.IsZero() {
		// An injected fault is for this request alone: not cached, not shared.
		answer, err := g.fetchUsername(c.UserContext(), rs, name, faults)
		if err != nil {
			return err
		}
		answer.Username = name
		return g.writeJSON(c, fiber.StatusOK, answer)
	}
	key := rs.identity.Subject + "\x00" + g.rules.Key(name)
	answer, hit, err := g.usernames.Get(c.UserContext(), key, func(ctx context.Context) (contracts.UsernameCheck, error) {
		return g.fetchUsername(ctx, rs, name, upstream.MockFaults{})
	})
	if err != nil {
		return err
	}
	rs.cache = "MISS"
	if hit {
		rs.cache = "HIT"
	}
	g.metrics.cache.WithLabelValues(strings.ToLower(rs.cache)).Inc()
	c.Set("X-Cache", rs.cache)
	answer.Username = name
	return g.writeJSON(c, fiber.StatusOK, answer)
}

func (g *Gateway) fetchUsername(ctx context.Context, rs *reqState, name string, faults upstream.MockFaults) (contracts.UsernameCheck, error) {
	resp, err := g.call(ctx, rs, upstream.Request{
		Operation:  "checkUsername",
		Method:     fiber.MethodGet,
		Path:       pathCheckUsername,
		Query:      url.Values{"username": {name}}.Encode(),
		MockFaults: faults,
	})
	if err != nil {
		return contracts.UsernameCheck{}, err
	}
	var out contracts.UsernameCheck
	if err := decodeUpstream(resp, &out); err != nil {
		return out, err
	}
	return out, nil
}

// listRatings forwards the list and answers with the allow-listed fields of
// a well-formed upstream answer only.
func (g *Gateway) listRatings(c *fiber.Ctx) error {
	rs := stateOf(c)
	resp, err := g.call(c.UserContext(), rs, upstream.Request{
		Operation:  "listRatings",
		Method:     fiber.MethodGet,
		Path:       pathRatings,
		MockFaults: g.mockFaults(c),
	})
	if err != nil {
		return err
	}
	answer, ok := g.lists.get(resp.Body)
	if !ok {
		if answer, err = renderList(resp); err != nil {
			return err
		}
		g.lists.put(resp.Body, answer)
	}
	c.Status(fiber.StatusOK)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	// The memo's bytes are never modified: fasthttp may send them as they are.
	c.Response().SetBodyRaw(answer)
	return nil
}

// renderList decodes an upstream list into the contract's types (unknown
// fields dropped), checks that total counts the items, and encodes it.
func renderList(resp *upstream.Response) ([]byte, error) {
	var list contracts.RatingList
	if err := decodeUpstream(resp, &list); err != nil {
		return nil, err
	}
	if list.Items == nil || list.Total != len(list.Items) {
		return nil, fmt.Errorf("%w: rating list total %d does not match its items", upstream.ErrBadResponse, list.Total)
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("encode rating list: %w", err)
	}
	return b, nil
}

// rateBooking validates the submission strictly, re-serialises it from the
// typed struct (the upstream sees exactly what was validated) and forwards
// it once: a POST is never retried by the gateway. With an Idempotency-Key
// the outcome is recorded per caller and replayed to a retry.
func (g *Gateway) rateBooking(c *fiber.Ctx) error {
	rs := stateOf(c)
	id, err := contracts.ParseBookingID(c.Params("booking_id"))
	if err != nil {
		return badRequest(contracts.CodeInvalidBookingID, "booking_id must be a positive integer.")
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
	sub := submission{bookingID: id, body: body, faults: g.mockFaults(c)}
	key := c.Get("Idempotency-Key")
	if key == "" {
		return g.submitOnce(c, rs, sub)
	}
	if !idempotency.ValidKey(key) {
		return badRequest(contracts.CodeBadRequest, "Idempotency-Key must be 1–255 visible ASCII characters.")
	}
	sub.idempotencyKey = utils.CopyString(key)
	return g.submitIdempotent(c, rs, sub)
}

// submission is a validated rating on its way upstream.
type submission struct {
	bookingID      int64
	body           []byte
	idempotencyKey string
	faults         upstream.MockFaults
}

func (g *Gateway) submitOnce(c *fiber.Ctx, rs *reqState, sub submission) error {
	out, err := g.submit(c.UserContext(), rs, sub)
	if err != nil {
		return err
	}
	return g.send(c, out)
}

// submitIdempotent claims the caller's key, replays a recorded outcome, or
// submits and records the outcome when the upstream decided it (2xx, or a
// 4xx other than 401 and 429). An outcome the upstream did not decide
// (timeout, breaker open, 5xx) releases the key so the client can retry.
func (g *Gateway) submitIdempotent(c *fiber.Ctx, rs *reqState, sub submission) error {
	ctx := c.UserContext()
	slot := idempotency.NewSlot(callerKey(c, rs), sub.idempotencyKey,
		append(strconv.AppendInt(nil, sub.bookingID, 10), sub.body...))
	replay, err := g.idem.Begin(ctx, slot)
	switch {
	case errors.Is(err, idempotency.ErrInFlight):
		return &apiError{status: fiber.StatusConflict, code: contracts.CodeIdempotencyInFlight,
			message: "A request with this Idempotency-Key is still in flight; retry later."}
	case errors.Is(err, idempotency.ErrKeyReused):
		return &apiError{status: fiber.StatusUnprocessableEntity, code: contracts.CodeIdempotencyReused,
			message: "This Idempotency-Key was used with another request."}
	case err != nil:
		return &apiError{status: fiber.StatusServiceUnavailable, code: contracts.CodeUnavailable, retryAfter: time.Second,
			message: "Idempotent submissions are unavailable right now; retry later.", cause: err}
	case replay != nil:
		c.Set("Idempotent-Replayed", "true")
		return g.send(c, idempotency.Outcome{Status: replay.Status, Body: replay.Body})
	}
	out, err := g.submit(ctx, rs, sub)
	var ae *apiError
	if err != nil && !(errors.As(err, &ae) && ae.upstream && recordable(ae.status)) {
		if aerr := g.idem.Abandon(ctx, slot); aerr != nil {
			g.log.Warn("release idempotency key", zap.String("request_id", rs.requestID), zap.Error(aerr))
		}
		return err
	}
	if err != nil {
		out = idempotency.Outcome{Status: ae.status, Body: g.errorBody(rs, ae)}
	}
	if ferr := g.idem.Finish(ctx, slot, out); ferr != nil {
		g.log.Warn("record idempotency outcome", zap.String("request_id", rs.requestID), zap.Error(ferr))
	}
	if err != nil {
		return err
	}
	return g.send(c, out)
}

// recordable says whether an upstream refusal is a definitive outcome worth
// replaying: 401 and 429 depend on the moment, so a retry must try again.
func recordable(status int) bool {
	return status != fiber.StatusUnauthorized && status != fiber.StatusTooManyRequests
}

// callerKey scopes idempotency keys: the caller's identity, or for an
// anonymous caller its client IP.
func callerKey(c *fiber.Ctx, rs *reqState) string {
	if rs.identity.Subject != "" {
		return "sub:" + rs.identity.Subject
	}
	return "ip:" + c.IP()
}

// submit sends the rating upstream and renders the answer.
func (g *Gateway) submit(ctx context.Context, rs *reqState, sub submission) (idempotency.Outcome, error) {
	resp, err := g.call(ctx, rs, upstream.Request{
		Operation:      "rateBooking",
		Method:         fiber.MethodPost,
		Path:           pathRate + strconv.FormatInt(sub.bookingID, 10),
		Body:           sub.body,
		IdempotencyKey: sub.idempotencyKey,
		MockFaults:     sub.faults,
	})
	if err != nil {
		return idempotency.Outcome{}, err
	}
	var out rateAnswer
	if err := decodeUpstream(resp, &out); err != nil {
		return idempotency.Outcome{}, err
	}
	generated := out.Meta.GeneratedAt
	if generated.IsZero() {
		generated = time.Now()
	}
	out.Meta = contracts.NewMeta(rs.requestID, generated)
	b, err := json.Marshal(out)
	if err != nil {
		return idempotency.Outcome{}, fmt.Errorf("encode rate answer: %w", err)
	}
	return idempotency.Outcome{Status: fiber.StatusOK, Body: b}, nil
}

// send writes a rendered JSON answer.
func (g *Gateway) send(c *fiber.Ctx, out idempotency.Outcome) error {
	c.Status(out.Status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(out.Body)
}

// rateAnswer is the allow-listed rate answer: data fields stay optional, as
// the contract records them.
type rateAnswer struct {
	Data struct {
		BookingID            *int64   `json:"booking_id,omitempty"`
		ServiceRating        *float64 `json:"service_rating,omitempty"`
		ServiceRatingMessage *string  `json:"service_rating_message,omitempty"`
		PrivateServiceRating *bool    `json:"private_service_rating,omitempty"`
		RatedAt              *string  `json:"rated_at,omitempty"`
	} `json:"data"`
	Meta contracts.Meta `json:"meta"`
}

// checkJSONRequest refuses bodies that are not plain JSON: another media
// type, or any Content-Encoding (Fiber would decompress without a limit).
func checkJSONRequest(c *fiber.Ctx) error {
	unsupported := &apiError{status: fiber.StatusUnsupportedMediaType, code: contracts.CodeUnsupportedMedia,
		message: "Send the body as application/json, uncompressed."}
	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		return unsupported
	}
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return unsupported
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return unsupported
		}
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

// mockBookings passes the built-in mock's bookings listing through (mock
// mode only), so a frontend developer can see which bookings can be rated.
func (g *Gateway) mockBookings(c *fiber.Ctx) error {
	rs := stateOf(c)
	rs.operation = "mockBookings"
	values := authorizationValues(&c.Request().Header)
	if len(values) > 0 {
		id, err := g.auth.Authenticate(c.UserContext(), values)
		if err != nil {
			return err
		}
		rs.identity = id
	}
	resp, err := g.call(c.UserContext(), rs, upstream.Request{Operation: "mockBookings", Method: fiber.MethodGet, Path: mock.PathBookings})
	if err != nil {
		return err
	}
	return g.send(c, idempotency.Outcome{Status: resp.Status, Body: resp.Body})
}
