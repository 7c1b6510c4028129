// Package testutil holds the helpers tests across the module share, so that
// two copies cannot disagree (two `alive` helpers once did: one counted a
// zombie as running).
package testutil

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireAllEnv, set to 1 (CI sets it in .ci/run), turns every skip for a
// missing capability into a failure: on the CI machine nothing may be
// missing, and a test that silently skipped there would prove nothing.
const RequireAllEnv = "HERMES_TEST_REQUIRE_ALL"

// Skip skips t because the machine lacks what the test needs, saying what;
// with HERMES_TEST_REQUIRE_ALL=1 it fails the test instead.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireAllEnv) == "1" {
		t.Fatalf("%s=1 but this machine lacks what the test needs: %s", RequireAllEnv, msg)
	}
	t.Skip("skipped: " + msg)
}

// Require is Skip for a test that needs what: "needs root", and so on.
func Require(t testing.TB, what string) {
	t.Helper()
	Skip(t, "needs %s", what)
}

// Alive reports whether pid runs. A zombie (ended, waiting for its parent
// to reap it) and a dead process (X) do not run.
func Alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true // unparsable: assume the worst, it runs
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// WaitFor polls cond every 20 ms until it holds or timeout passes, and
// reports whether it held. cond is asked once more at the deadline, so a
// slow machine that got there late still sees the last state.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}
