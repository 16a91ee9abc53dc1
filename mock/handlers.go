package mock

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/header"
	"github.com/minbil/minbil-bff/contracts/linger"
	"github.com/minbil/minbil-bff/mock/idp"
)

const (
	// fullRetryAfter is the Retry-After of a refusal for a full budget, in
	// seconds: room comes back only when someone resets, or when the
	// least recently used session worlds are dropped.
	fullRetryAfter   = "60"
	realm            = `Bearer realm="minbil"`
	maxLoggedPathLen = 200
)

type localKey int

const (
	localRequestID localKey = iota
	localOwner
	localFault
)

// apiError is an answer other than 2xx, decided by a handler.
type apiError struct {
	status  int
	code    string
	message string
	// header holds extra response headers as name, value pairs.
	header []string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newAPIError(status int, code, message string, header ...string) *apiError {
	return &apiError{status: status, code: code, message: message, header: header}
}

// classify maps every error a handler returns to an answer. It is the one
// place where errors become statuses; Go error text never reaches a client.
func classify(err error) *apiError {
	var ae *apiError
	var fe *fiber.Error
	var ie *idp.Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ie):
		return newAPIError(ie.Status, ie.Code, ie.Message)
	case errors.Is(err, errBookingNotFound):
		return newAPIError(http.StatusNotFound, contracts.CodeNotFound, "Booking not found.")
	case errors.Is(err, errAlreadyRated):
		return newAPIError(http.StatusConflict, contracts.CodeAlreadyRated, "This booking is already rated; a rating cannot be changed.")
	case errors.Is(err, errNotCompleted):
		return newAPIError(http.StatusConflict, contracts.CodeNotCompleted, "This booking is not completed yet; it can be rated once the service is finished.")
	case errors.Is(err, errIdempotencyUsed):
		return newAPIError(http.StatusUnprocessableEntity, contracts.CodeIdempotencyReused, "This Idempotency-Key was used before with another request; use a new key.")
	case errors.Is(err, errFull):
		return newAPIError(http.StatusServiceUnavailable, contracts.CodeUnavailable,
			"The mock keeps every rating and scenario it acknowledged, and they fill its memory budget: nothing was changed. "+
				"POST /_mock/reset (with X-Mock-Session: that session only), or restart the mock with a larger --max-bytes.",
			fiber.HeaderRetryAfter, fullRetryAfter)
	case errors.As(err, &fe):
		return fiberError(fe.Code)
	}
	return newAPIError(http.StatusInternalServerError, contracts.CodeInternal, "An unexpected error occurred; the mock's log has the details under this request_id.")
}

// fiberError describes the errors Fiber and fasthttp raise themselves
// (oversized headers or body, timeouts, unparsable requests).
func fiberError(status int) *apiError {
	switch status {
	case http.StatusNotFound:
		return newAPIError(status, contracts.CodeNotFound, "No such operation.")
	case http.StatusRequestEntityTooLarge:
		return newAPIError(status, contracts.CodePayloadTooLarge, "The request body is too large.")
	case http.StatusRequestHeaderFieldsTooLarge:
		return newAPIError(status, contracts.CodeBadRequest, "The request headers are too large.")
	case http.StatusMethodNotAllowed:
		return newAPIError(status, contracts.CodeMethodNotAllowed, "This method is not allowed here.")
	}
	if status >= 400 && status < 500 {
		return newAPIError(status, contracts.CodeBadRequest, "The request could not be read: "+http.StatusText(status)+".")
	}
	return newAPIError(http.StatusInternalServerError, contracts.CodeInternal, "An unexpected error occurred.")
}

func requestID(c *fiber.Ctx) string {
	if rid, ok := c.Locals(localRequestID).(string); ok {
		return rid
	}
	rid := contracts.RequestID(string(c.Request().Header.Peek(fiber.HeaderXRequestID)))
	c.Locals(localRequestID, rid)
	c.Set(fiber.HeaderXRequestID, rid)
	return rid
}

// writeError answers with the contract's error body.
func (s *Server) writeError(c *fiber.Ctx, err error) {
	ae := classify(err)
	for i := 0; i+1 < len(ae.header); i += 2 {
		c.Set(ae.header[i], ae.header[i+1])
	}
	body, mErr := json.Marshal(contracts.NewError(requestID(c), ae.code, ae.message, s.now()))
	if mErr != nil {
		// Cannot happen with these plain structs; answer without a body
		// rather than with Go error text.
		c.Status(http.StatusInternalServerError)
		return
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	_ = c.Status(ae.status).Send(body)
}

func (s *Server) sendJSON(c *fiber.Ctx, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(status).Send(body)
}

// serverError is Fiber's ErrorHandler. Handler errors are answered by
// accessLog, so this sees the requests fasthttp rejected before routing
// (headers or body too large, unparsable requests). fasthttp closes the
// connection after them; it lingers first, so that a client still sending
// its body reads this answer instead of a reset (R3-T7).
func (s *Server) serverError(c *fiber.Ctx, err error) error {
	linger.Mark(c.Context().Conn())
	rid := requestID(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	s.writeError(c, err)
	s.log.Info("request",
		zap.String("request_id", rid),
		zap.Int("status", c.Response().StatusCode()),
		zap.String("rejected", "before routing"),
	)
	return nil
}

// accessLog stamps the request id, answers any error with the error body
// and writes one log line per request. It never logs headers, so no token
// reaches the log.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := s.now()
	rid := requestID(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	err := c.Next()
	if err != nil {
		s.writeError(c, err)
	}
	path := c.Path()
	if len(path) > maxLoggedPathLen {
		path = path[:maxLoggedPathLen]
	}
	status := c.Response().StatusCode()
	fields := make([]zap.Field, 0, 9)
	fields = append(fields,
		zap.String("request_id", rid),
		zap.String("method", utils.CopyString(c.Method())),
		zap.String("path", utils.CopyString(path)),
		zap.Int("status", status),
		zap.Duration("duration", s.now().Sub(start)),
		zap.Int("bytes", len(c.Response().Body())),
	)
	if o, ok := c.Locals(localOwner).(string); ok {
		fields = append(fields, zap.String("owner", o))
	}
	if f, ok := c.Locals(localFault).(string); ok {
		fields = append(fields, zap.String("fault", f))
	}
	if status >= 500 && err != nil && c.Locals(localFault) == nil {
		s.log.Error("request", append(fields, zap.Error(err))...)
		return nil
	}
	s.log.Info("request", fields...)
	return nil
}

// fallback answers what no route matched: a known path with another method
// (405 with Allow), a rating path without a booking id (400), or 404.
func (s *Server) fallback(c *fiber.Ctx) error {
	path := c.Path()
	switch {
	case path == contracts.PathCheckUsername || path == contracts.PathRatings:
		return methodNotAllowed(fiber.MethodGet)
	case strings.HasPrefix(path, contracts.PathRatePrefix) && !strings.Contains(path[len(contracts.PathRatePrefix):], "/"):
		if c.Method() == fiber.MethodPost {
			return newAPIError(http.StatusBadRequest, contracts.CodeInvalidBookingID, "The booking id is missing: POST /api/co/rating/rate/{booking_id}.")
		}
		return methodNotAllowed(fiber.MethodPost)
	}
	return newAPIError(http.StatusNotFound, contracts.CodeNotFound,
		"No such operation. The mock serves GET /api/co/profile/check-username, GET /api/co/rating and POST /api/co/rating/rate/{booking_id}.")
}

func methodNotAllowed(allow string) *apiError {
	return newAPIError(http.StatusMethodNotAllowed, contracts.CodeMethodNotAllowed,
		"This path only answers "+allow+".", fiber.HeaderAllow, allow)
}

// authenticate returns the key of the owner the request acts for. Without
// an Authorization header it is the demo owner, unless a token is
// required; a header that is not "Bearer <token>" is always a 401. The
// token is read, never verified, and never stored or logged.
func (s *Server) authenticate(c *fiber.Ctx, required bool) (key string, demo bool, err error) {
	values := header.Values(&c.Request().Header, fiber.HeaderAuthorization)
	var identity string
	switch {
	case len(values) == 0 && required:
		return "", false, newAPIError(http.StatusUnauthorized, contracts.CodeUnauthorized,
			"A Bearer token is required: send Authorization: Bearer <token>.", fiber.HeaderWWWAuthenticate, realm)
	case len(values) == 0:
		identity = demoIdentity
	default:
		token, err := header.Bearer(values, header.Opaque)
		if err != nil {
			return "", false, newAPIError(http.StatusUnauthorized, contracts.CodeUnauthorized,
				`The Authorization header must be "Bearer <token>".`, fiber.HeaderWWWAuthenticate, realm+`, error="invalid_token"`)
		}
		identity = token
		if sub, ok := jwtSubject(token); ok {
			identity = sub
		}
	}
	key = ownerKey(identity)
	c.Locals(localOwner, key[:12])
	return key, identity == demoIdentity, nil
}

// checkUsername answers GET /api/co/profile/check-username.
func (s *Server) checkUsername(c *fiber.Ctx) error {
	if _, _, err := s.authenticate(c, true); err != nil {
		return err
	}
	values := c.Request().URI().QueryArgs().PeekMulti("username")
	switch {
	case len(values) == 0:
		return newAPIError(http.StatusBadRequest, contracts.CodeUsernameRequired, "The query parameter username is required (lower case).")
	case len(values) > 1:
		return newAPIError(http.StatusBadRequest, contracts.CodeUsernameAmbiguous, "Give the query parameter username once.")
	case len(values[0]) == 0:
		return newAPIError(http.StatusBadRequest, contracts.CodeUsernameRequired, "The username must not be empty.")
	}
	res := contracts.UsernameCheck{Username: string(values[0])}
	if ok, msg := s.username.Check(res.Username); !ok {
		res.Message = msg
	} else if _, taken := s.taken[s.username.Key(res.Username)]; taken {
		res.Message = s.username.Messages.Taken
	} else {
		res.Available, res.Message = true, s.username.Messages.Available
	}
	return s.sendJSON(c, http.StatusOK, res)
}

// listRatings answers GET /api/co/rating.
func (s *Server) listRatings(c *fiber.Ctx) error {
	key, demo, st, err := s.caller(c)
	if err != nil {
		return err
	}
	body, err := st.list(key, demo)
	if err != nil {
		return fmt.Errorf("list ratings: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	// The cached list is never modified, so fasthttp may send it as it is.
	c.Response().SetBodyRaw(body)
	c.Status(http.StatusOK)
	return nil
}

// rateBooking answers POST /api/co/rating/rate/{booking_id}. Every check
// runs before the store is touched, so a bad request changes nothing.
func (s *Server) rateBooking(c *fiber.Ctx) error {
	key, demo, err := s.authenticate(c, false)
	if err != nil {
		return err
	}
	id, err := contracts.ParseBookingID(c.Params("booking_id"))
	if err != nil {
		return newAPIError(http.StatusBadRequest, contracts.CodeInvalidBookingID, contracts.InvalidBookingIDMessage)
	}
	req := &c.Request().Header
	switch err := header.JSONBody(string(req.ContentType()), string(req.ContentEncoding())); {
	case errors.Is(err, header.ErrEncoded):
		return newAPIError(http.StatusUnsupportedMediaType, contracts.CodeUnsupportedMedia, "Send the body uncompressed (no Content-Encoding).")
	case err != nil:
		return newAPIError(http.StatusUnsupportedMediaType, contracts.CodeUnsupportedMedia, "Send the body as Content-Type: application/json.")
	}
	idemHash, err := idempotencyKeyHash(header.Values(req, header.IdempotencyKeyName))
	if err != nil {
		return err
	}
	// The raw body: Fiber's c.Body() would decompress it.
	body := c.Request().Body()
	if len(body) > s.cfg.BodyLimit {
		return newAPIError(http.StatusRequestEntityTooLarge, contracts.CodePayloadTooLarge,
			fmt.Sprintf("The request body is larger than %d bytes.", s.cfg.BodyLimit))
	}
	in, err := contracts.DecodeRateRequest(body, s.rating)
	switch {
	case errors.Is(err, contracts.ErrInvalidJSON):
		return newAPIError(http.StatusBadRequest, contracts.CodeInvalidJSON, capitalize(err.Error())+".")
	case err != nil:
		return newAPIError(http.StatusBadRequest, contracts.CodeValidationFailed, capitalize(err.Error())+".")
	}
	if err := s.validateAgainstContract(c, id, body); err != nil {
		return err
	}
	input := rateInput{
		BookingID:   id,
		Stars:       *in.ServiceRating,
		Private:     *in.PrivateServiceRating,
		Now:         s.now(),
		IdemKeyHash: idemHash,
	}
	if in.ServiceRatingMessage != nil {
		input.Message = *in.ServiceRatingMessage
	}
	if idemHash != "" {
		input.Fingerprint = fingerprint(id, body)
	}
	st, err := s.world(c)
	if err != nil {
		return err
	}
	data, err := st.rate(key, demo, input)
	if err != nil {
		return s.replayMiss(c, err)
	}
	return s.sendJSON(c, http.StatusOK, contracts.RateResponse{Data: data, Meta: contracts.NewMeta(requestID(c), s.now())})
}

// validateAgainstContract runs the contract's own request validator on a
// body that the strict decoder accepted, so a rule added to the contract
// holds in the mock even before the decoder knows it.
func (s *Server) validateAgainstContract(c *fiber.Ctx, id int64, body []byte) error {
	req, err := http.NewRequestWithContext(c.UserContext(), http.MethodPost, "http://mock"+contracts.RatePath(id), nil)
	if err != nil {
		return fmt.Errorf("build request for validation: %w", err)
	}
	req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	err = s.contract.ValidateRequest(c.UserContext(), req, body)
	var ve *contracts.ValidationError
	switch {
	case errors.As(err, &ve):
		parts := make([]string, len(ve.Violations))
		for i, v := range ve.Violations {
			parts[i] = v.String()
		}
		return newAPIError(http.StatusBadRequest, contracts.CodeValidationFailed, "The request breaks the contract: "+strings.Join(parts, "; ")+".")
	case err != nil:
		return fmt.Errorf("validate request: %w", err)
	}
	return nil
}

// idempotencyKeyHash validates an optional Idempotency-Key and returns
// its hash, or "" without one.
func idempotencyKeyHash(values []string) (string, error) {
	key, err := header.IdempotencyKey(values)
	switch {
	case errors.Is(err, header.ErrIdempotencyKeyRepeated):
		return "", newAPIError(http.StatusBadRequest, contracts.CodeBadRequest, "Give the Idempotency-Key header once.")
	case err != nil:
		return "", newAPIError(http.StatusBadRequest, contracts.CodeBadRequest, "Idempotency-Key must be 1–255 visible ASCII characters.")
	case key == "":
		return "", nil
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:]), nil
}

// fingerprint identifies a submission: the booking and the exact body.
func fingerprint(id int64, body []byte) string {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	h.Write(b[:])
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
