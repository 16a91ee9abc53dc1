package mock

import (
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/contracts"
)

// TestContractTable sends a broad table of good and bad requests, each to a
// fresh mock, and validates every answer with the contract's validator
// (inside harness.do) before checking the status, error code and headers.
// Paths may name {rated}, {unrated} and {pending} (the demo owner's first
// booking of that kind) and {foreign} (an unrated booking of another owner).
func TestContractTable(t *testing.T) {
	jwt := unsignedJWT("user-42")
	bearer := []string{"Authorization", "Bearer opaque-token-1"}
	jsonCT := []string{"Content-Type", "application/json"}
	withCT := func(h ...string) []string { return append(append([]string{}, jsonCT...), h...) }
	const docBody = `{"service_rating": 499.0, "service_rating_message": "string_value", "private_service_rating": true}`
	const docBodyInRange = `{"service_rating": 5.0, "service_rating_message": "string_value", "private_service_rating": true}`
	const user = "/api/co/profile/check-username?username="

	tests := []struct {
		name       string
		req        request
		faultsOff  bool // run with Config.AllowFaultHeaders false
		wantStatus int
		wantCode   string   // error code, "" for a 2xx
		wantHeader []string // name, value pairs; value "*" means present
		wantBody   string   // a substring of the body
	}{
		// check-username: the documentation's cURL, the rules, taken names.
		{name: "doc curl check-username", req: request{method: "GET", path: user + "string_value", header: []string{"Accept", "application/json", "Authorization", "Bearer <access-token>"}}, wantStatus: 200, wantBody: `"available":true`},
		{name: "token with a space", req: request{method: "GET", path: user + "string_value", header: []string{"Authorization", "Bearer <access token>"}}, wantStatus: 401, wantCode: "unauthorized", wantHeader: []string{"WWW-Authenticate", "*"}},
		{name: "check-username available", req: request{method: "GET", path: user + "string_value", header: bearer}, wantStatus: 200, wantBody: `"available":true`},
		{name: "check-username with a JWT", req: request{method: "GET", path: user + "nora.berg", header: []string{"Authorization", "Bearer " + jwt}}, wantStatus: 200, wantBody: `"available":true`},
		{name: "check-username taken", req: request{method: "GET", path: user + "ola.nordmann", header: bearer}, wantStatus: 200, wantBody: `"message":"Username is already taken."`},
		{name: "check-username taken ignoring case", req: request{method: "GET", path: user + "OLA.Nordmann", header: bearer}, wantStatus: 200, wantBody: `"available":false`},
		{name: "check-username too short", req: request{method: "GET", path: user + "ab", header: bearer}, wantStatus: 200, wantBody: `"message":"Username must be 3–30 characters long."`},
		{name: "check-username 3 chars", req: request{method: "GET", path: user + "abc", header: bearer}, wantStatus: 200, wantBody: `"available":true`},
		{name: "check-username 30 chars", req: request{method: "GET", path: user + strings.Repeat("a", 30), header: bearer}, wantStatus: 200, wantBody: `"available":true`},
		{name: "check-username 31 chars", req: request{method: "GET", path: user + strings.Repeat("a", 31), header: bearer}, wantStatus: 200, wantBody: `"available":false`},
		{name: "check-username space", req: request{method: "GET", path: user + "ola%20n", header: bearer}, wantStatus: 200, wantBody: `may only contain`},
		{name: "check-username non-ASCII letter", req: request{method: "GET", path: user + "%C3%A5se", header: bearer}, wantStatus: 200, wantBody: `may only contain`},
		{name: "check-username 10000 chars", req: request{method: "GET", path: user + strings.Repeat("a", 10000), header: bearer}, wantStatus: 200, wantBody: `"available":false`},
		{name: "check-username missing", req: request{method: "GET", path: contracts.PathCheckUsername, header: bearer}, wantStatus: 400, wantCode: "username_required"},
		{name: "check-username empty", req: request{method: "GET", path: user, header: bearer}, wantStatus: 400, wantCode: "username_required"},
		{name: "check-username twice", req: request{method: "GET", path: user + "abc&username=abd", header: bearer}, wantStatus: 400, wantCode: "username_ambiguous"},
		{name: "check-username parameter is case-sensitive", req: request{method: "GET", path: contracts.PathCheckUsername + "?Username=abc", header: bearer}, wantStatus: 400, wantCode: "username_required"},
		{name: "check-username without token", req: request{method: "GET", path: user + "abc"}, wantStatus: 401, wantCode: "unauthorized", wantHeader: []string{"WWW-Authenticate", `Bearer realm="minbil"`}},
		{name: "check-username Basic auth", req: request{method: "GET", path: user + "abc", header: []string{"Authorization", "Basic dXNlcjpwYXNz"}}, wantStatus: 401, wantCode: "unauthorized"},
		{name: "check-username empty Bearer", req: request{method: "GET", path: user + "abc", header: []string{"Authorization", "Bearer "}}, wantStatus: 401, wantCode: "unauthorized"},
		{name: "check-username two-word token", req: request{method: "GET", path: user + "abc", header: []string{"Authorization", "Bearer a b"}}, wantStatus: 401, wantCode: "unauthorized"},
		{name: "check-username wrong method", req: request{method: "POST", path: user + "abc", header: bearer}, wantStatus: 405, wantCode: "method_not_allowed", wantHeader: []string{"Allow", "GET"}},
		{name: "check-username trailing slash", req: request{method: "GET", path: contracts.PathCheckUsername + "/?username=abc", header: bearer}, wantStatus: 404, wantCode: "not_found"},

		// list: the documentation's cURL and auth.
		{name: "doc curl list", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Accept", "application/json"}}, wantStatus: 200, wantBody: `"total":`},
		{name: "list with opaque token", req: request{method: "GET", path: contracts.PathRatings, header: bearer}, wantStatus: 200, wantBody: `"items":[`},
		{name: "list with JWT", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Authorization", "Bearer " + jwt}}, wantStatus: 200, wantBody: `"items":[`},
		{name: "list lower-case scheme", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Authorization", "bearer abc"}}, wantStatus: 200},
		{name: "list malformed Authorization", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Authorization", "Token abc"}}, wantStatus: 401, wantCode: "unauthorized", wantHeader: []string{"WWW-Authenticate", "*"}},
		{name: "list two Authorization headers", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Authorization", "Bearer a", "Authorization", "Bearer b"}}, wantStatus: 401, wantCode: "unauthorized"},
		{name: "list echoes X-Request-ID", req: request{method: "GET", path: contracts.PathRatings, header: []string{"X-Request-ID", "req-123.abc:9"}}, wantStatus: 200, wantHeader: []string{"X-Request-ID", "req-123.abc:9"}},
		{name: "error echoes X-Request-ID", req: request{method: "GET", path: "/nope", header: []string{"X-Request-ID", "req-404"}}, wantStatus: 404, wantCode: "not_found", wantHeader: []string{"X-Request-ID", "req-404"}, wantBody: `"request_id":"req-404"`},
		{name: "list wrong method", req: request{method: "POST", path: contracts.PathRatings}, wantStatus: 405, wantCode: "method_not_allowed", wantHeader: []string{"Allow", "GET"}},
		{name: "list OPTIONS", req: request{method: "OPTIONS", path: contracts.PathRatings}, wantStatus: 405, wantCode: "method_not_allowed", wantHeader: []string{"Allow", "GET"}},
		{name: "list trailing slash", req: request{method: "GET", path: contracts.PathRatings + "/"}, wantStatus: 404, wantCode: "not_found"},
		{name: "list wrong case", req: request{method: "GET", path: "/API/co/rating"}, wantStatus: 404, wantCode: "not_found"},
		{name: "unknown route", req: request{method: "GET", path: "/api/co/unknown"}, wantStatus: 404, wantCode: "not_found"},
		{name: "root", req: request{method: "GET", path: "/"}, wantStatus: 404, wantCode: "not_found"},

		// rate: the documentation's cURL, then every bad-input class.
		{name: "doc curl rate (499.0 placeholder)", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: withCT("Accept", "application/json"), body: docBody}, wantStatus: 400, wantCode: "validation_failed"},
		{name: "doc curl rate in range", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: withCT("Accept", "application/json"), body: docBodyInRange}, wantStatus: 200, wantBody: `"booking_id":123`},
		{name: "rate charset utf-8", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: []string{"Content-Type", "application/json; charset=utf-8"}, body: goodBody}, wantStatus: 200},
		{name: "rate without message", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 1, "private_service_rating": false}`}, wantStatus: 200, wantBody: `"service_rating_message":""`},
		{name: "rate 1000-char message", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 3, "service_rating_message": "` + strings.Repeat("å", 1000) + `", "private_service_rating": true}`}, wantStatus: 200},
		{name: "rate 1001-char message", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 3, "service_rating_message": "` + strings.Repeat("å", 1001) + `", "private_service_rating": true}`}, wantStatus: 400, wantCode: "validation_failed"},
		{name: "rate 0", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 0, "private_service_rating": true}`}, wantStatus: 400, wantCode: "validation_failed"},
		{name: "rate 6", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 6, "private_service_rating": true}`}, wantStatus: 400, wantCode: "validation_failed"},
		{name: "rate 4.5", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 4.5, "private_service_rating": true}`}, wantStatus: 400, wantCode: "validation_failed"},
		{name: "rate as string", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": "5", "private_service_rating": true}`}, wantStatus: 400, wantCode: "invalid_json"},
		{name: "private as string", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 5, "private_service_rating": "true"}`}, wantStatus: 400, wantCode: "invalid_json"},
		{name: "rating null", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": null, "private_service_rating": true}`}, wantStatus: 400, wantCode: "validation_failed"},
		{name: "private missing", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 5}`}, wantStatus: 400, wantCode: "validation_failed"},
		{name: "unknown field", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 5, "private_service_rating": true, "admin": true}`}, wantStatus: 400, wantCode: "invalid_json"},
		{name: "duplicate field", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 1, "service_rating": 5, "private_service_rating": true}`}, wantStatus: 400, wantCode: "invalid_json"},
		{name: "malformed JSON", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating": 5,`}, wantStatus: 400, wantCode: "invalid_json"},
		{name: "empty body", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT}, wantStatus: 400, wantCode: "invalid_json"},
		{name: "array body", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `[]`}, wantStatus: 400, wantCode: "invalid_json"},
		{name: "trailing data", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: goodBody + `{}`}, wantStatus: 400, wantCode: "invalid_json"},
		{name: "invalid UTF-8", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: "{\"service_rating\": 5, \"service_rating_message\": \"\xff\", \"private_service_rating\": true}"}, wantStatus: 400, wantCode: "invalid_json"},
		{name: "body over the limit", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: jsonCT, body: `{"service_rating_message": "` + strings.Repeat("x", DefaultBodyLimit) + `"}`}, wantStatus: 413, wantCode: "payload_too_large"},
		{name: "no Content-Type", req: request{method: "POST", path: contracts.PathRatePrefix + "123", body: goodBody}, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "text/plain", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: []string{"Content-Type", "text/plain"}, body: goodBody}, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "form body", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: "service_rating=5"}, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "latin1 charset", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: []string{"Content-Type", "application/json; charset=latin1"}, body: goodBody}, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "gzip body", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: withCT("Content-Encoding", "gzip"), body: goodBody}, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "booking id 0", req: request{method: "POST", path: contracts.PathRatePrefix + "0", header: jsonCT, body: goodBody}, wantStatus: 400, wantCode: "invalid_booking_id"},
		{name: "booking id negative", req: request{method: "POST", path: contracts.PathRatePrefix + "-1", header: jsonCT, body: goodBody}, wantStatus: 400, wantCode: "invalid_booking_id"},
		{name: "booking id leading zero", req: request{method: "POST", path: contracts.PathRatePrefix + "0123", header: jsonCT, body: goodBody}, wantStatus: 400, wantCode: "invalid_booking_id"},
		{name: "booking id letters", req: request{method: "POST", path: contracts.PathRatePrefix + "abc", header: jsonCT, body: goodBody}, wantStatus: 400, wantCode: "invalid_booking_id"},
		{name: "booking id decimal", req: request{method: "POST", path: contracts.PathRatePrefix + "12.5", header: jsonCT, body: goodBody}, wantStatus: 400, wantCode: "invalid_booking_id"},
		{name: "booking id percent-encoded", req: request{method: "POST", path: contracts.PathRatePrefix + "%31%32%33", header: jsonCT, body: goodBody}, wantStatus: 400, wantCode: "invalid_booking_id"},
		{name: "booking id encoded slash", req: request{method: "POST", path: contracts.PathRatePrefix + "..%2F..%2Fadmin", header: jsonCT, body: goodBody}, wantStatus: 400, wantCode: "invalid_booking_id"},
		{name: "booking id int64 overflow", req: request{method: "POST", path: contracts.PathRatePrefix + "9223372036854775808", header: jsonCT, body: goodBody}, wantStatus: 400, wantCode: "invalid_booking_id"},
		{name: "booking id 20 digits", req: request{method: "POST", path: contracts.PathRatePrefix + "12345678901234567890", header: jsonCT, body: goodBody}, wantStatus: 400, wantCode: "invalid_booking_id"},
		{name: "booking id missing", req: request{method: "POST", path: contracts.PathRatePrefix, header: jsonCT, body: goodBody}, wantStatus: 400, wantCode: "invalid_booking_id"},
		{name: "booking id max int64 unknown", req: request{method: "POST", path: contracts.PathRatePrefix + "9223372036854775807", header: jsonCT, body: goodBody}, wantStatus: 404, wantCode: "not_found"},
		{name: "unknown booking", req: request{method: "POST", path: contracts.PathRatePrefix + "999", header: jsonCT, body: goodBody}, wantStatus: 404, wantCode: "not_found"},
		{name: "foreign booking", req: request{method: "POST", path: contracts.PathRatePrefix + "{foreign}", header: jsonCT, body: goodBody}, wantStatus: 404, wantCode: "not_found"},
		{name: "already rated", req: request{method: "POST", path: contracts.PathRatePrefix + "{rated}", header: jsonCT, body: goodBody}, wantStatus: 409, wantCode: "already_rated"},
		{name: "not completed", req: request{method: "POST", path: contracts.PathRatePrefix + "{pending}", header: jsonCT, body: goodBody}, wantStatus: 409, wantCode: "booking_not_completed"},
		{name: "unrated with Bearer demo", req: request{method: "POST", path: contracts.PathRatePrefix + "{unrated}", header: withCT("Authorization", "Bearer demo"), body: goodBody}, wantStatus: 200},
		{name: "rate malformed Authorization", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: withCT("Authorization", "Bearer"), body: goodBody}, wantStatus: 401, wantCode: "unauthorized", wantHeader: []string{"WWW-Authenticate", "*"}},
		{name: "rate bad Idempotency-Key", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: withCT("Idempotency-Key", "has space"), body: goodBody}, wantStatus: 400, wantCode: "bad_request"},
		{name: "rate with Idempotency-Key", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: withCT("Idempotency-Key", "k-1"), body: goodBody}, wantStatus: 200},
		{name: "rate wrong method", req: request{method: "GET", path: contracts.PathRatePrefix + "123"}, wantStatus: 405, wantCode: "method_not_allowed", wantHeader: []string{"Allow", "POST"}},
		{name: "rate PUT", req: request{method: "PUT", path: contracts.PathRatePrefix + "123", header: jsonCT, body: goodBody}, wantStatus: 405, wantCode: "method_not_allowed", wantHeader: []string{"Allow", "POST"}},
		{name: "rate trailing slash", req: request{method: "POST", path: contracts.PathRatePrefix + "123/", header: jsonCT, body: goodBody}, wantStatus: 404, wantCode: "not_found"},

		// Fault injection, per request.
		{name: "prefer 503 on list", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Prefer", "code=503"}}, wantStatus: 503, wantCode: "injected_fault", wantHeader: []string{"Retry-After", "1"}},
		{name: "prefer 500 among preferences", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Prefer", "return=minimal, code=500"}}, wantStatus: 500, wantCode: "injected_fault"},
		{name: "prefer quoted 502", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Prefer", `code="502"`}}, wantStatus: 502, wantCode: "injected_fault"},
		{name: "prefer 401 on check-username", req: request{method: "GET", path: user + "abc", header: []string{"Authorization", "Bearer t", "Prefer", "code=401"}}, wantStatus: 401, wantCode: "injected_fault", wantHeader: []string{"WWW-Authenticate", "*"}},
		{name: "prefer 429 on rate", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: withCT("Prefer", "code=429"), body: goodBody}, wantStatus: 429, wantCode: "injected_fault", wantHeader: []string{"Retry-After", "1"}},
		{name: "prefer 409 on rate", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: withCT("Prefer", "code=409"), body: goodBody}, wantStatus: 409, wantCode: "injected_fault"},
		{name: "prefer 504 with delay", req: request{method: "POST", path: contracts.PathRatePrefix + "123", header: withCT("Prefer", "code=504", "X-Mock-Delay", "5ms"), body: goodBody}, wantStatus: 504, wantCode: "injected_fault"},
		{name: "prefer 200 is normal", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Prefer", "code=200"}}, wantStatus: 200},
		{name: "prefer undeclared status", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Prefer", "code=404"}}, wantStatus: 400, wantCode: "bad_request", wantBody: "401, 429"},
		{name: "prefer 3xx", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Prefer", "code=302"}}, wantStatus: 400, wantCode: "bad_request"},
		{name: "prefer garbage", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Prefer", "code=abc"}}, wantStatus: 400, wantCode: "bad_request"},
		{name: "prefer without code", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Prefer", "return=minimal"}}, wantStatus: 200},
		{name: "delay duration", req: request{method: "GET", path: contracts.PathRatings, header: []string{"X-Mock-Delay", "10ms"}}, wantStatus: 200},
		{name: "delay milliseconds", req: request{method: "GET", path: contracts.PathRatings, header: []string{"X-Mock-Delay", "10"}}, wantStatus: 200},
		{name: "delay garbage", req: request{method: "GET", path: contracts.PathRatings, header: []string{"X-Mock-Delay", "soon"}}, wantStatus: 400, wantCode: "bad_request"},
		{name: "delay negative", req: request{method: "GET", path: contracts.PathRatings, header: []string{"X-Mock-Delay", "-5ms"}}, wantStatus: 400, wantCode: "bad_request"},
		{name: "fault headers ignored when off", req: request{method: "GET", path: contracts.PathRatings, header: []string{"Prefer", "code=503", "X-Mock-Delay", "soon"}}, faultsOff: true, wantStatus: 200},
		{name: "prefer does not apply to unknown routes", req: request{method: "GET", path: "/nope", header: []string{"Prefer", "code=503"}}, wantStatus: 404, wantCode: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, Config{Seed: 1, AllowFaultHeaders: !tt.faultsOff}, nil)
			rated, unrated, pending := bookingIDs(h.srv, demoIdentity)
			_, foreign, _ := bookingIDs(h.srv, "someone-else")
			req := tt.req
			req.path = strings.NewReplacer(
				"{rated}", itoa(rated[0]), "{unrated}", itoa(unrated[0]),
				"{pending}", itoa(pending[0]), "{foreign}", itoa(foreign[0]),
			).Replace(req.path)

			res := h.do(t, req)
			if res.status != tt.wantStatus {
				t.Errorf("%s %s = %d, want %d; body %s", req.method, req.path, res.status, tt.wantStatus, res.body)
			}
			if code := errorCode(t, res); code != tt.wantCode {
				t.Errorf("%s %s: error code %q, want %q", req.method, req.path, code, tt.wantCode)
			}
			for i := 0; i+1 < len(tt.wantHeader); i += 2 {
				name, want := tt.wantHeader[i], tt.wantHeader[i+1]
				got := res.header.Get(name)
				if got == "" || (want != "*" && got != want) {
					t.Errorf("%s %s: header %s = %q, want %q", req.method, req.path, name, got, want)
				}
			}
			if !strings.Contains(string(res.body), tt.wantBody) {
				t.Errorf("%s %s: body %s, want it to contain %q", req.method, req.path, res.body, tt.wantBody)
			}
		})
	}
}
