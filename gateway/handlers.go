package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/upstream"
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
	key := rs.identity.Subject + "\x00" + g.rules.Key(name)
	answer, hit, err := g.usernames.Get(c.UserContext(), key, func(ctx context.Context) (contracts.UsernameCheck, error) {
		return g.fetchUsername(ctx, rs, name)
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

func (g *Gateway) fetchUsername(ctx context.Context, rs *reqState, name string) (contracts.UsernameCheck, error) {
	resp, err := g.call(ctx, rs, upstream.Request{
		Operation: "checkUsername",
		Method:    fiber.MethodGet,
		Path:      pathCheckUsername,
		Query:     url.Values{"username": {name}}.Encode(),
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
		Operation: "listRatings",
		Method:    fiber.MethodGet,
		Path:      pathRatings,
	})
	if err != nil {
		return err
	}
	var list contracts.RatingList
	if err := decodeUpstream(resp, &list); err != nil {
		return err
	}
	if list.Items == nil || list.Total != len(list.Items) {
		return fmt.Errorf("%w: rating list total %d does not match its items", upstream.ErrBadResponse, list.Total)
	}
	return g.writeJSON(c, fiber.StatusOK, list)
}

// rateBooking validates the submission strictly, re-serialises it from the
// typed struct (the upstream sees exactly what was validated) and forwards
// it once: a POST is never retried by the gateway.
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
	resp, err := g.call(c.UserContext(), rs, upstream.Request{
		Operation:      "rateBooking",
		Method:         fiber.MethodPost,
		Path:           pathRate + strconv.FormatInt(id, 10),
		Body:           body,
		IdempotencyKey: utils.CopyString(c.Get("Idempotency-Key")),
	})
	if err != nil {
		return err
	}
	var out rateAnswer
	if err := decodeUpstream(resp, &out); err != nil {
		return err
	}
	out.Meta = contracts.NewMeta(rs.requestID, out.Meta.GeneratedAt)
	if out.Meta.GeneratedAt.IsZero() {
		out.Meta = contracts.NewMeta(rs.requestID, time.Now())
	}
	return g.writeJSON(c, fiber.StatusOK, out)
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
