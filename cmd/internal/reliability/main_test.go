package reliability

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
)

// Every goroutine of the gateway and of this suite must be gone (L-16);
// the library goroutines that end on their own are
// wiretest.LibraryGoroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, wiretest.LibraryGoroutines()...)
}
