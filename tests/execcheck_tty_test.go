package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An exec stopped deep inside a command is asked about on the terminal,
// with its chain, like a top-level command.
func TestExecChecksAskOnTheTerminal(t *testing.T) {
	requireRoot(t, "the victim directory lives under /etc")
	for _, pipes := range []bool{true} {
		name := "pty"
		if pipes {
			name = "pipes"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.writeConfig("terminal:\n  exec_checks: on\n")
			victim, err := os.MkdirTemp("/etc", "hermes-exec-checks-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(victim) })
			os.WriteFile(filepath.Join(e.dir, "clean.sh"), []byte("#!/bin/sh\nd=\"$1\"\nsh -c 'rm -rf \"$0\"' \"$d\"\n"), 0o755)
			s := e.startTTY(pipes, nil, "-c", "./clean.sh "+victim+"; echo done=$?")
			deadline := time.Now().Add(15 * time.Second)
			for !strings.Contains(s.screenText(), "rm -rf "+victim) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if !strings.Contains(s.screenText(), "rm -rf "+victim) {
				t.Fatalf("no prompt; terminal:\n%s\noutput:\n%s", s.screenText(), s.outText())
			}
			if !strings.Contains(s.screenText(), "->") {
				t.Errorf("the prompt does not show the chain:\n%s", s.screenText())
			}
			s.send("y")
			s.wait(15 * time.Second)
			if _, err := os.Stat(victim); err == nil {
				t.Fatalf("approved on the terminal, the rm did not run:\n%s", s.screenText())
			}
		})
	}
}
