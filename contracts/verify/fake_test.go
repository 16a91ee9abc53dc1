package verify

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts"
)

// defect is one way in which the fake upstream breaks the contract.
type defect string

const (
	correct          defect = ""
	missingField     defect = "missing field"                 // list items without workshop_name
	wrongTypeItem    defect = "wrong type"                    // list items with service_id as a string
	wrongStatus      defect = "wrong status code"             // a stored rating answers 201
	rateWithoutMeta  defect = "rate answer without meta"      // wrong envelope
	errorWithoutCode defect = "error body without error.code" // wrong envelope
	duplicateRerate  defect = "duplicate item after re-rating"
	unparseableDate  defect = "unparseable date" // rated_at "12.02.2026 10:00"
	noChallenge      defect = "401 without WWW-Authenticate"
)

// fakeBooking is the only booking of the fake's owner that can be rated.
const fakeBooking = 123

// fake is a small correct upstream of the three operations, with at most one
// defect. It is this package's own fake, independent of the mock package.
// Its clock is a counter, so answers do not depend on the wall clock.
type fake struct {
	contract *contracts.Contract
	defect   defect

	mu      sync.Mutex
	rated   []contracts.RatingItem // newest first
	ticks   int
	methods map[string]int
}

// startFake serves a fake with the defect on 127.0.0.1; the test stops it.
func startFake(t *testing.T, c *contracts.Contract, d defect) (*fake, string) {
	t.Helper()
	f := &fake{contract: c, defect: d, methods: map[string]int{}}
	f.rated = []contracts.RatingItem{f.item(1, 5, "Rask og grundig service.", true)}
	return startHandler(t, f)
}

// startHandler serves h on 127.0.0.1; the test stops it.
func startHandler[H http.Handler](t *testing.T, h H) (H, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func (f *fake) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.methods[method]
}

// now is the fake's clock: a minute later on every call. Callers hold mu.
func (f *fake) now() time.Time {
	f.ticks++
	return time.Date(2026, 2, 13, 9, 0, 0, 0, time.UTC).Add(time.Duration(f.ticks) * time.Minute)
}

func (f *fake) item(id int64, rating float64, message string, private bool) contracts.RatingItem {
	start := time.Date(2026, 2, 12, 8, 0, 0, 0, time.UTC)
	return contracts.RatingItem{
		BookingID: id, WorkshopOrgNr: "921460929", WorkshopName: "Bilservice Bergen AS",
		ServiceID: 1, ServiceTitle: "EU-kontroll", RegistrationNumber: "BT57225", Status: "completed",
		ServiceStartTime: start, ServiceEstimatedEndTime: start.Add(2 * time.Hour), ServiceActualEndTime: start.Add(2 * time.Hour),
		ServiceRating: rating, ServiceRatingMessage: message, PrivateServiceRating: private, RatedAt: f.now(),
	}
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.methods[r.Method]++
	rid := contracts.RequestID(r.Header.Get("X-Request-ID"))
	w.Header().Set("X-Request-ID", rid)
	switch {
	case r.URL.Path == "/api/co/profile/check-username" && r.Method == http.MethodGet:
		f.checkUsername(w, r, rid)
	case r.URL.Path == "/api/co/rating" && r.Method == http.MethodGet:
		if !f.authorized(w, r, rid, false) {
			return
		}
		f.list(w)
	case strings.HasPrefix(r.URL.Path, "/api/co/rating/rate/") && r.Method == http.MethodPost:
		f.rate(w, r, rid)
	default:
		f.fail(w, rid, http.StatusNotFound, contracts.CodeNotFound)
	}
}

// authorized accepts the dev token, and no token where none is required.
func (f *fake) authorized(w http.ResponseWriter, r *http.Request, rid string, required bool) bool {
	h := r.Header.Get("Authorization")
	if h == "Bearer "+DevToken || h == "" && !required {
		return true
	}
	if f.defect != noChallenge {
		w.Header().Set("WWW-Authenticate", `Bearer realm="minbil"`)
	}
	f.fail(w, rid, http.StatusUnauthorized, contracts.CodeUnauthorized)
	return false
}

func (f *fake) checkUsername(w http.ResponseWriter, r *http.Request, rid string) {
	if !f.authorized(w, r, rid, true) {
		return
	}
	names := r.URL.Query()["username"]
	switch {
	case len(names) == 0 || names[0] == "":
		f.fail(w, rid, http.StatusBadRequest, contracts.CodeUsernameRequired)
		return
	case len(names) > 1:
		f.fail(w, rid, http.StatusBadRequest, contracts.CodeUsernameAmbiguous)
		return
	}
	rules := f.contract.UsernameRules()
	answer := contracts.UsernameCheck{Username: names[0], Available: true, Message: rules.Messages.Available}
	if ok, msg := rules.Check(names[0]); !ok {
		answer.Available, answer.Message = false, msg
	} else if rules.Key(names[0]) == "ola.nordmann" {
		answer.Available, answer.Message = false, rules.Messages.Taken
	}
	f.write(w, http.StatusOK, answer)
}

func (f *fake) list(w http.ResponseWriter) {
	var body map[string]any
	if err := roundTrip(contracts.RatingList{Total: len(f.rated), Items: f.rated}, &body); err != nil {
		f.write(w, http.StatusInternalServerError, nil)
		return
	}
	for _, it := range body["items"].([]any) {
		item := it.(map[string]any)
		switch f.defect {
		case missingField:
			delete(item, "workshop_name")
		case wrongTypeItem:
			item["service_id"] = "1"
		case unparseableDate:
			item["rated_at"] = "12.02.2026 10:00"
		}
	}
	f.write(w, http.StatusOK, body)
}

func (f *fake) rate(w http.ResponseWriter, r *http.Request, rid string) {
	if !f.authorized(w, r, rid, false) {
		return
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/api/co/rating/rate/"), 10, 64)
	if err != nil || id < 1 {
		f.fail(w, rid, http.StatusBadRequest, contracts.CodeInvalidBookingID)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		f.fail(w, rid, http.StatusUnsupportedMediaType, contracts.CodeUnsupportedMedia)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.fail(w, rid, http.StatusBadRequest, contracts.CodeBadRequest)
		return
	}
	req, err := contracts.DecodeRateRequest(body, f.contract.RatingRules())
	switch {
	case errors.Is(err, contracts.ErrInvalidJSON):
		f.fail(w, rid, http.StatusBadRequest, contracts.CodeInvalidJSON)
		return
	case err != nil:
		f.fail(w, rid, http.StatusBadRequest, contracts.CodeValidationFailed)
		return
	case id != fakeBooking:
		f.fail(w, rid, http.StatusNotFound, contracts.CodeNotFound)
		return
	}
	message := ""
	if req.ServiceRatingMessage != nil {
		message = *req.ServiceRatingMessage
	}
	item := f.item(id, *req.ServiceRating, message, *req.PrivateServiceRating)
	for _, it := range f.rated {
		if it.BookingID == id {
			if f.defect == duplicateRerate {
				f.rated = append([]contracts.RatingItem{item}, f.rated...)
			}
			f.fail(w, rid, http.StatusConflict, contracts.CodeAlreadyRated)
			return
		}
	}
	f.rated = append([]contracts.RatingItem{item}, f.rated...)
	answer := map[string]any{
		"data": contracts.RatedBooking{BookingID: id, ServiceRating: item.ServiceRating,
			ServiceRatingMessage: message, PrivateServiceRating: item.PrivateServiceRating, RatedAt: item.RatedAt},
		"meta": contracts.NewMeta(rid, item.RatedAt),
	}
	status := http.StatusOK
	switch f.defect {
	case wrongStatus:
		status = http.StatusCreated
	case rateWithoutMeta:
		delete(answer, "meta")
	}
	f.write(w, status, answer)
}

func (f *fake) fail(w http.ResponseWriter, rid string, status int, code string) {
	var body map[string]any
	if err := roundTrip(contracts.NewError(rid, code, http.StatusText(status), f.now()), &body); err != nil {
		f.write(w, http.StatusInternalServerError, nil)
		return
	}
	if f.defect == errorWithoutCode {
		delete(body["error"].(map[string]any), "code")
	}
	f.write(w, status, body)
}

func (f *fake) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func roundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
