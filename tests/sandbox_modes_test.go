package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The escape probes of issue 6 in every way a sandbox runs: as root and
// as an unprivileged user, fresh and in a session. Each probe prints a
// marker when it got through; the host is checked afterwards too.
func TestSandboxProbesInEveryMode(t *testing.T) {
	type runner struct {
		ws, stateDir string
		sh           func(dir, text string) result
		own          func(p string)
		rmAll        func()
	}
	// "none" is a fresh container made for each command; "spare" the
	// same with container.spare: on, the probes running in the spare made
	// after a first command (as root: rootless makes none).
	containerOf := map[string]string{"none": "  persist: none\n  spare: off\n", "spare": "  persist: none\n", "session": "  persist: session\n"}
	setups := map[string]func(t *testing.T, persist string) runner{
		"root": func(t *testing.T, persist string) runner {
			s := cwdSandbox(t, containerOf[persist]+"  memory: 256m\n")
			sid := "HERMES_SESSION_ID=modes-root-" + persist + "-" + strconv.Itoa(os.Getpid())
			return runner{ws: s.ws, stateDir: s.stateDir, own: func(string) {}, sh: func(dir, text string) result { return s.shIn(dir, text, sid) },
				rmAll: func() { _ = s.cmd(s.extraEnv, "--backend", "sandbox", "sandbox", "rm", "--all").Run() }}
		},
		"rootless": func(t *testing.T, persist string) runner {
			r := newRootlessEnv(t, containerOf[persist])
			sid := "HERMES_SESSION_ID=modes-rootless-" + persist + "-" + strconv.Itoa(os.Getpid())
			return runner{ws: r.ws, stateDir: r.stateDir, own: func(p string) { chownTree(t, p) }, sh: func(dir, text string) result {
				c := r.cmd([]string{sid}, "-c", text)
				c.Dir = dir
				return runCmd(t, c)
			}, rmAll: func() { _ = r.cmd(nil, "sandbox", "rm", "--all").Run() }}
		},
	}
	for _, who := range []string{"root", "rootless"} {
		for _, persist := range []string{"none", "spare", "session"} {
			t.Run(who+"/"+persist, func(t *testing.T) {
				r := setups[who](t, persist)
				c := exec.Command("git", "init", "-q", r.ws)
				if out, err := c.CombinedOutput(); err != nil {
					t.Fatalf("git init: %v %s", err, out)
				}
				r.own(r.ws)
				if persist == "spare" {
					if warm := r.sh(r.ws, "true"); warm.code != 0 {
						t.Fatalf("exit %d: %s", warm.code, warm.stderr)
					}
					waitSpareMakers(t)
				}
				cfg, _ := os.ReadFile(filepath.Join(r.ws, ".git", "config"))
				sock, err := os.MkdirTemp("/run", "hermes-modes-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(sock) })
				os.Chmod(sock, 0o755)
				_, got := listen(t, "unix", filepath.Join(sock, "s"))
				os.Chmod(filepath.Join(sock, "s"), 0o777)
				tag := strconv.Itoa(os.Getpid())

				res := r.sh(r.ws, `echo RAN
ln -s /etc etc-link; ln -s `+sock+` run-link
echo x > .git/hooks/post-checkout && echo GOT-HOOK
git config core.fsmonitor 'echo PWNED' && echo GOT-CONFIG
echo x > .envrc && echo GOT-ENVRC
mkdir .vscode && echo GOT-VSCODE
mv .git .git-x && echo GOT-MOVE
cp /bin/true suid && chmod 4755 suid && echo GOT-SUID
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "`+sock+`/s") and print "GOT-SOCKET\n"'
true`)
				mustHaveRun(t, res)
				// A later command whose cwd is the planted symlink.
				res2 := r.sh(filepath.Join(r.ws, "etc-link"), "echo RAN; touch hermes-modes-"+tag+" && echo GOT-ETC; true")
				out := res.stdout + res2.stdout
				for _, bad := range []string{"GOT-HOOK", "GOT-CONFIG", "GOT-ENVRC", "GOT-VSCODE", "GOT-MOVE", "GOT-SUID", "GOT-SOCKET", "GOT-ETC"} {
					if strings.Contains(out, bad) {
						t.Errorf("%s: the probe got through:\n%s", bad, out)
					}
				}
				select {
				case <-got:
					t.Error("a host socket under /run accepted a connection")
				default:
				}
				if exists("/etc/hermes-modes-" + tag) {
					os.Remove("/etc/hermes-modes-" + tag)
					t.Error("host changed: a file appeared in /etc")
				}
				if after, _ := os.ReadFile(filepath.Join(r.ws, ".git", "config")); string(after) != string(cfg) {
					t.Errorf("host .git/config changed:\n%s", after)
				}
				probed := []string{".envrc", ".vscode", ".git/hooks/post-checkout", ".git-x", ".claude", ".idea"}
				if persist == "spare" {
					// The ready spare's placeholders are empty
					// directories, and they go with it.
					waitSpareMakers(t)
					for _, p := range probed {
						if fi, err := os.Lstat(filepath.Join(r.ws, p)); err == nil {
							if entries, _ := os.ReadDir(filepath.Join(r.ws, p)); !fi.IsDir() || len(entries) > 0 {
								t.Errorf("host changed: %s is more than a placeholder while a spare is ready", p)
							}
						}
					}
					r.rmAll()
				}
				for _, p := range probed {
					if _, err := os.Lstat(filepath.Join(r.ws, p)); err == nil && persist != "session" {
						t.Errorf("host changed: %s exists after a fresh run (%s)", p, persist)
					}
				}
				if persist != "session" {
					sum := sha256.Sum256([]byte(r.ws))
					for _, suffix := range []string{".lock", ".users"} {
						if p := filepath.Join(r.stateDir, "ws-"+hex.EncodeToString(sum[:8])+suffix); exists(p) {
							t.Errorf("fresh runs left %s", p)
						}
					}
				}
				_ = filepath.WalkDir(r.ws, func(p string, d fs.DirEntry, err error) error {
					if fi, err := os.Lstat(p); err == nil && fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
						t.Errorf("host has a set-id file: %s", p)
					}
					return nil
				})
			})
		}
	}
}
