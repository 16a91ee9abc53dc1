package contracts

import "time"

// UsernameCheck is the answer of GET /api/co/profile/check-username.
type UsernameCheck struct {
	Username  string `json:"username"`
	Available bool   `json:"available"`
	Message   string `json:"message"`
}

// RatingItem is one rated booking in the answer of GET /api/co/rating.
type RatingItem struct {
	BookingID               int64     `json:"booking_id"`
	WorkshopOrgNr           string    `json:"workshop_org_nr"`
	WorkshopName            string    `json:"workshop_name"`
	ServiceID               int64     `json:"service_id"`
	ServiceTitle            string    `json:"service_title"`
	RegistrationNumber      string    `json:"registration_number"`
	Status                  string    `json:"status"`
	ServiceStartTime        time.Time `json:"service_start_time"`
	ServiceEstimatedEndTime time.Time `json:"service_estimated_end_time"`
	ServiceActualEndTime    time.Time `json:"service_actual_end_time"`
	ServiceRating           float64   `json:"service_rating"`
	ServiceRatingMessage    string    `json:"service_rating_message"`
	PrivateServiceRating    bool      `json:"private_service_rating"`
	RatedAt                 time.Time `json:"rated_at"`
}

// RatingList is the answer of GET /api/co/rating.
type RatingList struct {
	Total int          `json:"total"`
	Items []RatingItem `json:"items"`
}

// RateRequest is the body of POST /api/co/rating/rate/{booking_id}. Pointer
// fields tell a missing field from a zero value.
type RateRequest struct {
	ServiceRating        *float64 `json:"service_rating"`
	ServiceRatingMessage *string  `json:"service_rating_message,omitempty"`
	PrivateServiceRating *bool    `json:"private_service_rating"`
}

// RatedBooking is the data of a successful rating submission.
type RatedBooking struct {
	BookingID            int64     `json:"booking_id"`
	ServiceRating        float64   `json:"service_rating"`
	ServiceRatingMessage string    `json:"service_rating_message"`
	PrivateServiceRating bool      `json:"private_service_rating"`
	RatedAt              time.Time `json:"rated_at"`
}

// RateResponse is the answer of POST /api/co/rating/rate/{booking_id}.
type RateResponse struct {
	Data RatedBooking `json:"data"`
	Meta Meta         `json:"meta"`
}

// Meta is the envelope metadata of rate answers and error bodies.
type Meta struct {
	RequestID   string    `json:"request_id"`
	GeneratedAt time.Time `json:"generated_at"`
}

// ErrorBody is the body of every non-2xx answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
	Meta  Meta        `json:"meta"`
}

// ErrorDetail is the error part of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// NewError builds an error body stamped with the request id and now (UTC,
// whole seconds).
func NewError(requestID, code, message string, now time.Time) ErrorBody {
	return ErrorBody{
		Error: ErrorDetail{Code: code, Message: message},
		Meta:  NewMeta(requestID, now),
	}
}

// NewMeta builds envelope metadata stamped in UTC.
func NewMeta(requestID string, now time.Time) Meta {
	return Meta{RequestID: requestID, GeneratedAt: now.UTC().Truncate(time.Second)}
}

// Error codes used in ErrorBody; the contract lists them on the Error schema.
const (
	CodeBadRequest          = "bad_request"
	CodeUsernameRequired    = "username_required"
	CodeUsernameAmbiguous   = "username_ambiguous"
	CodeInvalidBookingID    = "invalid_booking_id"
	CodeInvalidJSON         = "invalid_json"
	CodeValidationFailed    = "validation_failed"
	CodeUnauthorized        = "unauthorized"
	CodeForbidden           = "forbidden"
	CodeNotFound            = "not_found"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodeAlreadyRated        = "already_rated"
	CodeNotCompleted        = "booking_not_completed"
	CodeIdempotencyInFlight = "idempotency_in_flight"
	CodeIdempotencyReused   = "idempotency_key_reused"
	CodePayloadTooLarge     = "payload_too_large"
	CodeUnsupportedMedia    = "unsupported_media_type"
	CodeRateLimited         = "rate_limited"
	CodeInternal            = "internal_error"
	CodeBadGateway          = "bad_gateway"
	CodeUnavailable         = "upstream_unavailable"
	CodeGatewayTimeout      = "gateway_timeout"
	CodeInjectedFault       = "injected_fault"
)
