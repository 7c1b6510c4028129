//go:build hermes_testpolicy

package adminpolicy

import "os"

// Test builds only (make build EXTRATAGS=hermes_testpolicy, as tests/
// does): the tests cannot replace the machine's /etc/hermes-exec/policy.yaml
// under other test runs, so they point this build at their own file. The
// file and its directories are still checked as the real one is. The
// shipped binaries are built without this tag and have no override.
func init() {
	if p := os.Getenv("HERMES_TEST_POLICY"); p != "" {
		path = p
	}
}
