package prismtest

import (
	"os"
	"testing"
)

// TestAvailableNeedsNode: an installed Prism is a node script, so with no
// node on the PATH it cannot start, and the tests that need it must skip
// (make test-go on a machine with Go alone) instead of failing to start it.
func TestAvailableNeedsNode(t *testing.T) {
	if _, err := os.Stat(Bin()); err != nil {
		t.Skip("Prism is not installed here (npm ci in contracts/portal/_web), so there is no stale install to hide")
	}
	t.Setenv("PATH", t.TempDir())
	if Available() {
		t.Error("Available() = true with no node on the PATH, want false")
	}
}
