package mock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v6"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/mock/record"
)

// RecordConfig makes the mock a recorder: every operation is forwarded to
// a real upstream and each answer written, scrubbed, as a fixture.
type RecordConfig struct {
	// Upstream is the real API's base URL.
	Upstream string
	// APIKey is sent to the upstream in APIKeyHeader (X-API-Key when
	// empty); never written to a fixture.
	APIKey       string
	APIKeyHeader string
	// Fixtures is the directory the fixtures are written to.
	Fixtures string
	// Transport replaces http.DefaultTransport (tests).
	Transport http.RoundTripper
}

// fixtures is the record or replay mode of a Server; the zero value is
// neither.
type fixtures struct {
	proxy *record.Proxy // recording
	dir   *record.Dir
	set   *record.Set // replaying
}

// validateFixtures checks the record and replay settings.
func (c Config) validateFixtures() []error {
	var errs []error
	if c.Record != nil && c.Replay != "" {
		errs = append(errs, errors.New("record, replay: choose one"))
	}
	if c.Record != nil && c.Record.Fixtures == "" {
		errs = append(errs, errors.New("record: a fixtures directory is required"))
	}
	if (c.Record != nil || c.Replay != "") && c.StateFile != "" {
		errs = append(errs, errors.New("state_file: not with record or replay (their state is the fixtures)"))
	}
	return errs
}

// openFixtures prepares the record or replay mode of cfg: the recorder, or
// the loaded fixtures (each validated against the contract; drifted ones
// are listed in the log) and the generator of the recorded bookings.
func openFixtures(cfg Config, c *contracts.Contract, log *zap.Logger, st *store) (fixtures, error) {
	switch {
	case cfg.Record != nil:
		dir, err := record.Create(cfg.Record.Fixtures, c)
		if err != nil {
			return fixtures{}, err
		}
		// A directory replay would refuse is refused before recording into
		// it: a recording next to fixtures of an older format would leave
		// one that never loads.
		if _, err := dir.Load(context.Background()); err != nil {
			return fixtures{}, fmt.Errorf("record: %w", err)
		}
		p, err := record.NewProxy(record.ProxyConfig{Upstream: cfg.Record.Upstream, APIKey: cfg.Record.APIKey,
			APIKeyHeader: cfg.Record.APIKeyHeader, Transport: cfg.Record.Transport}, dir)
		if err != nil {
			return fixtures{}, err
		}
		return fixtures{proxy: p, dir: dir}, nil
	case cfg.Replay != "":
		dir, err := record.Open(cfg.Replay, c)
		if err != nil {
			return fixtures{}, err
		}
		set, err := dir.Load(context.Background())
		if err != nil {
			return fixtures{}, fmt.Errorf("replay: %w", err)
		}
		log.Info("replaying fixtures", zap.String("dir", cfg.Replay), zap.Int("fixtures", set.Len()), zap.Int("drifted", len(set.Drifted)))
		for _, name := range set.Drifted {
			f, _ := set.Get(name)
			log.Warn("fixture breaks the contract", zap.String("fixture", record.FileName(name)), zap.Strings("violations", f.Contract.Violations))
		}
		tmpl := recordedBookings(set, log)
		st.generate = func(_ int64, key string, demo bool, prefix int64) *owner {
			o := &owner{Key: key, Demo: demo, Prefix: prefix}
			for _, b := range tmpl {
				cp := *b
				if b.Rating != nil {
					r := *b.Rating
					cp.Rating = &r
				}
				o.Bookings = append(o.Bookings, &cp)
			}
			return o
		}
		return fixtures{dir: dir, set: set}, nil
	}
	return fixtures{}, nil
}

// recordedBookings builds, from the fixtures, the bookings every owner
// starts with when replaying: the rated ones of the recorded list, and the
// ones a recorded rating answered 2xx for, unrated (the recording rated
// them; replaying lets you rate them again, once). A booking the list does
// not show gets generated details.
func recordedBookings(set *record.Set, log *zap.Logger) []*booking {
	byID := map[int64]*booking{}
	if f, ok := set.Get(record.Name(record.Request{Method: http.MethodGet, Path: contracts.PathRatings})); ok && f.Status == http.StatusOK {
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(f.Body, &list); err != nil {
			log.Warn("recorded list unreadable", zap.Error(err))
		}
		for i, raw := range list.Items {
			var it contracts.RatingItem
			if err := json.Unmarshal(raw, &it); err != nil || it.BookingID < 1 {
				log.Warn("recorded list item skipped", zap.Int("index", i))
				continue
			}
			byID[it.BookingID] = &booking{ID: it.BookingID, WorkshopOrgNr: it.WorkshopOrgNr, WorkshopName: it.WorkshopName,
				ServiceID: it.ServiceID, ServiceTitle: it.ServiceTitle, RegistrationNumber: it.RegistrationNumber,
				Status: it.Status, Start: it.ServiceStartTime, EstimatedEnd: it.ServiceEstimatedEndTime, ActualEnd: it.ServiceActualEndTime,
				Rating: &rating{Stars: it.ServiceRating, Message: it.ServiceRatingMessage, Private: it.PrivateServiceRating, RatedAt: it.RatedAt}}
		}
	}
	set.Each(func(_ string, f record.Fixture) {
		idText, ok := strings.CutPrefix(f.Request.Path, contracts.PathRatePrefix)
		if f.Request.Method != http.MethodPost || !ok || f.Status < 200 || f.Status > 299 {
			return
		}
		id, err := contracts.ParseBookingID(idText)
		if err != nil {
			return
		}
		b, ok := byID[id]
		if !ok {
			fk := gofakeit.NewUnlocked(fakerSeed(1, "recorded\x00"+idText))
			b = fakeBooking(fk, kindUnrated, id, []workshop{fakeWorkshop(fk)}, []string{fakePlate(fk)})
			byID[id] = b
		}
		b.Status, b.Rating = statusCompleted, nil
		if b.ActualEnd.IsZero() {
			b.ActualEnd = b.EstimatedEnd
		}
	})
	out := make([]*booking, 0, len(byID))
	for _, b := range byID {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *booking) int { return compareInt64(a.ID, b.ID) })
	return out
}

// missingFixture is the answer to a request the fixtures do not answer.
func (s *Server) missingFixture(c *fiber.Ctx, name string) error {
	s.log.Warn("no fixture for this request", zap.String("method", utils.CopyString(c.Method())),
		zap.String("path", utils.CopyString(c.Path())), zap.String("fixture", record.FileName(name)))
	return newAPIError(http.StatusNotFound, contracts.CodeNotFound,
		fmt.Sprintf("No fixture for this request: %s is missing in %s.", record.FileName(name), s.fx.dir.Path()))
}

// fixtureName is the name of the fixture that answers the request.
func (s *Server) fixtureName(c *fiber.Ctx) string {
	return record.Name(record.Request{Method: c.Method(), Path: c.Path(),
		Query: s.fx.dir.ScrubQuery(string(c.Request().URI().QueryString()))})
}

// serveFixture answers with a recorded answer; its meta gets this
// request's id and time, and a username check the username asked for.
// Load let through only the contract's statuses, a JSON object as the body
// and the allowed headers; the body is served as JSON, never sniffed.
func (s *Server) serveFixture(c *fiber.Ctx, f record.Fixture) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	for k, v := range f.Header {
		c.Set(k, v)
	}
	body := []byte(f.Body)
	var v map[string]any
	if json.Unmarshal(f.Body, &v) == nil {
		if meta, ok := v["meta"].(map[string]any); ok {
			meta["request_id"], meta["generated_at"] = requestID(c), s.now().UTC().Format(time.RFC3339)
		}
		if _, ok := v["username"]; ok && c.Path() == contracts.PathCheckUsername {
			v["username"] = string(c.Request().URI().QueryArgs().Peek("username"))
		}
		if b, err := json.Marshal(v); err == nil {
			body = b
		}
	}
	c.Status(f.Status)
	return c.Send(body)
}

// replayCheckUsername answers a username check from its fixture.
func (s *Server) replayCheckUsername(c *fiber.Ctx) error {
	if _, _, err := s.authenticate(c, true); err != nil {
		return err
	}
	return s.serveRecorded(c)
}

// serveRecorded answers with the request's fixture, or says it is missing.
func (s *Server) serveRecorded(c *fiber.Ctx) error {
	name := s.fixtureName(c)
	f, ok := s.fx.set.Get(name)
	if !ok {
		return s.missingFixture(c, name)
	}
	return s.serveFixture(c, f)
}

// replayList answers the list from the recorded bookings with the mock's
// state on top; without a recorded list it is a missing fixture.
func (s *Server) replayList(c *fiber.Ctx) error {
	name := s.fixtureName(c)
	if f, ok := s.fx.set.Get(name); !ok || f.Status != http.StatusOK {
		if ok {
			return s.serveFixture(c, f)
		}
		return s.missingFixture(c, name)
	}
	return s.listRatings(c)
}

// replayMiss is consulted when a rating finds no such booking in the
// replayed state: the recorded answer (a 404 or a 409 the upstream gave),
// or a missing fixture.
func (s *Server) replayMiss(c *fiber.Ctx, err error) error {
	if s.fx.set == nil || !errors.Is(err, errBookingNotFound) {
		return err
	}
	return s.serveRecorded(c)
}

// recordOperation forwards an operation to the upstream, records the
// answer and passes it to the caller as the upstream gave it.
func (s *Server) recordOperation(c *fiber.Ctx) error {
	in := record.Incoming{Method: utils.CopyString(c.Method()), Path: utils.CopyString(c.Path()),
		Query: string(c.Request().URI().QueryString()), Header: http.Header{}}
	for k, v := range c.Request().Header.All() {
		in.Header.Add(string(k), string(v))
	}
	if body := c.Request().Body(); len(body) > 0 {
		in.Body = append([]byte(nil), body...)
	}
	ans, err := s.fx.proxy.Forward(c.UserContext(), in)
	if errors.Is(err, record.ErrUpstream) {
		s.log.Warn("upstream unreachable", zap.Error(err))
		return newAPIError(http.StatusBadGateway, contracts.CodeBadGateway, "The upstream could not be reached; nothing was recorded.")
	}
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	fields := []zap.Field{zap.Int("status", ans.Status), zap.Bool("written", ans.Written)}
	if ans.Fixture != "" {
		fields = append(fields, zap.String("fixture", record.FileName(ans.Fixture)))
	}
	if !ans.Verdict.OK {
		s.log.Warn("recorded answer breaks the contract", append(fields, zap.Strings("violations", ans.Verdict.Violations))...)
	} else {
		s.log.Info("recorded", fields...)
	}
	for _, h := range []string{fiber.HeaderContentType, fiber.HeaderRetryAfter, fiber.HeaderWWWAuthenticate} {
		if v := ans.Header.Get(h); v != "" {
			c.Set(h, v)
		}
	}
	c.Status(ans.Status)
	return c.Send(ans.Body)
}

// fixtureHandlers replaces the operations' handlers in record or replay
// mode.
func (s *Server) fixtureHandlers(h map[string]fiber.Handler) {
	switch {
	case s.fx.proxy != nil:
		for id := range h {
			h[id] = s.recordOperation
		}
	case s.fx.set != nil:
		h[contracts.OpCheckUsername] = s.replayCheckUsername
		h[contracts.OpListRatings] = s.replayList
	}
}
