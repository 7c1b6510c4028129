package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveShellSkipsItself(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks("/bin/bash")
	if err != nil {
		t.Skip("no /bin/bash")
	}
	d1, d2 := t.TempDir(), t.TempDir()
	os.Symlink(self, filepath.Join(d1, "bash"))
	os.Link(self, filepath.Join(d2, "bash")) // a hard link is still us (may fail across devices)
	got, links, err := resolveShell("bash", "", d1+":"+d2+":relative:"+filepath.Dir(real))
	if err != nil || got != filepath.Join(filepath.Dir(real), "bash") {
		t.Fatalf("got %q %v, want the real bash in %s", got, err, filepath.Dir(real))
	}
	// The names skipped are the shell's links, which the classifier
	// protects (policy.Context.SelfPrograms).
	if len(links) == 0 || links[0] != filepath.Join(d1, "bash") {
		t.Fatalf("links %q, want %s first", links, filepath.Join(d1, "bash"))
	}
	if _, _, err := resolveShell("bash", filepath.Join(d1, "bash"), ""); err == nil || !strings.Contains(err.Error(), "hermes-exec itself") {
		t.Fatalf("terminal.shell that is us: %v", err)
	}
	if _, _, err := resolveShell("bash", "bash", ""); err == nil {
		t.Fatal("a relative terminal.shell was accepted")
	}
	// A configured shell still reports the links on PATH.
	if got, links, err := resolveShell("bash", real, d1+":"+filepath.Dir(real)); err != nil || got != real || len(links) != 1 {
		t.Fatalf("terminal.shell %s: %q %q %v", real, got, links, err)
	}
}

func TestInvokedAs(t *testing.T) {
	for argv0, want := range map[string][2]any{
		"bash": {"bash", false}, "/usr/local/bin/sh": {"sh", false}, "-bash": {"bash", true},
		"-hermes-exec": {"", true}, "hermes-exec": {"", false}, "/x/bashful": {"", false},
	} {
		sh, login := invokedAs(argv0)
		if sh != want[0] || login != want[1] {
			t.Errorf("%s: %q %v", argv0, sh, login)
		}
	}
}
