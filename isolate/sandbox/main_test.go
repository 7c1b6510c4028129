package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"hermes-exec/isolate"
)

// TestMain lets the test binary be a container's init and reaper, exactly as
// hermes-exec is: libcontainer re-executes /proc/self/exe. With
// SANDBOX_TEST_HELPER set it is instead a stand-in wrapper that runs one
// command (options and spec from the variable), for tests that kill it.
func TestMain(m *testing.M) {
	Init()
	if h := os.Getenv("SANDBOX_TEST_HELPER"); h != "" {
		os.Exit(helperMain(h))
	}
	os.Exit(m.Run())
}

type helperJob struct {
	O       Options
	Args    []string
	Session string
}

func helperMain(spec string) int {
	var j helperJob
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	b, err := New(j.O)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	st, err := b.Run(context.Background(), isolate.Spec{Args: j.Args, Env: os.Environ(), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Session: j.Session})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 126
	}
	return st.Code
}
