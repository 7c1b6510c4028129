package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An exec stopped deep inside a command is asked about on the terminal,
// with its chain, like a top-level command: with the command on pipes (an
// agent's layout), and with the command on a pseudo-terminal of its own
// (PTY mode: hermes-exec is on the terminal and relays the keys), where
// the answer typed must reach the question and not the command, which is
// reading its terminal at that moment.
func TestExecChecksAskOnTheTerminal(t *testing.T) {
	requireRoot(t, "the victim directory lives under /etc")
	for _, pipes := range []bool{true, false} {
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
			text := "./clean.sh " + victim + "; echo done=$?"
			if !pipes {
				// The command reads its terminal while the exec is
				// asked about.
				e.ttyOnTerminal = true
				text = "(sleep 1; ./clean.sh " + victim + "; echo done=$?) & read -r line; echo \"got=[$line]\"; wait"
			}
			s := e.startTTY(true, nil, "-c", text)
			deadline := time.Now().Add(30 * time.Second)
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
			if !pipes {
				for _, err := os.Stat(victim); err == nil && time.Now().Before(deadline); _, err = os.Stat(victim) {
					time.Sleep(50 * time.Millisecond)
				}
				s.send("hello\r")
			}
			s.wait(30 * time.Second)
			if _, err := os.Stat(victim); err == nil {
				t.Fatalf("approved on the terminal, the rm did not run:\n%s", s.screenText())
			}
			if !pipes {
				if !strings.Contains(s.screenText(), "got=[hello]") || !strings.Contains(s.screenText(), "done=0") {
					t.Fatalf("the command read the answer, or did not read what was typed after it:\n%s", s.screenText())
				}
			}
		})
	}
}
