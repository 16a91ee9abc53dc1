package fullstack

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
)

// Every goroutine of the gateway, the mock and these tests must be gone
// when the tests end; the library goroutines that end on their own are
// wiretest.LibraryGoroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, wiretest.LibraryGoroutines()...)
}
