package wire_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
)

// Everything Build starts (gateway, in-process mock, authenticator, tracer
// provider) must be gone after Shutdown; the library goroutines that end on
// their own are wiretest.LibraryGoroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, wiretest.LibraryGoroutines()...)
}
