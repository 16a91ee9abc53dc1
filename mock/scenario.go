package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v6"
	"github.com/gofiber/fiber/v2"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/header"
)

// ScenarioDefault is the seeded data every owner starts with (or, when
// replaying fixtures, the recorded data).
const ScenarioDefault = "default"

// Scenario is a named state an owner's bookings can be put in, for
// end-to-end tests of a frontend.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// build makes the bookings with ids from base+1, deterministically
	// from f. nil means the store's own generator (ScenarioDefault).
	build func(f *gofakeit.Faker, base int64, workshops []workshop, plates []string) []*booking
}

// manyRatings is the size of the "many" scenario's list.
const manyRatings = 300

var scenarios = []Scenario{
	{Name: ScenarioDefault, Description: "The seeded data: some rated, some completed and not rated yet, some not completed."},
	{Name: "empty", Description: "No ratings at all; three completed bookings to rate and one not completed.",
		build: kindsScenario(kindUnrated, kindUnrated, kindUnrated, kindPending)},
	{Name: "many", Description: "Hundreds of ratings (300), to test long lists; three completed bookings to rate.",
		build: func(f *gofakeit.Faker, base int64, w []workshop, p []string) []*booking {
			kinds := make([]bookingKind, 0, manyRatings+4)
			for range manyRatings {
				kinds = append(kinds, kindRated)
			}
			kinds = append(kinds, kindUnrated, kindUnrated, kindUnrated, kindPending)
			return kindsScenario(kinds...)(f, base, w, p)
		}},
	{Name: "all-rated", Description: "Every booking completed and rated: nothing left to rate.",
		build: kindsScenario(kindRated, kindRated, kindRated, kindRated, kindRated, kindRated)},
	{Name: "every-state", Description: "One booking in every state: completed and rated, completed and not rated, confirmed, in progress.",
		build: func(f *gofakeit.Faker, base int64, w []workshop, p []string) []*booking {
			out := kindsScenario(kindRated, kindUnrated, kindPending, kindPending)(f, base, w, p)
			out[2].Status, out[2].Start = statusConfirmed, anchor.Add(3*24*time.Hour).Truncate(24*time.Hour).Add(8*time.Hour)
			out[3].Status, out[3].Start = statusInProgress, anchor.Add(-time.Hour)
			for _, b := range out[2:] {
				b.EstimatedEnd = b.Start.Add(2 * time.Hour)
			}
			return out
		}},
}

// kindsScenario builds one booking of each kind, in order.
func kindsScenario(kinds ...bookingKind) func(*gofakeit.Faker, int64, []workshop, []string) []*booking {
	return func(f *gofakeit.Faker, base int64, workshops []workshop, plates []string) []*booking {
		out := make([]*booking, len(kinds))
		for i, k := range kinds {
			out[i] = fakeBooking(f, k, base+int64(i)+1, workshops, plates)
		}
		return out
	}
}

func scenarioByName(name string) (Scenario, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

func scenarioNames() string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// scenarioBookings builds the bookings of scenario sc for an owner,
// deterministically from the seed, the owner and the scenario.
func (s *store) scenarioBookings(sc Scenario, key string, demo bool, prefix int64) []*booking {
	if sc.build == nil {
		return s.generate(s.seed, key, demo, prefix).Bookings
	}
	f := gofakeit.NewUnlocked(fakerSeed(s.seed, key+"\x00scenario\x00"+sc.Name))
	workshops, plates := fakeGarage(f)
	base := prefix * idBlock
	if demo {
		base = demoBase
	}
	return sc.build(f, base, workshops, plates)
}

// setScenario puts the owner's bookings in scenario sc, forgetting the
// owner's ratings and Idempotency-Keys. Only the scenario's name is kept
// (and written to the journal): the bookings are generated from it.
func (s *store) setScenario(key string, demo bool, sc Scenario) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var prefix int64
	switch rec, o := s.records[key], s.owners[key]; {
	case rec != nil:
		prefix = rec.Prefix
	case o != nil:
		prefix = o.Prefix
	default:
		prefix = s.freePrefixLocked(key, demo)
	}
	if err := s.commitLocked(&change{Op: opScenario, Key: key, Demo: demo, Prefix: prefix, Scenario: sc.Name}); err != nil {
		return fmt.Errorf("set scenario: %w", err)
	}
	return nil
}

// scenarioOf returns the name of the owner's scenario.
func (s *store) scenarioOf(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[key].scenarioName()
}

// scenarioList is the answer of GET /_mock/scenarios.
type scenarioList struct {
	// Current is the caller's scenario in the caller's session.
	Current string     `json:"current"`
	Items   []Scenario `json:"items"`
}

// listScenarios answers GET /_mock/scenarios.
func (s *Server) listScenarios(c *fiber.Ctx) error {
	key, _, st, err := s.caller(c)
	if err != nil {
		return err
	}
	return s.sendJSON(c, http.StatusOK, scenarioList{Current: st.scenarioOf(key), Items: scenarios})
}

// setScenario answers PUT /_mock/scenario {"name": "many"}: the caller's
// owner (the demo owner without a token) in the caller's session.
func (s *Server) setScenario(c *fiber.Ctx) error {
	key, demo, st, err := s.caller(c)
	if err != nil {
		return err
	}
	h := &c.Request().Header
	if err := header.JSONBody(string(h.ContentType()), string(h.ContentEncoding())); err != nil {
		return newAPIError(http.StatusUnsupportedMediaType, contracts.CodeUnsupportedMedia, "Send the body as Content-Type: application/json, uncompressed.")
	}
	var in struct {
		Name *string `json:"name"`
	}
	dec := json.NewDecoder(bytes.NewReader(c.Request().Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.Name == nil || dec.More() {
		return newAPIError(http.StatusBadRequest, contracts.CodeInvalidJSON, `The body must be {"name": "<scenario>"}; scenarios: `+scenarioNames()+".")
	}
	sc, ok := scenarioByName(*in.Name)
	if !ok {
		return newAPIError(http.StatusBadRequest, contracts.CodeValidationFailed, "Unknown scenario; the mock knows "+scenarioNames()+".")
	}
	if err := st.setScenario(key, demo, sc); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
