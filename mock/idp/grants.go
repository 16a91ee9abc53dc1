package idp

import (
	"container/list"
	"crypto/subtle"
	"errors"
	"slices"
	"strings"
	"time"
)

// signIn is what a token answer is issued for: the OAuth client, the user
// and the scope they signed in with.
type signIn struct {
	clientID string
	scope    string
	sub      string
	nonce    string // of the authorization request; never repeated on refresh
}

// grant is a pending authorization code: the sign-in it stands for and
// what the exchange must repeat.
type grant struct {
	signIn
	redirectURI string
	challenge   string
	// requester is who asked for the code (requesterOf), the key of its
	// per-requester bound.
	requester string
	expires   time.Time
}

// Refusals of a new code by a full table.
var (
	errRequesterFull = errors.New("idp: too many pending codes for this requester")
	errCodesFull     = errors.New("idp: too many pending codes")
)

// codeTable holds the pending authorization codes, bounded in all (max)
// and per requester (perRequester). A full table refuses a new code rather
// than forget a pending one: forgetting the oldest let one client's flood
// of /authorize void everyone else's sign-in in progress (R3-F13), while a
// refusal stops only the client over its bound. The caller holds
// Provider.mu.
type codeTable struct {
	max, perRequester int
	items             map[string]*grant
	pending           map[string]int // requester → codes it has in items
	// order is the insertion order of codes, which is their expiry order
	// (one lifetime for all); it may name codes already taken.
	order []string
}

func newCodeTable(max, perRequester int) *codeTable {
	return &codeTable{max: max, perRequester: perRequester, items: map[string]*grant{}, pending: map[string]int{}}
}

// put adds code unless its requester or the table is full (errRequesterFull,
// errCodesFull), after forgetting the codes expired by now.
func (t *codeTable) put(code string, g *grant, now time.Time) error {
	t.expire(now)
	switch {
	case t.pending[g.requester] >= t.perRequester:
		return errRequesterFull
	case len(t.items) >= t.max:
		return errCodesFull
	}
	t.items[code] = g
	t.pending[g.requester]++
	t.order = append(t.order, code)
	return nil
}

// take removes and returns the grant of code, and whether it is still
// valid at now: a code works once.
func (t *codeTable) take(code string, now time.Time) (*grant, bool) {
	g, ok := t.items[code]
	if !ok {
		return nil, false
	}
	t.remove(code, g)
	return g, now.Before(g.expires)
}

func (t *codeTable) remove(code string, g *grant) {
	delete(t.items, code)
	if t.pending[g.requester] <= 1 {
		delete(t.pending, g.requester)
	} else {
		t.pending[g.requester]--
	}
}

// expire forgets the codes expired by now, which are at the front of
// order, and compacts order when taken codes make up most of it.
func (t *codeTable) expire(now time.Time) {
	for len(t.order) > 0 {
		g, ok := t.items[t.order[0]]
		if ok && now.Before(g.expires) {
			break
		}
		if ok {
			t.remove(t.order[0], g)
		}
		t.order = t.order[1:]
	}
	if len(t.order) > 2*t.max {
		t.order = slices.DeleteFunc(t.order, func(code string) bool { return t.items[code] == nil })
	}
}

// family is the chain of refresh tokens of one sign-in (RFC 9700
// §4.14.2): each refresh replaces its one live token. A refresh token is
// the family's id, a dot and a secret, so a token presented again after
// it was replaced still names its family, which is then revoked: one of
// the two parties holding it is not the client (R3-F21).
type family struct {
	signIn
	id      string
	live    string // the secret of the one valid token
	expires time.Time
	elem    *list.Element // in families.order
}

func (f *family) token() string { return f.id + "." + f.live }

// OAuth refusals of the token endpoint (RFC 6749 §5.2).
type oauthRefusal struct{ code, description string }

func (e *oauthRefusal) Error() string { return e.code + ": " + e.description }

var (
	errRefreshUnknown = &oauthRefusal{"invalid_grant", "the refresh token is unknown, revoked or expired"}
	errRefreshReused  = &oauthRefusal{"invalid_grant",
		"the refresh token was already used, so it may be stolen: every refresh token of this sign-in is now revoked (RFC 9700 §4.14.2); sign in again"}
	errRefreshClient = &oauthRefusal{"invalid_grant",
		"client_id is not the one the refresh token was issued to: every refresh token of this sign-in is now revoked; sign in again"}
)

// families holds the refresh-token families, at most max, least recently
// refreshed first; past max that one is forgotten (its token then fails
// as unknown). The caller holds Provider.mu.
type families struct {
	max   int
	byID  map[string]*family
	order *list.List // of *family, least recently refreshed at the front
}

func newFamilies(max int) *families {
	return &families{max: max, byID: map[string]*family{}, order: list.New()}
}

// start begins the family of a sign-in and returns its first refresh
// token, valid for life from now.
func (fs *families) start(s signIn, now time.Time, life time.Duration) string {
	for fs.order.Len() > 0 {
		oldest := fs.order.Front().Value.(*family)
		if fs.order.Len() < fs.max && now.Before(oldest.expires) {
			break
		}
		fs.revoke(oldest)
	}
	s.nonce = ""
	f := &family{signIn: s, id: randomSecret()[:22], live: randomSecret(), expires: now.Add(life)}
	f.elem = fs.order.PushBack(f)
	fs.byID[f.id] = f
	return f.token()
}

// rotate redeems token for clientID: it replaces the family's live token
// with a new one, valid for life from now, and returns the family. A token
// of the family other than the live one, or the live one from another
// client, revokes the family.
func (fs *families) rotate(token, clientID string, now time.Time, life time.Duration) (*family, error) {
	id, secret, _ := strings.Cut(token, ".")
	f := fs.byID[id]
	switch {
	case f == nil:
		return nil, errRefreshUnknown
	case !now.Before(f.expires):
		fs.revoke(f)
		return nil, errRefreshUnknown
	case subtle.ConstantTimeCompare([]byte(secret), []byte(f.live)) != 1:
		fs.revoke(f)
		return nil, errRefreshReused
	case f.clientID != clientID:
		fs.revoke(f)
		return nil, errRefreshClient
	}
	f.live = randomSecret()
	f.expires = now.Add(life)
	fs.order.MoveToBack(f.elem)
	return f, nil
}

func (fs *families) revoke(f *family) {
	delete(fs.byID, f.id)
	fs.order.Remove(f.elem)
}
