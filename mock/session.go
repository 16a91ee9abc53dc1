package mock

import (
	"container/list"
	"errors"
	"net/http"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/header"
)

// HeaderSession gives a request its own world: every session id has its
// own owners and ratings, seeded exactly like the default world, created on
// first use. Without it a request acts in the shared default world.
const HeaderSession = header.MockSessionName

// Bounds of the session worlds. Together they hold at most their share of
// Config.MaxBytes (see shares); beyond it, or beyond maxSessions worlds,
// whole worlds are dropped, least recently used first, and a dropped
// session starts afresh, seeded, on its next request. The world in use is
// never dropped: inside it the default world's rules hold, with a share of
// its own.
const (
	maxSessions = 256
	// sessionCost is what an empty world costs besides its id: its store,
	// maps and list element. An id is at most header.MaxMockSessionLen.
	sessionCost = 1 << 10
)

// DevHeaders lists the request headers that steer the mock (the fault
// headers and the session header), for a gateway in front of the mock that
// passes them through in development.
func DevHeaders() []string { return []string{HeaderPrefer, HeaderDelay, HeaderSession} }

// sessions holds the session worlds, most recently used first. The default
// world is not among them: it is Server.store, which the state file keeps.
type sessions struct {
	mu    sync.Mutex
	order *list.List // of *session, most recently used at the front
	byID  map[string]*list.Element
	// maxBytes bounds the worlds together (store.bytes and sessionCost
	// each).
	maxBytes int64
	// newStore builds an empty world seeded like the default one.
	newStore func() *store
}

type session struct {
	id    string
	store *store
}

func newSessions(maxBytes int64, newStore func() *store) *sessions {
	return &sessions{order: list.New(), byID: map[string]*list.Element{}, maxBytes: maxBytes, newStore: newStore}
}

// get returns the world of the session id, creating it on first use, and
// drops the least recently used worlds beyond the bounds. The world
// returned is never the one dropped.
func (ss *sessions) get(id string) *store {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if e, ok := ss.byID[id]; ok {
		ss.order.MoveToFront(e)
		ss.trimLocked()
		return e.Value.(*session).store
	}
	st := ss.newStore()
	ss.byID[id] = ss.order.PushFront(&session{id: id, store: st})
	ss.trimLocked()
	return st
}

// reset forgets the session id: its next request starts from the seed.
func (ss *sessions) reset(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if e, ok := ss.byID[id]; ok {
		ss.order.Remove(e)
		delete(ss.byID, id)
	}
}

func (ss *sessions) totalLocked() int64 {
	var total int64
	for e := ss.order.Front(); e != nil; e = e.Next() {
		total += e.Value.(*session).cost()
	}
	return total
}

func (s *session) cost() int64 { return sessionCost + int64(len(s.id)) + s.store.bytes() }

// trimLocked drops the least recently used worlds until the bounds hold,
// keeping the most recent one whatever its size. The caller holds mu.
func (ss *sessions) trimLocked() {
	total := ss.totalLocked()
	for ss.order.Len() > 1 && (ss.order.Len() > maxSessions || total > ss.maxBytes) {
		e := ss.order.Back()
		s := e.Value.(*session)
		total -= s.cost()
		ss.order.Remove(e)
		delete(ss.byID, s.id)
	}
}

// sessionID reads X-Mock-Session: "" without one (the default world); a
// value header.MockSession refuses is a 400 in its words.
func sessionID(c *fiber.Ctx) (string, error) {
	id, err := header.MockSession(header.Values(&c.Request().Header, HeaderSession))
	var ref *header.Refusal
	if errors.As(err, &ref) {
		return "", newAPIError(http.StatusBadRequest, contracts.CodeBadRequest, ref.Message)
	}
	return id, err
}

// checkSession refuses a malformed X-Mock-Session on every route, before
// anything else reads the request (a gateway in front of the mock does the
// same): a malformed session is a client's bug wherever it is sent, and
// one rule everywhere answers the same whichever server a client talks to.
func checkSession(c *fiber.Ctx) error {
	if _, err := sessionID(c); err != nil {
		return err
	}
	return c.Next()
}

// world returns the store the request acts in: its session's, or the
// default world without X-Mock-Session.
// caller authenticates a request whose token is optional and returns the
// owner it acts for and the world (session) it acts in.
func (s *Server) caller(c *fiber.Ctx) (key string, demo bool, st *store, err error) {
	if key, demo, err = s.authenticate(c, false); err != nil {
		return "", false, nil, err
	}
	st, err = s.world(c)
	return key, demo, st, err
}

func (s *Server) world(c *fiber.Ctx) (*store, error) {
	id, err := sessionID(c)
	if err != nil || id == "" {
		return s.store, err
	}
	return s.sessions.get(id), nil
}

// PathReset puts the mock back to its seeded state: POST, 204. With
// X-Mock-Session only that session is reset.
const PathReset = "/_mock/reset"

// reset answers POST /_mock/reset.
func (s *Server) reset(c *fiber.Ctx) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	if id != "" {
		s.sessions.reset(id)
		return c.SendStatus(http.StatusNoContent)
	}
	if err := s.store.reset(); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
