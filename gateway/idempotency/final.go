package idempotency

import (
	"net/http"

	"github.com/minbil/minbil-bff/contracts"
)

// Final reports whether an upstream answer is the final outcome of the
// request, worth recording and replaying for the records' TTL: a success, or
// a refusal that describes the request itself (malformed, unknown or foreign
// booking, already rated, invalid rating). code is the contract error code
// of the answer's body ("" for a success or a body without one).
//
// Everything else is the state of a moment and is never recorded, so a retry
// with the same key tries again (OA-09): 401 (the token), 408, 425,
// 429, every 5xx, a 409 for a request still in flight or a booking not yet
// completed, and any status not named here. A retry that reaches the
// upstream again is safe: the upstream refuses to rate a booking twice.
func Final(status int, code string) bool {
	switch status {
	case http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent:
		return true
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound,
		http.StatusMethodNotAllowed, http.StatusGone, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return true
	case http.StatusConflict:
		return code == contracts.CodeAlreadyRated
	}
	return false
}
