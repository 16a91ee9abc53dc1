package contracts

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The contract's operation ids. They name breakers, metrics, routes and
// config keys (auth.require_token_on).
const (
	OpCheckUsername = "checkUsername"
	OpListRatings   = "listRatings"
	OpRateBooking   = "rateBooking"
)

// The operations' paths, in the document's template form.
const (
	PathCheckUsername = "/api/co/profile/check-username"
	PathRatings       = "/api/co/rating"
	PathRate          = PathRatePrefix + "{booking_id}"
	// PathRatePrefix is the rate path up to its booking id.
	PathRatePrefix = "/api/co/rating/rate/"
	// bookingIDParam is the name of PathRate's parameter.
	bookingIDParam = "booking_id"
)

// Endpoint is one operation of the contract as code needs it: its id, its
// method and its path. Load checks each against the embedded document.
type Endpoint struct {
	ID     string
	Method string
	// Path is the document's path template, e.g. PathRate.
	Path string
}

// endpoints are the operations of the Ratings namespace in the order the
// documentation lists them: every fact about an operation's id, method and
// path is written here once.
var endpoints = [...]Endpoint{
	{ID: OpCheckUsername, Method: "GET", Path: PathCheckUsername},
	{ID: OpListRatings, Method: "GET", Path: PathRatings},
	{ID: OpRateBooking, Method: "POST", Path: PathRate},
}

// Endpoints returns the operations of the contract.
func Endpoints() []Endpoint { return append([]Endpoint(nil), endpoints[:]...) }

// OperationIDs returns the ids of every operation.
func OperationIDs() []string {
	ids := make([]string, len(endpoints))
	for i, e := range endpoints {
		ids[i] = e.ID
	}
	return ids
}

// Route is the path in the form of Fiber's router: "{name}" becomes ":name".
func (e Endpoint) Route() string {
	return strings.NewReplacer("{", ":", "}", "").Replace(e.Path)
}

// RatePath is the concrete path of rateBooking for bookingID.
func RatePath(bookingID int64) string {
	return PathRatePrefix + strconv.FormatInt(bookingID, 10)
}

// checkEndpoints reports an endpoint the document does not declare with its
// id, method and path.
func checkEndpoints(doc *openapi3.T) error {
	for _, e := range endpoints {
		item := doc.Paths.Value(e.Path)
		if item == nil {
			return fmt.Errorf("contract: no path %s", e.Path)
		}
		op := item.GetOperation(e.Method)
		if op == nil || op.OperationID != e.ID {
			return fmt.Errorf("contract: %s %s is not operation %s", e.Method, e.Path, e.ID)
		}
	}
	return nil
}
