package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hermes-exec/isolate"
)

type ranAs struct {
	stdout, stderr string
	code           int
}

// runVia runs bash -c text (named hermes-exec, as the wrapper names it)
// through b, in dir, and returns what the command printed and its status.
func runVia(t *testing.T, b isolate.Backend, bash, text, dir string, env []string) ranAs {
	t.Helper()
	tmp := t.TempDir()
	out, _ := os.Create(filepath.Join(tmp, "out"))
	errf, _ := os.Create(filepath.Join(tmp, "err"))
	in, _ := os.Open(os.DevNull)
	defer out.Close()
	defer errf.Close()
	defer in.Close()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	st, err := b.Run(context.Background(), isolate.Spec{
		Args: []string{bash, "-c", text, "hermes-exec"}, Env: env,
		Stdin: in, Stdout: out, Stderr: errf,
	})
	code := st.Code
	if err != nil {
		code = isolate.ExitStatus(err)
	}
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return ranAs{string(o), string(e), code}
}

// The direct path is bash -c exactly: every command runs through bash and
// through directBackend, with the same environment, and the program's
// output (its argv, environment, working directory), errors and status
// must be the same. Environments cover what bash changes for the program
// (SHLVL, PWD, OLDPWD, _) and what makes it run bash instead.
func TestDirectExecMatchesBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on PATH")
	}
	bash, _ = filepath.EvalSymlinks(bash)
	tmp := t.TempDir()
	real := filepath.Join(tmp, "real")
	link := filepath.Join(tmp, "link")
	os.Mkdir(real, 0o755)
	os.Symlink(real, link)
	// A script without #!: exec fails with ENOEXEC and bash runs it.
	os.WriteFile(filepath.Join(real, "noshebang"), []byte("echo from-noshebang \"$0\" \"$@\"\n"), 0o755)
	os.WriteFile(filepath.Join(real, "notexec"), []byte("#!/bin/sh\necho x\n"), 0o644)
	os.WriteFile(filepath.Join(real, "argv.sh"), []byte("#!/bin/sh\nprintf '[%s]' \"$0\" \"$@\"; echo; pwd\n"), 0o755)

	path := "/usr/local/bin:/usr/bin:/bin"
	base := []string{"PATH=" + path, "HOME=/root", "LANG=C.UTF-8", "TERM=dumb", "SHELL=/bin/bash"}
	envs := map[string][]string{
		"plain":         base,
		"shlvl":         append(slices.Clone(base), "SHLVL=3"),
		"shlvl-bad":     append(slices.Clone(base), "SHLVL=x"),
		"shlvl-high":    append(slices.Clone(base), "SHLVL=999"),
		"pwd-link":      append(slices.Clone(base), "PWD="+link, "OLDPWD="+real),
		"pwd-wrong":     append(slices.Clone(base), "PWD=/", "OLDPWD=/nonexistent"),
		"pwd-empty":     append(slices.Clone(base), "PWD=", "OLDPWD="),
		"underscore":    append(slices.Clone(base), "_=/bin/whatever"),
		"func":          append(slices.Clone(base), "BASH_FUNC_ls%%=() { echo function ls; }"),
		"bash-env":      append(slices.Clone(base), "BASH_ENV="+filepath.Join(real, "argv.sh")),
		"ifs":           append(slices.Clone(base), "IFS=:"),
		"path-slash":    {"PATH=/usr/bin/:/bin", "HOME=/root"},
		"path-relative": {"PATH=.:/usr/bin:/bin", "HOME=/root"},
		"no-path":       {"HOME=/root"},
		"odd-names":     append(slices.Clone(base), "A-B=1", "x.y=2"),
		"shellopts":     append(slices.Clone(base), "SHELLOPTS=xtrace"),
	}
	cmds := []string{
		"printenv", "env", "/usr/bin/env", "printenv SHLVL", "printenv _", "printenv PWD OLDPWD",
		"ls", "ls -la " + real, "cat /etc/hostname", "ls /nonexistent", "nonexistent-program-x",
		"./argv.sh a b:c d=e -x", real + "/argv.sh 1 2", "./noshebang x y", "./notexec", real,
		"true", "false", "echo hi", "A=1 printenv A", "ls *", "ls ~", "printenv HOME;", "cd /tmp",
		"  printenv   LANG  ", "\tprintenv\tTERM", "exec printenv SHLVL", "command ls",
	}
	host := isolate.NewHost()
	direct := directBackend{Backend: host}
	planned := 0
	for name, env := range envs {
		for _, c := range cmds {
			for _, dir := range []string{real, link} {
				d := direct
				d.text = c
				if _, ok := planDirect(c, env); ok {
					planned++
				}
				want := runVia(t, host, bash, c, dir, env)
				got := runVia(t, d, bash, c, dir, env)
				if strings.HasPrefix(strings.TrimSpace(c), "env") || strings.HasPrefix(c, "/usr/bin/env") || strings.TrimSpace(c) == "printenv" {
					// The order of the environment is bash's own
					// (its variable table); the set is what counts.
					want.stdout, got.stdout = sortedLines(want.stdout), sortedLines(got.stdout)
				}
				if got != want {
					t.Errorf("env %s, dir %s, %q:\n bash:   %+v\n direct: %+v", name, dir, c, want, got)
				}
			}
		}
	}
	if planned == 0 {
		t.Fatal("no command took the direct path")
	}
}

// What must go to bash, and what may not.
func TestPlanDirect(t *testing.T) {
	env := []string{"PATH=/usr/bin:/bin", "HOME=/root"}
	for _, c := range []string{"ls -la", "cat README.md", "git status", "/bin/ls", "ls a,b x:y @z +1 %2 a=b"} {
		if _, ok := planDirect(c, env); !ok {
			t.Errorf("%q: not direct", c)
		}
	}
	for _, c := range []string{"true", "echo x", "cd /", "A=1 ls", "ls *", "ls ~", "ls $HOME", "ls 'a'", "ls;", "ls | cat",
		"ls > x", "ls\nls", "if", "time ls", "exec ls", "command ls", "nonexistent-program-x", "{ ls; }", "ls #c", "!ls"} {
		if p, ok := planDirect(c, env); ok {
			t.Errorf("%q: direct %+v", c, p)
		}
	}
	for _, e := range [][]string{
		{"HOME=/root"}, {"PATH=.:/bin"}, {"PATH=/bin", "BASH_ENV=/x"}, {"PATH=/bin", "BASH_FUNC_ls%%=() { :; }"},
		{"PATH=/bin", "PATH=/usr/bin"}, {"PATH=/bin", "NOEQUALS"}, {"PATH=/bin", "SHLVL=07"}, {"PATH=/bin", "PWD=rel"},
	} {
		if p, ok := planDirect("ls", e); ok {
			t.Errorf("env %q: direct %+v", e, p)
		}
	}
}

func sortedLines(s string) string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(l)
	return strings.Join(l, "\n")
}
