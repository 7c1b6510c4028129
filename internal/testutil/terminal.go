package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// HumanTerminal returns the command line that runs argv the way a human's
// terminal reaches a shell: the terminal's session is started by a party
// the command cannot see (a new PID namespace, which only root can make),
// as sshd starts it for an ordinary user and a container runtime for
// `docker run -it`. A test that drives the approval prompt must model
// that: a test program holding the terminal's master in view of
// hermes-exec is exactly the program typing "y" that must be refused.
// Needs root (CAP_SYS_ADMIN) and unshare(1); skips, with the reason,
// otherwise.
func HumanTerminal(t testing.TB, argv ...string) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "a human-like terminal needs a PID namespace, which needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		Skip(t, "unshare(1) (util-linux) is missing: %v", err)
	}
	return append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}, argv...)
}
