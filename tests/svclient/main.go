// Command svclient talks to the supervisor's socket directly, without the
// wrapper's classification or the user's config: what a user who bypasses
// hermes-exec can do. The tests run it as a real user to check that the
// supervisor enforces the administrator's policy on its own side.
//
//	svclient [-memory BYTES] [-session ID] -- ARGV...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"hermes-exec/isolate"
	"hermes-exec/isolate/supervisorexec"
)

func main() {
	memory := flag.Int64("memory", 0, "memory limit to ask for, in bytes")
	session := flag.String("session", "", "session id")
	persist := flag.String("persist", "none", "container.persist")
	flag.Parse()
	be := supervisorexec.New(supervisorexec.Options{Request: supervisorexec.Request{Memory: *memory, Persist: *persist}})
	st, err := be.Run(context.Background(), isolate.Spec{
		Args: flag.Args(), Env: []string{"PATH=/usr/bin:/bin"}, Session: *session,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		os.Exit(126)
	}
	if st.Reason != "" {
		fmt.Fprintf(os.Stderr, "hermes-exec: %s\n", st.Reason)
	}
	os.Exit(st.Code)
}
