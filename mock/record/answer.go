package record

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/secret"
)

// fieldKind is what a fixture does with a property of an answer. Which
// properties are free text and which are structural is decided here, once,
// for every property the contract names (TestEveryContractFieldDecided
// fails when the contract gains one nobody decided):
//
//   - structural values are kept when they are what the schema says — a
//     boolean, a rating in range, an RFC 3339 date-time — and dropped when
//     they are not: a date field holding a name is not a date;
//   - ids are remapped (permuteID): the same upstream id is the same fake
//     in every fixture of the directory, so the list and the rating
//     fixtures still line up; the path of a rating is remapped alike;
//   - free text is replaced by generated text of about the same length:
//     the message of a rating, of a username check and of an error alike,
//     since an upstream's message may quote the person it is about (a
//     text the contract itself states, a username rule, is kept);
//   - what names a person or a place is replaced by a fake of its kind:
//     the username, the plate (same shape), the workshop's name and
//     organisation number (a valid one), the service's title;
//   - an enum-like value is kept when the contract or the mock knows it
//     (an error code, a booking status); an unknown error code becomes
//     the contract's code for the status, an unknown booking status a
//     fake of its shape, so that a new status still shows as new;
//   - total is the number of items kept; request_id a fake UUID.
//
// A property the contract does not name is dropped with its value, its
// name included (an upstream that echoes headers makes the API key a
// property name), and so is a number it does not name (owner_phone, fnr).
type fieldKind int

const (
	// undecided is a property nobody decided: a string is replaced as
	// free text, a number dropped.
	undecided fieldKind = iota
	structural
	bookingID
	serviceID
	freeText
	username
	plate
	workshopName
	orgNr
	serviceTitle
	requestID
	errorCode
	bookingStatus
	count
	container
)

// fieldKinds decides every property of every answer of the contract.
var fieldKinds = map[string]fieldKind{
	"items": container, "data": container, "meta": container, "error": container,
	"total":      count,
	"booking_id": bookingID, "service_id": serviceID,
	"username": username, "registration_number": plate,
	"workshop_name": workshopName, "workshop_org_nr": orgNr, "service_title": serviceTitle,
	"service_rating_message": freeText, "message": freeText,
	"request_id": requestID, "code": errorCode, "status": bookingStatus,
	"available": structural, "service_rating": structural, "private_service_rating": structural,
	"service_start_time": structural, "service_estimated_end_time": structural,
	"service_actual_end_time": structural, "rated_at": structural, "generated_at": structural,
}

// knownStatuses are the booking statuses the mock uses; kept as they are.
var knownStatuses = map[string]bool{"completed": true, "confirmed": true, "in_progress": true}

// statusCodes is the contract's error code of each status the mock and
// the gateway answer; any other 4xx is bad_request, any other 5xx
// internal_error.
var statusCodes = map[int]string{
	http.StatusBadRequest: contracts.CodeBadRequest, http.StatusUnauthorized: contracts.CodeUnauthorized,
	http.StatusForbidden: contracts.CodeForbidden, http.StatusNotFound: contracts.CodeNotFound,
	http.StatusMethodNotAllowed: contracts.CodeMethodNotAllowed, http.StatusRequestEntityTooLarge: contracts.CodePayloadTooLarge,
	http.StatusUnsupportedMediaType: contracts.CodeUnsupportedMedia, http.StatusTooManyRequests: contracts.CodeRateLimited,
	http.StatusInternalServerError: contracts.CodeInternal, http.StatusBadGateway: contracts.CodeBadGateway,
	http.StatusServiceUnavailable: contracts.CodeUnavailable, http.StatusGatewayTimeout: contracts.CodeGatewayTimeout,
}

// knownCodes are the contract's error codes.
var knownCodes = map[string]bool{
	contracts.CodeBadRequest: true, contracts.CodeUsernameRequired: true, contracts.CodeUsernameAmbiguous: true,
	contracts.CodeInvalidBookingID: true, contracts.CodeInvalidJSON: true, contracts.CodeValidationFailed: true,
	contracts.CodeUnauthorized: true, contracts.CodeForbidden: true, contracts.CodeNotFound: true,
	contracts.CodeMethodNotAllowed: true, contracts.CodeAlreadyRated: true, contracts.CodeNotCompleted: true,
	contracts.CodeIdempotencyInFlight: true, contracts.CodeIdempotencyReused: true, contracts.CodePayloadTooLarge: true,
	contracts.CodeUnsupportedMedia: true, contracts.CodeRateLimited: true, contracts.CodeInternal: true,
	contracts.CodeBadGateway: true, contracts.CodeUnavailable: true, contracts.CodeGatewayTimeout: true,
	contracts.CodeInjectedFault: true,
}

// codeFor is the contract's error code for an error status.
func codeFor(status int) string {
	if c, ok := statusCodes[status]; ok {
		return c
	}
	if status >= 500 {
		return contracts.CodeInternal
	}
	return contracts.CodeBadRequest
}

// placeholderMessage is the message of an error body the recorder wrote
// in place of an upstream's answer it could not keep.
const placeholderMessage = "The upstream's answer was not the contract's error body; minbil-bff recorded this one in its place."

// answerSchema is the JSON schema of the answer with status to op: the
// status's own response, else for a 4xx or 5xx the default one; nil when
// the contract has none.
func answerSchema(op *openapi3.Operation, status int) *openapi3.Schema {
	ref := op.Responses.Status(status)
	if ref == nil && isError(status) {
		ref = op.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return nil
	}
	mt := ref.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

func isError(status int) bool { return status >= 400 && status <= 599 }

// decodeJSON decodes one JSON value with exact numbers; false when body is
// not exactly one JSON value.
func decodeJSON(body []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err == nil {
		return nil, false // data after the value
	}
	return v, true
}

// keep returns v, found under the property field, as a fixture keeps it
// under schema; false drops it. It is stricter than contracts.PruneValue, which
// passes a drifted type on for the gateway to be liberal in what it
// accepts: a fixture keeps nothing the contract does not name, in no type
// it does not name.
func (s *scrubber) keep(field string, v any, schema *openapi3.Schema) (any, bool) {
	if schema == nil || schema.Type == nil {
		return nil, false
	}
	switch {
	case schema.Type.Is("object"):
		return s.keepObject(v, schema)
	case schema.Type.Is("array"):
		list, ok := v.([]any)
		if !ok || schema.Items == nil {
			return nil, false
		}
		out := make([]any, 0, len(list))
		for _, e := range list {
			if k, ok := s.keep(field, e, schema.Items.Value); ok {
				out = append(out, k)
			}
		}
		return out, true
	case schema.Type.Is("string"):
		str, ok := v.(string)
		if !ok {
			return nil, false
		}
		return s.keepString(field, str, schema)
	case schema.Type.Is("integer"), schema.Type.Is("number"):
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		return s.keepNumber(field, n, schema)
	case schema.Type.Is("boolean"):
		b, ok := v.(bool)
		return b, ok
	}
	return nil, false
}

// keepObject keeps the properties schema names, each as keep says.
func (s *scrubber) keepObject(v any, schema *openapi3.Schema) (any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]any, len(schema.Properties))
	for name, ref := range schema.Properties {
		pv, ok := obj[name]
		if !ok || pv == nil || fieldKinds[name] == count {
			continue
		}
		if k, ok := s.keep(name, pv, ref.Value); ok {
			out[name] = k
		}
	}
	for name := range schema.Properties {
		if fieldKinds[name] != count {
			continue
		}
		if items, ok := out["items"].([]any); ok {
			out[name] = len(items)
		}
	}
	return out, true
}

func (s *scrubber) keepString(field, v string, schema *openapi3.Schema) (any, bool) {
	switch fieldKinds[field] {
	case plate:
		return s.plate(v), true
	case username:
		return s.username(v), true
	case workshopName:
		return s.workshop(v), true
	case orgNr:
		return s.orgNr(v), true
	case serviceTitle:
		return s.serviceTitle(v), true
	case requestID:
		return s.requestID(v), true
	case errorCode:
		return v, knownCodes[v]
	case bookingStatus:
		if knownStatuses[v] {
			return v, true
		}
		return s.shape("status", v, "abcdefghijklmnopqrstuvwxyz"), true
	case structural:
		if schema.Format == "date-time" {
			_, err := time.Parse(time.RFC3339, v)
			return v, err == nil
		}
	}
	// Free text, and any string nobody decided (the test sees to it that
	// there is none in today's contract).
	return s.text(v), true
}

func (s *scrubber) keepNumber(field string, n json.Number, schema *openapi3.Schema) (any, bool) {
	switch fieldKinds[field] {
	case bookingID, serviceID:
		v, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return nil, false
		}
		kind := "booking"
		if fieldKinds[field] == serviceID {
			kind = "service"
		}
		fake, ok := s.id(kind, v)
		if !ok || schema.VisitJSON(float64(fake)) != nil {
			return nil, false
		}
		return json.Number(strconv.FormatInt(fake, 10)), true
	case structural:
		f, err := n.Float64()
		if err != nil || schema.VisitJSON(f) != nil {
			return nil, false
		}
		return n, true
	}
	return nil, false
}

// errorBody is the contract's error body of a recorded error answer:
// what keep kept of the upstream's (its code when the contract knows it,
// its message replaced, its meta), completed where the upstream's lacked
// a part, so that every recorded error is one a client can handle.
func (s *scrubber) errorBody(status int, kept any, recordedAt time.Time) contracts.ErrorBody {
	body := contracts.NewError("recorded", codeFor(status), placeholderMessage, recordedAt)
	obj, _ := kept.(map[string]any)
	if e, ok := obj["error"].(map[string]any); ok {
		if code, ok := e["code"].(string); ok {
			body.Error.Code = code
		}
		if msg, ok := e["message"].(string); ok {
			body.Error.Message = msg
		}
	}
	if m, ok := obj["meta"].(map[string]any); ok {
		if id, ok := m["request_id"].(string); ok {
			body.Meta.RequestID = id
		}
		if at, ok := m["generated_at"].(string); ok {
			if t, err := time.Parse(time.RFC3339, at); err == nil {
				body.Meta.GeneratedAt = t.UTC()
			}
		}
	}
	return body
}

// wwwAuthError finds the RFC 6750 error code in a WWW-Authenticate value.
var wwwAuthError = regexp.MustCompile(`\berror="?(invalid_request|invalid_token|insufficient_scope)\b`)

// retryAfter is a Retry-After in seconds, as the contract states it.
var retryAfter = regexp.MustCompile(`^[0-9]{1,9}$`)

// header is the answer's header as a fixture keeps it (see
// servedHeaders): Content-Type application/json, since the body kept is
// JSON; Retry-After when it is a number of seconds on a 429 or 5xx; on a
// 401, a WWW-Authenticate naming the Bearer scheme and, when the
// upstream's named one, the RFC 6750 error code (never its realm or
// description: free text).
func (s *scrubber) header(status int, h http.Header) map[string]string {
	out := map[string]string{"Content-Type": "application/json"}
	if v := h.Get("Retry-After"); retryAllowed(status) && retryAfter.MatchString(v) && !secret.Quotes(v, s.secrets...) {
		out["Retry-After"] = v
	}
	if v := h.Get("WWW-Authenticate"); status == http.StatusUnauthorized && v != "" {
		out["WWW-Authenticate"] = "Bearer"
		if m := wwwAuthError.FindStringSubmatch(v); m != nil {
			out["WWW-Authenticate"] = `Bearer error="` + m[1] + `"`
		}
	}
	return out
}

func retryAllowed(status int) bool {
	return status == http.StatusTooManyRequests || (status >= 500 && status <= 599)
}
