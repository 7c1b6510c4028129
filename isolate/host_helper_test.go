package isolate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/oneshot"
)

// The signal tests need a wrapper process they can signal and kill without
// hurting the test binary, so the test binary doubles as a minimal
// hermes-exec: with helperEnv set it runs its arguments through the host
// backend in pipe mode and exits with the command's status, like the real
// CLI does.
const helperEnv = "ISOLATE_TEST_HOST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "1":
		os.Exit(helperMain(os.Args[1:]))
	case "count-sigint":
		os.Exit(countSIGINT())
	case "tiocsti":
		os.Exit(tryTIOCSTI())
	case "after-end":
		os.Exit(signalAfterEnd(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// countSIGINT is a command that reports how many SIGINTs one ^C gave it:
// it counts those arriving within 300 ms of the first.
func countSIGINT() int {
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGINT)
	fmt.Println("ready")
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		fmt.Println("no SIGINT")
		return 1
	}
	n := 1
	for end := time.After(300 * time.Millisecond); ; {
		select {
		case <-c:
			n++
			continue
		case <-end:
		}
		break
	}
	fmt.Printf("count=%d.\n", n)
	return 0
}

// signalAfterEnd is a wrapper that gets a SIGTERM after its command ended
// and before it has finished its own work (hermes-exec writes the outcome
// record then). One-shot, it carries on and exits with the command's
// status; otherwise the signal ends it, as once the subscriptions are gone.
func signalAfterEnd(args []string) int {
	if os.Getenv("ONESHOT") == "1" {
		oneshot.Set()
	}
	code := helperMain(args)
	_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond) // time for the signal to be handled
	fmt.Println("finished its work")
	return code
}

func helperMain(args []string) int {
	st, err := NewHost().Run(context.Background(), Spec{
		Args:   args,
		Env:    []string{"PATH=" + os.Getenv("PATH")},
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 126
	}
	return st.Code
}

// helperCommand returns a command that runs args through the helper
// wrapper. prefix, if any, is put in front (for example a shell that
// changes signal dispositions before exec'ing the helper).
func helperCommand(t *testing.T, prefix []string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := append(append(append([]string{}, prefix...), self), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	return cmd
}
