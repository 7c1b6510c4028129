package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Red-team: text the classifier reads one way and bash runs another. The
// hidden code touches a marker and clears the history (which asks when the
// classifier sees it); with no terminal to ask on, a command that needs a
// human is denied, so the marker must never appear.
func TestRedteamBashSemanticsNoUncheckedCode(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		args func(marker string) []string
	}{
		// PS4 is expanded as a prompt, command substitution included,
		// before every traced command.
		{"PS4 under set -x", func(m string) []string {
			return []string{"-c", `PS4='$(touch ` + m + `; history -c)'; set -x; true`}
		}},
		{"PS4 exported to bash -x", func(m string) []string {
			return []string{"-c", `export PS4='$(touch ` + m + `; history -c)'; bash -xc true`}
		}},
		{"PS4 through env", func(m string) []string {
			return []string{"-c", `env PS4='$(touch ` + m + `; history -c)' bash -xc true`}
		}},
		// set -k makes NAME=value anywhere on a command line the
		// command's environment: here GIT_SSH_COMMAND, which git runs.
		{"set -k moves arguments into the environment", func(m string) []string {
			return []string{"-c", `set -k; git ls-remote ssh://localhost/x GIT_SSH_COMMAND='touch ` + m + `; history -c; false'`}
		}},
		{"hermes-exec -k", func(m string) []string {
			return []string{"-k", "-c", `git ls-remote ssh://localhost/x GIT_SSH_COMMAND='touch ` + m + `; history -c; false'`}
		}},
		{"hermes-exec -o keyword", func(m string) []string {
			return []string{"-o", "keyword", "-c", `git ls-remote ssh://localhost/x GIT_SSH_COMMAND='touch ` + m + `; history -c; false'`}
		}},
		// An interactive shell without interactive comments reads what
		// the classifier took for a comment as commands.
		{"-i +o interactive-comments", func(m string) []string {
			return []string{"-i", "+o", "interactive-comments", "-c", `echo hi # ; touch ` + m + `; history -c`}
		}},
		{"-i +O interactive_comments", func(m string) []string {
			return []string{"-i", "+O", "interactive_comments", "-c", `echo hi # ; touch ` + m + `; history -c`}
		}},
		{"set +o interactive-comments under -i", func(m string) []string {
			return []string{"-i", "-c", "set +o interactive-comments\necho hi # ; touch " + m + "; history -c"}
		}},
		{"shopt -u interactive_comments under -i", func(m string) []string {
			return []string{"-i", "-c", "shopt -u interactive_comments\necho hi # ; touch " + m + "; history -c"}
		}},
		// A file this command line writes is judged by what it wrote
		// (bash FILE does); make -f FILE and make's default Makefile
		// were not.
		{"makefile written, then make -f", func(m string) []string {
			return []string{"-c", `printf 'a:\n\ttouch ` + m + `; history -c\n' > mk; make -s -f mk`}
		}},
		{"Makefile written, then make", func(m string) []string {
			return []string{"-c", `printf 'a:\n\ttouch ` + m + `; history -c\n' > Makefile; make -s`}
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			marker := filepath.Join(e.dir, "pwned"+string(rune('a'+i)))
			r := e.run(nil, c.args(marker)...)
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("bash ran code the classifier did not see (exit %d, stderr %q)", r.code, r.stderr)
			}
			if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied") {
				t.Fatalf("want a denial (exit 126), got exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
}

// Red-team D: the wrapper's own environment makes bash run code the
// command does not show: a BASH_ENV file (sourced first by every
// non-interactive bash) and exported functions (BASH_FUNC_name%%, which
// replace a command of that name). That code is checked with the command;
// the denial says where it came from.
func TestRedteamEnvironmentCodeIsChecked(t *testing.T) {
	e := newEnv(t)
	bashEnv := filepath.Join(e.dir, "bash_env")
	cases := []struct {
		name  string
		env   func(marker string) []string
		where string // in the denial
	}{
		{"BASH_ENV file", func(m string) []string {
			os.WriteFile(bashEnv, []byte("touch "+m+"; history -c\n"), 0o644)
			return []string{"BASH_ENV=" + bashEnv}
		}, "in the BASH_ENV file " + bashEnv},
		{"BASH_ENV that bash expands", func(m string) []string {
			return []string{"BASH_ENV=$(touch " + m + ")"}
		}, "is expanded by bash"},
		{"exported function replacing ls", func(m string) []string {
			return []string{"BASH_FUNC_ls%%=() { touch " + m + "; history -c; }"}
		}, "in the exported function ls"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			marker := filepath.Join(e.dir, "pwned-env"+string(rune('a'+i)))
			r := e.run(c.env(marker), "-c", "ls >/dev/null; echo done")
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("bash ran code from the environment that was not checked (exit %d, stderr %q)", r.code, r.stderr)
			}
			if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied") || !strings.Contains(r.stderr, c.where) {
				t.Fatalf("want a denial naming %q (exit 126), got exit %d, stderr %q", c.where, r.code, r.stderr)
			}
		})
	}
	// What users do on purpose still works: a harmless BASH_ENV, and a
	// function exported with export -f to a child bash (here through the
	// bash symlink to hermes-exec, as under an agent).
	os.WriteFile(bashEnv, []byte("GREETING=hello\n"), 0o644)
	if r := e.run([]string{"BASH_ENV=" + bashEnv}, "-c", `echo "$GREETING"`); r.code != 0 || r.stdout != "hello\n" {
		t.Fatalf("harmless BASH_ENV: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	link := filepath.Join(t.TempDir(), "bash")
	if err := os.Symlink(e.bin, link); err != nil {
		t.Fatal(err)
	}
	r := e.run(nil, "-c", `greet() { echo "hi $1"; }; export -f greet; `+shQuote(link)+` -c 'greet there'`)
	if r.code != 0 || r.stdout != "hi there\n" {
		t.Fatalf("export -f: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// The shell that reads BASH_ENV is the one that runs, not the name
// hermes-exec was started as: started as `sh` with terminal.shell set to
// bash (found in review), bash read the file and nothing had checked it.
func TestRedteamBashEnvCheckedWhenStartedAsSh(t *testing.T) {
	e := newEnv(t)
	realBash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	e.writeConfig("terminal:\n  shell: " + realBash + "\n")
	sh := filepath.Join(t.TempDir(), "sh")
	if err := os.Symlink(e.bin, sh); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(e.dir, "pwned-as-sh")
	bashEnv := filepath.Join(e.dir, "bash_env")
	os.WriteFile(bashEnv, []byte("touch "+marker+"; history -c\n"), 0o644)
	c := exec.Command(sh, "-c", "echo done")
	c.Dir = e.dir
	c.Env = e.baseEnv("BASH_ENV=" + bashEnv)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no terminal to ask on
	r := runCmd(t, c)
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("bash, started as sh, ran the unchecked BASH_ENV file (exit %d, stderr %q)", r.code, r.stderr)
	}
	if r.code != 126 || !strings.Contains(r.stderr, "in the BASH_ENV file "+bashEnv) {
		t.Fatalf("want a denial naming the BASH_ENV file (exit 126), got exit %d, stderr %q", r.code, r.stderr)
	}
}
