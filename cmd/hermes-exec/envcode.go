package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/policy"
)

// maxEnvCode bounds how much of a BASH_ENV file is read to be checked;
// a longer one is refused rather than run partly unchecked.
const maxEnvCode = 4 << 20

// envSource is code that bash runs, or may run, because of the
// environment, before or instead of what the command says: the BASH_ENV
// file, which a non-interactive bash sources first, and exported functions
// (BASH_FUNC_name%%), which it defines and which replace a command of the
// same name (BASH_FUNC_ls%% makes `ls` run the function's body).
type envSource struct {
	where   string // "BASH_ENV file /x/y" or "exported function f"
	text    string
	bashEnv string // the BASH_ENV value, for the BASH_ENV file
}

// envCode returns the code the environment environ brings to bash. The
// BASH_ENV file counts only for bash (sh does not read it when not
// interactive); exported functions are checked whatever the shell. A
// BASH_ENV value that bash would expand ($, `) is refused: what it names
// is decided only when bash runs. ENV is read by interactive shells only,
// which hermes-exec never starts.
func envCode(environ []string, shell string) ([]envSource, error) {
	var out []envSource
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		switch {
		case name == "BASH_ENV" && shell == "bash" && val != "":
			if strings.ContainsAny(val, "$`") {
				return nil, fmt.Errorf("BASH_ENV=%s is expanded by bash when it starts, so the file it names cannot be checked", val)
			}
			text, err := readEnvFile(val)
			if err != nil {
				return nil, err
			}
			// Kept even when empty or missing: what bash is given is this
			// text (sealBashEnv), not a file created after the check.
			out = append(out, envSource{where: "the BASH_ENV file " + val, text: text, bashEnv: val})
		case strings.HasPrefix(name, "BASH_FUNC_") && strings.HasSuffix(name, "%%"):
			fn := strings.TrimSuffix(strings.TrimPrefix(name, "BASH_FUNC_"), "%%")
			out = append(out, envSource{where: "the exported function " + fn, text: fn + " " + val + "\n"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].where < out[j].where })
	return out, nil
}

// envShell is the shell whose start-up rules apply to the environment:
// "bash" when the program that will run (real, or what its links lead
// to) is bash, else the name hermes-exec was started as.
func envShell(name, real string) string {
	if filepath.Base(real) == "bash" {
		return "bash"
	}
	if p, err := filepath.EvalSymlinks(real); err == nil && filepath.Base(p) == "bash" {
		return "bash"
	}
	return name
}

// readEnvFile reads a BASH_ENV file as bash would find it; one bash cannot
// open runs nothing.
func readEnvFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return "", nil
		}
		return "", fmt.Errorf("BASH_ENV file %s: %w", path, unwrapPathErr(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEnvCode+1))
	if err != nil {
		return "", fmt.Errorf("BASH_ENV file %s: %w", path, unwrapPathErr(err))
	}
	if len(b) > maxEnvCode {
		return "", fmt.Errorf("BASH_ENV file %s is over %d MiB, too long to check", path, maxEnvCode>>20)
	}
	return string(b), nil
}

// withEnvCode adds to v what classifying the environment's code found,
// each finding saying where the code came from: the command is as
// dangerous as the worst code that runs with it.
func withEnvCode(v policy.Verdict, c *policy.Classifier, srcs []envSource) policy.Verdict {
	for _, s := range srcs {
		if s.text == "" {
			continue
		}
		ev := c.Classify(s.text)
		if strings.IndexByte(s.text, 0) >= 0 {
			ev = wrapper.NulVerdict(s.text)
		}
		for _, f := range ev.Findings {
			f.Description = "in " + s.where + ": " + f.Description
			v.Findings = append(v.Findings, f)
		}
		if ev.Decision > v.Decision {
			v.Decision = ev.Decision
		}
	}
	return v
}

// sealBashEnv returns env with BASH_ENV naming hermes-exec's loader
// instead of the user's file: a sealed memory file that sets BASH_ENV back
// to the user's value (what the command and its children see) and sources
// a sealed copy of the text that was checked, so a BASH_ENV file rewritten
// after the check does not run. env is returned as it is when bash will not
// read a BASH_ENV file (none set, or the shell is not bash: envCode found
// none). Inside the file BASH_SOURCE names the copy, not the file.
func (st *scriptSource) sealBashEnv(env []string, srcs []envSource) ([]string, error) {
	v, ok := lookupEnv(env, "BASH_ENV")
	if !ok || v == "" {
		return env, nil
	}
	var src *envSource
	for i := range srcs {
		if srcs[i].bashEnv != "" {
			src = &srcs[i]
		}
	}
	if src == nil {
		return env, nil
	}
	if src.bashEnv != v {
		return nil, fmt.Errorf("BASH_ENV changed while the command was checked (%s, then %s)", src.bashEnv, v)
	}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "BASH_FUNC_") && shadowsPrelude(strings.TrimSuffix(strings.TrimPrefix(name, "BASH_FUNC_"), "%%")) {
			return nil, fmt.Errorf("the exported function %s would run in place of the builtin that loads the checked BASH_ENV file", strings.TrimSuffix(strings.TrimPrefix(name, "BASH_FUNC_"), "%%"))
		}
	}
	loader := "BASH_ENV=" + shq(v) + "\n"
	if src.text != "" {
		f, err := st.keepSealed(src.text)
		if err != nil {
			return nil, err
		}
		loader += "builtin . " + shq(procFDPath(f)) + "\n"
	}
	f, err := st.keepSealed(loader)
	if err != nil {
		return nil, err
	}
	return setEnv(env, "BASH_ENV", procFDPath(f)), nil
}
