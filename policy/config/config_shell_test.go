package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTerminalShell(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	os.WriteFile(p, []byte("terminal:\n  shell: /usr/bin/bash\n"), 0o600)
	c, err := Load(p)
	if err != nil || c.Terminal.Shell != "/usr/bin/bash" {
		t.Fatalf("%v %q", err, c.Terminal.Shell)
	}
	os.WriteFile(p, []byte("terminal:\n  shell: bash\n"), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("a relative terminal.shell must be an error naming the line, got %v", err)
	}
}
