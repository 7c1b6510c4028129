//go:build hermes_testpolicy

package supervisorexec

import "os"

// Test builds only: the tests' supervisor listens on a socket of its own
// (the wrapper still checks that root is at the other end). The shipped
// wrapper has no override, so a user cannot point it at a "supervisor" of
// their own that runs commands on the host.
func init() {
	if p := os.Getenv("HERMES_TEST_SUPERVISOR_SOCKET"); p != "" {
		socket = p
	}
}
