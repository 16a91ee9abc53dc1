package mock

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/contracts"
)

// TestScenarios sets each scenario through the control API, for a token's
// owner and for the demo owner, in a session, and checks the promised
// shape; every answer is validated against the contract (harness.do).
func TestScenarios(t *testing.T) {
	tests := []struct {
		name         string
		wantRatedMin int // ratings listed, at least
		wantRatedMax int // at most
		wantRateable bool
		wantStatuses []string // every one present
	}{
		{name: "empty", wantRatedMin: 0, wantRatedMax: 0, wantRateable: true},
		{name: "many", wantRatedMin: 200, wantRatedMax: 1000, wantRateable: true},
		{name: "all-rated", wantRatedMin: 1, wantRatedMax: 100, wantRateable: false},
		{name: "every-state", wantRatedMin: 1, wantRatedMax: 1, wantRateable: true,
			wantStatuses: []string{statusCompleted, statusConfirmed, statusInProgress}},
		{name: "default", wantRatedMin: 2, wantRatedMax: 4, wantRateable: true},
	}
	h := start(t, Config{Seed: 5}, nil)
	for _, who := range []string{"", "owner-7"} {
		for _, tt := range tests {
			t.Run(tt.name+"/"+who, func(t *testing.T) {
				hdr := append(auth(who), HeaderSession, "scenarios-"+who)
				res := h.do(t, request{method: http.MethodPut, path: PathScenario, header: append(hdr, "Content-Type", "application/json"), body: `{"name": "` + tt.name + `"}`})
				if res.status != http.StatusNoContent {
					t.Fatalf("PUT %s %s = %d %s, want 204", PathScenario, tt.name, res.status, res.body)
				}
				res = h.do(t, request{method: http.MethodGet, path: contracts.PathRatings, header: hdr})
				var list contracts.RatingList
				if err := json.Unmarshal(res.body, &list); err != nil {
					t.Fatal(err)
				}
				if list.Total < tt.wantRatedMin || list.Total > tt.wantRatedMax {
					t.Errorf("scenario %s: %d ratings, want %d..%d", tt.name, list.Total, tt.wantRatedMin, tt.wantRatedMax)
				}
				res = h.do(t, request{method: http.MethodGet, path: PathBookings, header: hdr})
				var bookings bookingsList
				if err := json.Unmarshal(res.body, &bookings); err != nil {
					t.Fatal(err)
				}
				rateable, statuses := false, map[string]bool{}
				var rateableID int64
				for _, b := range bookings.Items {
					statuses[b.Status] = true
					if b.Rateable {
						rateable, rateableID = true, b.BookingID
					}
				}
				if rateable != tt.wantRateable {
					t.Errorf("scenario %s: something rateable = %v, want %v", tt.name, rateable, tt.wantRateable)
				}
				for _, s := range tt.wantStatuses {
					if !statuses[s] {
						t.Errorf("scenario %s: no booking %s in %v", tt.name, s, statuses)
					}
				}
				if rateable {
					res := h.do(t, request{method: http.MethodPost, path: contracts.PathRatePrefix + itoa(rateableID),
						header: append(hdr, "Content-Type", "application/json"), body: goodBody})
					if res.status != http.StatusOK {
						t.Errorf("scenario %s: rating %d = %d, want 200", tt.name, rateableID, res.status)
					}
				}
				res = h.do(t, request{method: http.MethodGet, path: PathScenarios, header: hdr})
				var sl scenarioList
				if err := json.Unmarshal(res.body, &sl); err != nil || sl.Current != tt.name || len(sl.Items) != len(scenarios) {
					t.Errorf("GET %s = %s, want current %q and %d scenarios", PathScenarios, res.body, tt.name, len(scenarios))
				}
			})
		}
	}
	// The default world was never touched.
	if got := h.list(t, "").Total; got < 2 || got > 4 {
		t.Errorf("default world's demo list has %d ratings, want the seeded 2..4", got)
	}
}

func TestScenarioRequestChecked(t *testing.T) {
	h := start(t, Config{Seed: 5}, nil)
	ct := []string{"Content-Type", "application/json"}
	tests := []struct {
		name       string
		header     []string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"unknown scenario", ct, `{"name": "nope"}`, 400, contracts.CodeValidationFailed},
		{"no name", ct, `{}`, 400, contracts.CodeInvalidJSON},
		{"unknown field", ct, `{"name": "many", "x": 1}`, 400, contracts.CodeInvalidJSON},
		{"not JSON", ct, `many`, 400, contracts.CodeInvalidJSON},
		{"form", []string{"Content-Type", "text/plain"}, `{"name": "many"}`, 415, contracts.CodeUnsupportedMedia},
		{"bad token", append([]string{"Authorization", "Basic x"}, ct...), `{"name": "many"}`, 401, contracts.CodeUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(t, request{method: http.MethodPut, path: PathScenario, header: tt.header, body: tt.body})
			if res.status != tt.wantStatus || errorCode(t, res) != tt.wantCode {
				t.Errorf("PUT %s %s = %d %s, want %d %s", PathScenario, tt.body, res.status, res.body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantCode == contracts.CodeValidationFailed && !strings.Contains(string(res.body), "every-state") {
				t.Errorf("the error does not name the scenarios: %s", res.body)
			}
		})
	}
}

// TestScenarioPersisted: a scenario set in the default world is in the
// state file and survives a restart.
func TestScenarioPersisted(t *testing.T) {
	file := t.TempDir() + "/state.json"
	h := start(t, Config{Seed: 5, StateFile: file}, nil)
	res := h.do(t, request{method: http.MethodPut, path: PathScenario, header: []string{"Content-Type", "application/json"}, body: `{"name": "many"}`})
	if res.status != http.StatusNoContent {
		t.Fatalf("PUT = %d", res.status)
	}
	h.stop(t)
	h2 := start(t, Config{Seed: 5, StateFile: file}, nil)
	if got := h2.list(t, "").Total; got != manyRatings {
		t.Errorf("after restart %d ratings, want %d", got, manyRatings)
	}
}
