package containerd

import (
	"os"
	"path/filepath"
	"testing"
)

// The init sets up the container's seccomp program and capabilities: a
// variable in the environment of whoever runs the helper must not name
// another program for it (only test builds of hermes-exec take one).
func TestInitIsNotTakenFromTheEnvironment(t *testing.T) {
	fake := filepath.Join(t.TempDir(), InitName)
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HERMES_CONTAINERD_INIT", fake)
	p, err := findInit()
	if p == fake {
		t.Fatalf("findInit took $HERMES_CONTAINERD_INIT: %s", p)
	}
	self, _ := os.Executable()
	want := filepath.Join(filepath.Dir(self), InitName)
	if err == nil && p != want {
		t.Fatalf("findInit = %s, want %s (next to the program)", p, want)
	}
	if err != nil && p != "" {
		t.Fatalf("findInit returned a path with its error: %q, %v", p, err)
	}
}
