package gateway

import "sync"

// seenKinds remembers up to max distinct strings, so that a recurring
// problem is logged once, not on every request.
type seenKinds struct {
	mu   sync.Mutex
	max  int
	keys map[string]struct{}
}

func newSeenKinds(max int) *seenKinds {
	return &seenKinds{max: max, keys: map[string]struct{}{}}
}

// first reports whether key is new; once max keys are held, every unknown
// key is reported as not new, so memory stays bounded.
func (s *seenKinds) first(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key]; ok || len(s.keys) >= s.max {
		return false
	}
	s.keys[key] = struct{}{}
	return true
}
