package mock

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// PathBookings lists the caller's bookings with their state. It is not part
// of the MinBil API: the real API has no bookings listing in this namespace,
// and a frontend developer needs to know which bookings can be rated.
const PathBookings = "/_mock/bookings"

// BookingState is one booking of an owner as the mock holds it.
type BookingState struct {
	BookingID int64  `json:"booking_id"`
	Status    string `json:"status"`
	Rated     bool   `json:"rated"`
	// Rateable: completed and not rated yet.
	Rateable bool `json:"rateable"`
}

// bookingsList is the answer of GET /_mock/bookings.
type bookingsList struct {
	Items []BookingState `json:"items"`
}

func (s *store) bookingStates(key string, demo bool) []BookingState {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.ownerLocked(key, demo)
	out := make([]BookingState, 0, len(o.Bookings))
	for _, b := range o.Bookings {
		rated := b.Rating != nil
		out = append(out, BookingState{BookingID: b.ID, Status: b.Status, Rated: rated,
			Rateable: b.Status == statusCompleted && !rated})
	}
	return out
}

// listBookings answers GET /_mock/bookings for the token's owner (the demo
// owner without a token).
func (s *Server) listBookings(c *fiber.Ctx) error {
	key, demo, st, err := s.caller(c)
	if err != nil {
		return err
	}
	return s.sendJSON(c, http.StatusOK, bookingsList{Items: st.bookingStates(key, demo)})
}
