package contracts

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func mustLoad(t testing.TB) *Contract {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	return c
}

func TestOperationsMatchTheDocumentation(t *testing.T) {
	c := mustLoad(t)
	var got []string
	for _, op := range c.Operations() {
		got = append(got, op.Name())
	}
	want := []string{
		"GET /api/co/profile/check-username",
		"GET /api/co/rating",
		"POST /api/co/rating/rate/{booking_id}",
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Operations() = %v, want %v", got, want)
	}
}

func TestSecurityPerOperation(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		op           string
		wantOptional bool
	}{
		{"GET /api/co/profile/check-username", false},
		{"GET /api/co/rating", true},
		{"POST /api/co/rating/rate/{booking_id}", true},
	}
	byName := map[string]Operation{}
	for _, op := range c.Operations() {
		byName[op.Name()] = op
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			sec := byName[tt.op].Op.Security
			if sec == nil || len(*sec) == 0 {
				t.Fatalf("%s has no security requirements", tt.op)
			}
			optional := false
			bearer := false
			for _, req := range *sec {
				if len(req) == 0 {
					optional = true
				}
				if _, ok := req["bearerAuth"]; ok {
					bearer = true
				}
			}
			if !bearer || optional != tt.wantOptional {
				t.Fatalf("%s: bearer=%v optional=%v, want bearer and optional=%v", tt.op, bearer, optional, tt.wantOptional)
			}
		})
	}
}

func TestValidExamplesKeepTheContract(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		name, method, path, example string
		status                      int
	}{
		{"list valid", "GET", "/api/co/rating", "valid", 200},
		{"check-username taken", "GET", "/api/co/profile/check-username?username=ola.nordmann", "taken", 200},
		{"check-username documentation", "GET", "/api/co/profile/check-username?username=string_value", "documentation", 200},
		{"rate documentation", "POST", "/api/co/rating/rate/123", "documentation", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			route, _, err := c.Route(req)
			if err != nil {
				t.Fatal(err)
			}
			ex := route.Operation.Responses.Status(tt.status).Value.Content["application/json"].Examples[tt.example]
			if ex == nil {
				t.Fatalf("no example %q", tt.example)
			}
			body := mustJSON(t, ex.Value.Value)
			h := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"abc"}}
			if err := c.ValidateResponse(context.Background(), req, tt.status, h, body); err != nil {
				t.Fatalf("ValidateResponse(%s) = %v, want nil", tt.example, err)
			}
		})
	}
}

func TestValidateResponseReportsPaths(t *testing.T) {
	c := mustLoad(t)
	h := http.Header{"Content-Type": {"application/json"}}
	item := `{"booking_id":1,"workshop_org_nr":"921460929","workshop_name":"x","service_id":1,"service_title":"x","registration_number":"BT57225","status":"completed","service_start_time":"2026-02-12T10:00:00Z","service_estimated_end_time":"2026-02-12T10:00:00Z","service_actual_end_time":"2026-02-12T10:00:00Z","service_rating":5,"service_rating_message":"","private_service_rating":true,"rated_at":"2026-02-12T10:00:00Z"}`
	tests := []struct {
		name      string
		status    int
		body      string
		wantWhere string
		wantIn    string
	}{
		{"total as string", 200, `{"total":"1","items":[` + item + `]}`, "total", "expected integer, got string"},
		{"items null", 200, `{"total":1,"items":null}`, "items", "null"},
		{"bad date", 200, `{"total":1,"items":[` + strings.Replace(item, `"rated_at":"2026-02-12T10:00:00Z"`, `"rated_at":"yesterday"`, 1) + `]}`, "items[0].rated_at", "date-time"},
		{"wrong type in item", 200, `{"total":1,"items":[` + strings.Replace(item, `"service_id":1`, `"service_id":"1"`, 1) + `]}`, "items[0].service_id", "expected integer, got string"},
		{"missing field", 200, `{"total":1}`, "items", "missing"},
		{"error body without meta", 503, `{"error":{"code":"x","message":"m"}}`, "meta", "missing"},
		{"error code not snake case", 503, `{"error":{"code":"Bad Thing","message":"m"},"meta":{"request_id":"a","generated_at":"2026-02-12T10:00:00Z"}}`, "error.code", "pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/co/rating", nil)
			err := c.ValidateResponse(context.Background(), req, tt.status, h, []byte(tt.body))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("ValidateResponse() = %v, want a *ValidationError", err)
			}
			found := false
			for _, v := range verr.Violations {
				if v.Where == tt.wantWhere && strings.Contains(v.String(), tt.wantIn) {
					found = true
				}
			}
			if !found {
				t.Fatalf("violations = %v, want one at %q mentioning %q", verr.Violations, tt.wantWhere, tt.wantIn)
			}
		})
	}
}

func TestValidateRequest(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		name    string
		path    string
		body    string
		wantErr bool
	}{
		{"valid", "/api/co/rating/rate/123", `{"service_rating":5,"service_rating_message":"ok","private_service_rating":true}`, false},
		{"documentation example 499", "/api/co/rating/rate/123", `{"service_rating":499.0,"service_rating_message":"string_value","private_service_rating":true}`, true},
		{"below range", "/api/co/rating/rate/123", `{"service_rating":0,"private_service_rating":true}`, true},
		{"fraction", "/api/co/rating/rate/123", `{"service_rating":4.5,"private_service_rating":true}`, true},
		{"unknown field", "/api/co/rating/rate/123", `{"service_rating":5,"private_service_rating":true,"user_id":1}`, true},
		{"missing private", "/api/co/rating/rate/123", `{"service_rating":5}`, true},
		{"booking id zero", "/api/co/rating/rate/0", `{"service_rating":5,"private_service_rating":true}`, true},
		{"booking id text", "/api/co/rating/rate/abc", `{"service_rating":5,"private_service_rating":true}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", tt.path, bytes.NewReader([]byte(tt.body)))
			req.Header.Set("Content-Type", "application/json")
			err := c.ValidateRequest(context.Background(), req, []byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ValidateRequest(%s) = %v, wantErr %v", tt.body, err, tt.wantErr)
			}
		})
	}
}

func TestRouteUnknown(t *testing.T) {
	c := mustLoad(t)
	for _, tt := range []struct{ method, path string }{{"GET", "/nope"}, {"DELETE", "/api/co/rating"}} {
		_, _, err := c.Route(httptest.NewRequest(tt.method, tt.path, nil))
		if !errors.Is(err, ErrNoOperation) {
			t.Errorf("Route(%s %s) = %v, want ErrNoOperation", tt.method, tt.path, err)
		}
	}
}

// TestR3T3ContractStatesBookingIDBounds: the contract states the bounds of
// booking_id that ParseBookingID keeps, 1 and 9223372036854775807, and a
// document that states others (or none) does not load.
func TestR3T3ContractStatesBookingIDBounds(t *testing.T) {
	const bounds = "            minimum: 1\n            maximum: 9223372036854775807\n"
	if strings.Count(string(spec), bounds) != 1 {
		t.Fatalf("the contract does not state %q once", bounds)
	}
	tests := []struct {
		name    string
		bounds  string
		wantErr bool
	}{
		{"as shipped", bounds, false},
		{"no maximum", "            minimum: 1\n", true},
		{"a lower maximum", "            minimum: 1\n            maximum: 9007199254740991\n", true},
		{"minimum 0", "            minimum: 0\n            maximum: 9223372036854775807\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadFrom([]byte(strings.Replace(string(spec), bounds, tt.bounds, 1)))
			if (err != nil) != tt.wantErr {
				t.Errorf("loadFrom() = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
	for _, id := range []string{"1", "9223372036854775807"} {
		if _, err := ParseBookingID(id); err != nil {
			t.Errorf("ParseBookingID(%q) = %v, want the contract's bound accepted", id, err)
		}
	}
	for _, id := range []string{"0", "9223372036854775808", "0123", "-1", "1e3"} {
		if _, err := ParseBookingID(id); !errors.Is(err, ErrInvalidBookingID) {
			t.Errorf("ParseBookingID(%q) = %v, want ErrInvalidBookingID", id, err)
		}
	}
}
