package doctor

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"hermes-exec/internal/userdb"
)

// checkCodex looks at a Codex set-up ($CODEX_HOME or ~/.codex/config.toml),
// when there is one. Codex 0.171 runs commands with the login shell from
// the user database (not $SHELL, not PATH) and knows the shell by its
// name: a login shell that is not hermes-exec, or is hermes-exec under a
// name other than bash, sh or zsh (Codex then runs `bash` from PATH),
// leaves every command Codex runs outside hermes-exec: no deny rule, no
// audit record, no sandbox. The PreToolUse hook is what denies a call
// that names its own shell (exec_command's `shell` argument).
func checkCodex(o *Options) []Result {
	codexHome := o.Getenv("CODEX_HOME")
	if codexHome == "" {
		home := o.Getenv("HOME")
		if home == "" {
			return nil
		}
		codexHome = filepath.Join(home, ".codex")
	}
	cfgPath := filepath.Join(codexHome, "config.toml")
	f, err := os.Open(cfgPath)
	if err != nil {
		return nil // no Codex here
	}
	preToolUse := codexPreToolUseHook(f)
	f.Close()

	const check = "codex"
	const chsh = "give this user the bash symlink to hermes-exec as login shell: sudo chsh -s ~/.local/lib/hermes-exec/bash $USER (see README, Codex)"
	var rs []Result
	shell, err := userdb.LoginShell(o.UID)
	switch {
	case err != nil:
		rs = append(rs, warn(check, chsh, "cannot read the login shell Codex will run (%v)", err))
	case shell == "":
		rs = append(rs, warn(check, chsh, "uid %d has no login shell in %s: Codex falls back to bash from PATH or /bin/sh, which is not hermes-exec", o.UID, userdb.PasswdFile))
	case !isHermesExec(o, shell):
		rs = append(rs, warn(check, chsh, "Codex runs every command with your login shell %s, which is not hermes-exec: no deny rule, audit record or sandbox applies to them", shell))
	case !codexKnowsShell(shell):
		rs = append(rs, warn(check, chsh, "your login shell %s is hermes-exec, but Codex knows a shell by its name (bash, sh, zsh) and runs bash from PATH instead", shell))
	}
	if !preToolUse {
		rs = append(rs, warn(check, `add to `+cfgPath+`: [[hooks.PreToolUse]] matcher = "Bash" with [[hooks.PreToolUse.hooks]] type = "command", command = "hermes-exec hook codex"`,
			"%s has no PreToolUse hook running `hermes-exec hook codex`: a call that names its own shell (exec_command's shell argument) runs without hermes-exec", cfgPath))
	}
	if len(rs) == 0 {
		rs = append(rs, ok(check, "Codex runs commands through hermes-exec (login shell %s) and its PreToolUse hook asks hermes-exec first", shell))
	}
	return rs
}

// isHermesExec reports whether path is hermes-exec: a link to it, or the
// same file as the hermes-exec next to the running program.
func isHermesExec(o *Options, path string) bool {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	if filepath.Base(real) == "hermes-exec" {
		return true
	}
	if o.Executable == "" {
		return false
	}
	a, err1 := os.Stat(real)
	b, err2 := os.Stat(filepath.Join(filepath.Dir(o.Executable), "hermes-exec"))
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// codexKnowsShell: Codex takes a shell's kind from its file name (without
// an extension); hermes-exec speaks bash, so bash is what the recipe names.
func codexKnowsShell(path string) bool {
	name := filepath.Base(path)
	name = strings.TrimSuffix(name, filepath.Ext(name))
	return name == "bash" || name == "sh" || name == "zsh"
}

// codexPreToolUseHook reports whether config.toml has a PreToolUse hook
// whose command runs `hermes-exec hook codex`: a `command = "..."` line
// in a table under [[hooks.PreToolUse]]. A line-wise look, not a TOML
// parser; a miss is only a warning.
func codexPreToolUseHook(f *os.File) bool {
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	inPre := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			h := strings.Trim(line, "[] \t")
			inPre = h == "hooks.PreToolUse" || strings.HasPrefix(h, "hooks.PreToolUse.")
			continue
		}
		if !inPre || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, found := strings.Cut(line, "=")
		if found && strings.TrimSpace(k) == "command" {
			words := strings.Fields(strings.Trim(strings.TrimSpace(v), `"'`))
			if len(words) >= 3 && filepath.Base(words[0]) == "hermes-exec" && words[1] == "hook" && words[2] == "codex" {
				return true
			}
		}
	}
	return false
}
