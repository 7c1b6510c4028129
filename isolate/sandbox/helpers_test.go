package sandbox

import (
	"os"
	"testing"

	"hermes-exec/internal/testutil"
)

// requireRoot skips, saying why, where the test needs root's cgroups (CI
// runs as root; a rootless sandbox cannot enforce limits on cgroup v1).
func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		testutil.Skip(tb, "needs root: the sandbox's cgroup limits need root on this machine")
	}
}
