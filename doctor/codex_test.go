package doctor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCodexPreToolUseHook(t *testing.T) {
	for cfg, want := range map[string]bool{
		"[[hooks.PreToolUse]]\nmatcher = \"Bash\"\n[[hooks.PreToolUse.hooks]]\ntype = \"command\"\ncommand = \"hermes-exec hook codex\"\n":           true,
		"[[hooks.PreToolUse]]\n[[hooks.PreToolUse.hooks]]\ncommand = \"/home/a/.local/bin/hermes-exec hook codex\"\n":                                true,
		"[[hooks.PermissionRequest]]\n[[hooks.PermissionRequest.hooks]]\ncommand = \"hermes-exec hook codex\"\n":                                     false,
		"[[hooks.PreToolUse]]\n[[hooks.PreToolUse.hooks]]\n# command = \"hermes-exec hook codex\"\ncommand = \"other\"\n":                            false,
		"[[hooks.PreToolUse]]\n[[hooks.PreToolUse.hooks]]\ncommand = \"hermes-exec hook gemini\"\n[profile]\ncommand = \"hermes-exec hook codex\"\n": false,
		"model = \"x\"\n": false,
	} {
		p := filepath.Join(t.TempDir(), "config.toml")
		os.WriteFile(p, []byte(cfg), 0o600)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := codexPreToolUseHook(f); got != want {
			t.Errorf("%q: got %v", cfg, got)
		}
		f.Close()
	}
}

func TestCodexKnowsShell(t *testing.T) {
	for p, want := range map[string]bool{"/home/a/.local/lib/hermes-exec/bash": true, "/bin/sh": true, "/usr/bin/zsh": true, "/usr/local/bin/hermes-exec": false, "/bin/fish": false} {
		if codexKnowsShell(p) != want {
			t.Errorf("%s: want %v", p, want)
		}
	}
}

// Without a Codex set-up there is nothing to say; with one, a login shell
// that is not hermes-exec (this test's user has a system shell) is a
// warning. That it is ok with the recipe's login shell is in
// tests/agents_codex_test.go (it needs a private user database).
func TestCheckCodex(t *testing.T) {
	o := opts(t, "")
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	o.Getenv = func(k string) string { return env[k] }
	if rs := checkCodex(&o); len(rs) != 0 {
		t.Fatalf("no Codex, but %v", rs)
	}
	os.MkdirAll(filepath.Join(home, ".codex"), 0o700)
	os.WriteFile(filepath.Join(home, ".codex", "config.toml"), []byte("model = \"x\"\n"), 0o600)
	rs := checkCodex(&o)
	if !has(rs, "codex", Warn, "which is not hermes-exec") || !has(rs, "codex", Warn, "no PreToolUse hook") {
		t.Errorf("%v", rs)
	}
	env["CODEX_HOME"] = t.TempDir()
	if rs := checkCodex(&o); len(rs) != 0 {
		t.Errorf("CODEX_HOME has no config.toml, but %v", rs)
	}
}
