package usernames

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts"
)

// accounted is what the answers go-cache holds should be accounted: the
// cost of each. Items skips expired answers, so a caller that expects some
// compares with held and a fixed cost instead.
func accounted(b *bounded) int64 {
	var sum int64
	for k, it := range b.items.Items() {
		sum += cost(k, it.Object.(contracts.UsernameCheck))
	}
	return sum
}

// Overwriting a key accounts for the answer replaced, live or expired:
// go-cache's Set does not call OnEvicted.
func TestOverwriteAccountedOnce(t *testing.T) {
	const budget = 64 << 10
	const key = "sub:ola\x00ola.nordmann"
	tests := []struct {
		name string
		ttl  time.Duration
	}{
		{"live answers replaced", time.Hour},
		{"expired answers replaced", time.Nanosecond},
	}
	for _, tt := range tests {
		b := newBounded(tt.ttl, budget)
		var last contracts.UsernameCheck
		for i := range 2000 {
			last = contracts.UsernameCheck{Available: i%2 == 0, Message: strings.Repeat("m", i%300)}
			if !b.set(key, last) {
				t.Fatalf("%s: set #%d refused, want it kept", tt.name, i)
			}
			if got := b.bytes(); got > budget {
				t.Fatalf("%s: bytes after %d writes = %d, want at most %d", tt.name, i+1, got, budget)
			}
		}
		if got, want := b.bytes(), cost(key, last); got != want {
			t.Errorf("%s: bytes after 2000 writes of one key = %d, want %d (one answer)", tt.name, got, want)
		}
		if got := b.items.ItemCount(); got != 1 {
			t.Errorf("%s: entries after 2000 writes of one key = %d, want 1", tt.name, got)
		}
	}
}

// F-28: a flood of 10,000 distinct usernames never takes the cache past
// its budget, and the bytes accounted are those of the answers held,
// whether the answers expire (DeleteExpired makes room) or stay live (the
// oldest are evicted).
func TestBudgetHeldUnder10000Usernames(t *testing.T) {
	answer := contracts.UsernameCheck{Available: true, Message: "The username is available."}
	fetch := func(context.Context) (contracts.UsernameCheck, error) { return answer, nil }
	tests := []struct {
		name   string
		ttl    time.Duration
		budget int64
	}{
		{"live answers, small budget", time.Hour, 64 << 10},
		{"expiring answers, small budget", time.Nanosecond, 64 << 10},
		{"live answers, 1 MiB", time.Hour, 1 << 20},
		{"live answers, default budget", time.Hour, 0},
	}
	for _, tt := range tests {
		c := New(tt.ttl, tt.budget)
		budget := c.items.maxBytes
		var key string
		for i := range 10_000 {
			key = fmt.Sprintf("sub:flood\x00name%05d", i) // every key the same length
			if _, _, err := c.Get(context.Background(), key, fetch); err != nil {
				t.Fatalf("%s: Get(%q) = %v", tt.name, key, err)
			}
			if got := c.Bytes(); got > budget {
				t.Fatalf("%s: bytes after %d names = %d, want at most %d", tt.name, i+1, got, budget)
			}
		}
		each := cost(key, answer)
		if got, want := c.Bytes(), int64(held(c))*each; got != want {
			t.Errorf("%s: bytes = %d, want %d (%d answers held of %d bytes each)", tt.name, got, want, held(c), each)
		}
		if !c.items.set("sub:late\x00newcomer", answer) {
			t.Errorf("%s: a new answer after 10,000 names was refused, want room made for it", tt.name)
		}
	}
}

// floodRun is one measurement of TestFloodHitRate: ordinary users
// re-checking their own usernames while a flood of distinct ones arrives.
type floodRun struct {
	users, flood, rounds int
	// late: the users' first checks come after half the flood, so they
	// find the cache already full.
	late bool
}

// hitRate runs r against c and returns the share of the users' re-checks
// that were hits. Each round sends flood/rounds new names, then every user
// checks their own name once.
func (r floodRun) hitRate(t *testing.T, c *Cache) float64 {
	t.Helper()
	answer := contracts.UsernameCheck{Available: true, Message: "The username is available."}
	fetch := func(context.Context) (contracts.UsernameCheck, error) { return answer, nil }
	get := func(key string) bool {
		_, hit, err := c.Get(context.Background(), key, fetch)
		if err != nil {
			t.Fatalf("Get(%q) = %v", key, err)
		}
		return hit
	}
	user := func(i int) string { return fmt.Sprintf("sub:user%04d\x00name%04d", i, i) }
	perRound, next := r.flood/r.rounds, 0
	firstRound := 0
	if r.late {
		firstRound = r.rounds / 2
	}
	var hits, rechecks int
	for round := range r.rounds {
		for range perRound {
			get(fmt.Sprintf("sub:bot%05d\x00flood%05d", next, next))
			next++
		}
		if round < firstRound {
			continue
		}
		for i := range r.users {
			if hit := get(user(i)); round > firstRound {
				rechecks++
				if hit {
					hits++
				}
			}
		}
	}
	return float64(hits) / float64(rechecks)
}

// TestFloodHitRate measures the choice bounded makes when live answers
// fill the budget: evict the oldest, or refuse the new answer. 200
// ordinary users re-check their own usernames while 10,000 distinct
// usernames flood the cache, in 50 rounds (each round 200 flood names,
// then one check by every user); the users come either before the flood
// or once half of it has filled the cache. The answers outlive the run,
// so only the budget makes room. The table is in the test log.
//
// Refusing keeps every answer of the users who came first, but locks out
// everyone who comes after the flood filled the cache, until their TTL;
// evicting costs the first comers a miss each time the flood has turned
// the cache over. The cache evicts because the worst case of an ordinary
// user is then far better: the test fails if the measurement says
// otherwise.
func TestFloodHitRate(t *testing.T) {
	const users, flood, rounds = 200, 10_000, 50
	// A budget of about 2,000 answers, a fifth of the flood, and the
	// default, which holds the whole flood.
	small := 2000 * cost("sub:user0000\x00name0000", contracts.UsernameCheck{Message: "The username is available."})
	budgets := []struct {
		name  string
		bytes int64
	}{{"2,000 answers", small}, {"default (8 MiB)", DefaultMaxBytes}}
	policies := []struct {
		name   string
		refuse bool
	}{{"evict", false}, {"refuse", true}}
	arrivals := []struct {
		name string
		late bool
	}{{"before the flood", false}, {"mid-flood", true}}

	worst := map[string]float64{} // by policy, with the small budget
	t.Logf("%-16s %-7s %-17s %s", "budget", "policy", "users arrive", "users' hit rate")
	for _, b := range budgets {
		for _, p := range policies {
			for _, a := range arrivals {
				c := New(time.Hour, b.bytes)
				c.items.refuseWhenFull = p.refuse
				rate := floodRun{users: users, flood: flood, rounds: rounds, late: a.late}.hitRate(t, c)
				t.Logf("%-16s %-7s %-17s %5.1f%%", b.name, p.name, a.name, 100*rate)
				if b.bytes == small {
					if w, ok := worst[p.name]; !ok || rate < w {
						worst[p.name] = rate
					}
				}
			}
		}
	}
	if worst["evict"] <= worst["refuse"] {
		t.Errorf("worst hit rate of ordinary users: evict %.1f%%, refuse %.1f%%; want evict better, or the cache should refuse",
			100*worst["evict"], 100*worst["refuse"])
	}
}
