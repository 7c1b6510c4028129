package tests

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/testutil"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

func openPTY() (*os.File, *os.File, error) { return pty.Open() }

// finalRecords keeps the record that ends each command: its outcome, or
// the decision of a command denied. It fails the test on an outcome whose
// decision is missing.
func finalRecords(t *testing.T, recs []map[string]any) []map[string]any {
	t.Helper()
	decided := map[any]bool{}
	var out []map[string]any
	for _, r := range recs {
		switch r["event"] {
		case "decision":
			decided[r["id"]] = true
			if r["decision"] == "deny" {
				out = append(out, r)
			}
		case "notice":
			// the gateway's own entries: no command
		case "outcome":
			if r["id"] == nil || !decided[r["id"]] {
				t.Fatalf("outcome without its decision record: %v", r)
			}
			out = append(out, r)
		default:
			t.Fatalf("record without an event: %v", r)
		}
	}
	return out
}

// A full disk under HERMES_HOME used to run the command unaudited (issue 6,
// item 7). The file-size limit makes every write to the log fail the way a
// full disk does: the command must not run.
func TestFullDiskDeniesBeforeRunning(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 20; i++ {
		if fi, err := os.Stat(filepath.Join(e.home, "audit.jsonl")); err == nil && fi.Size() > 2048 {
			break
		}
		if r := e.run(nil, "-c", "true"); r.code != 0 {
			t.Fatalf("filling the log: %+v", r)
		}
	}
	marker := filepath.Join(e.dir, "ran")
	c := e.cmd(nil, "-c", `ulimit -f 1 && exec "$0" -c "touch $1"`, e.bin, marker)
	c.Path, c.Args = "/bin/bash", append([]string{"bash"}, c.Args[1:]...)
	r := runCmd(t, c)
	if r.code != 126 || exists(marker) {
		t.Fatalf("with the audit log full: exit %d, ran %v, stderr %q", r.code, exists(marker), r.stderr)
	}
	if !strings.Contains(r.stderr, "hermes-exec: denied: cannot write the audit log") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

// A wrapper killed with SIGKILL while its command runs still leaves the
// decision on record (issue 6, item 7).
func TestKilledWrapperLeavesTheDecision(t *testing.T) {
	e := newEnv(t)
	c := e.cmd(nil, "-c", "echo started; sleep 60")
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "started\n" {
		c.Process.Kill()
		c.Wait()
		t.Fatalf("read %q", line)
	}
	c.Process.Kill()
	c.Wait()
	recs := e.auditRecords()
	if len(recs) != 1 {
		t.Fatalf("records after SIGKILL: %v", recs)
	}
	if r := recs[0]; r["event"] != "decision" || r["decision"] != "allow" || r["command"] != "echo started; sleep 60" || r["exit"] != nil {
		t.Fatalf("decision record %v", r)
	}
}

// Another user's HERMES_HOME is not obeyed (issue 6, item 9): its
// approvals.mode: off would let anything through.
func TestForeignHermesHomeIsRefused(t *testing.T) {
	requireRoot(t, "to make a HERMES_HOME owned by another user")
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	e.writeConfig("approvals:\n  mode: \"off\"\n")
	if err := os.Chown(e.home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r := e.run(nil, "-c", dangerous(marker))
	if r.code != 126 || exists(marker) {
		t.Fatalf("nobody's HERMES_HOME obeyed: exit %d, ran %v", r.code, exists(marker))
	}
	if !strings.HasPrefix(r.stderr, "hermes-exec: denied: HERMES_HOME "+e.home+" cannot be trusted") || !strings.Contains(r.stderr, "owned by uid 65534") {
		t.Fatalf("stderr %q", r.stderr)
	}
	// Nothing is written there, not even the denial.
	if _, err := os.Stat(filepath.Join(e.home, "audit.jsonl")); err == nil {
		t.Fatal("audit record written into another user's HERMES_HOME")
	}
}

// A HERMES_HOME that others can write, or that sits in a directory others
// can write (without the sticky bit that protects /tmp), is refused too.
func TestWritableHermesHomeIsRefused(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	e.writeConfig("approvals:\n  mode: \"off\"\n")
	os.Chmod(e.home, 0o777)
	r := e.run(nil, "-c", dangerous(marker))
	if r.code != 126 || exists(marker) || !strings.Contains(r.stderr, "writable by group or others") {
		t.Fatalf("world-writable HERMES_HOME: exit %d, ran %v, stderr %q", r.code, exists(marker), r.stderr)
	}
	os.Chmod(e.home, 0o700)
	parent := filepath.Dir(e.home)
	os.Chmod(parent, 0o777)
	defer os.Chmod(parent, 0o700)
	r = e.run(nil, "-c", dangerous(marker))
	if r.code != 126 || exists(marker) || !strings.Contains(r.stderr, parent+": writable by group or others") {
		t.Fatalf("HERMES_HOME in a world-writable directory: exit %d, ran %v, stderr %q", r.code, exists(marker), r.stderr)
	}
	// Sticky and world-writable, like /tmp: fine.
	syscall.Chmod(parent, 0o1777)
	if r = e.run(nil, "-c", "true"); r.code != 0 {
		t.Fatalf("under a sticky directory: %+v", r)
	}
}

// Root never appends to (or chmods) what a symlinked audit.jsonl points
// at (issue 6, item 10); the command is denied since it cannot be recorded.
func TestSymlinkedAuditLogIsNotWrittenThrough(t *testing.T) {
	e := newEnv(t)
	victim := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(victim, []byte("root:x:0:0::/root:/bin/bash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(e.home, "audit.jsonl")); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(e.dir, "ran")
	r := e.run(nil, "-c", "touch "+marker)
	if r.code != 126 || exists(marker) {
		t.Fatalf("exit %d, ran %v", r.code, exists(marker))
	}
	b, _ := os.ReadFile(victim)
	fi, _ := os.Stat(victim)
	if string(b) != "root:x:0:0::/root:/bin/bash\n" || fi.Mode().Perm() != 0o644 {
		t.Fatalf("the link's target was changed: %q %v", b, fi.Mode())
	}
}

// config.yaml or .env that is not a plain file: a link to /dev/zero used
// to be read until memory ran out, a FIFO hung, a dangling link read as
// "no file" and dropped the deny rules (issue 6, item 10). Each is now a
// denial at once, naming the file.
func TestHermesHomeFilesThatAreNotFilesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		make       func(p string) error
		want       string
	}{
		{"config to /dev/zero", "config.yaml", func(p string) error { return os.Symlink("/dev/zero", p) }, "character device"},
		{".env to /dev/zero", ".env", func(p string) error { return os.Symlink("/dev/zero", p) }, "character device"},
		{"config fifo", "config.yaml", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "FIFO"},
		{".env fifo", ".env", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "FIFO"},
		{"dangling config", "config.yaml", func(p string) error { return os.Symlink(p+".moved", p) }, "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := filepath.Join(e.home, tc.file)
			if err := tc.make(p); err != nil {
				t.Fatal(err)
			}
			marker := filepath.Join(e.dir, "ran")
			c := e.cmd(nil, "-c", "touch "+marker)
			// A runaway read must not take the machine down with it.
			c.Path, c.Args = "/bin/bash", append([]string{"bash", "-c", `ulimit -v 4000000 && exec "$@"`, "bash"}, c.Args...)
			done := make(chan result, 1)
			go func() { done <- runCmd(t, c) }()
			select {
			case r := <-done:
				if r.code != 126 || exists(marker) || !strings.Contains(r.stderr, tc.file) || !strings.Contains(r.stderr, tc.want) {
					t.Fatalf("exit %d, ran %v, stderr %q", r.code, exists(marker), r.stderr)
				}
			case <-time.After(60 * time.Second):
				c.Process.Kill()
				t.Fatal("hermes-exec hung on it")
			}
		})
	}
}

// A .env value reached the audit record unmasked when the command was
// denied before classification (issue 7): the same secrets are masked on
// every path.
func TestDotEnvValueIsMaskedWhenTheConfigIsBroken(t *testing.T) {
	e := newEnv(t)
	os.WriteFile(filepath.Join(e.home, ".env"), []byte("MY_SERVICE_URL=x\n"), 0o600)
	e.writeConfig("approvals:\n  allowlist: [\n")
	secret := "https://svc.example/very-private-path-91a7"
	r := e.run([]string{"MY_SERVICE_URL=" + secret}, "-c", "curl "+secret)
	if r.code != 126 {
		t.Fatalf("exit %d", r.code)
	}
	b, _ := os.ReadFile(filepath.Join(e.home, "audit.jsonl"))
	if strings.Contains(string(b), "very-private-path") {
		t.Fatalf(".env value in the audit log: %s", b)
	}
	if rec := e.lastAudit(); rec["decision"] != "deny" || rec["command"] != "curl ***" {
		t.Fatalf("audit record %v", rec)
	}
}

// HERMES_HOME comes from the user database, not $HOME (issue 7): with
// HOME=/nonexistent, as under `docker -u`, root's commands still run and
// are audited in root's own ~/.hermes. /root is a private tmpfs here so
// that the test leaves the machine's real one alone.
func TestHermesHomeFromTheUserDatabase(t *testing.T) {
	requireRoot(t, "for a private mount namespace over /root")
	if _, err := exec.LookPath("unshare"); err != nil {
		testutil.Skip(t, "no unshare(1) (util-linux)")
	}
	e := newEnv(t)
	home, err := userDBHome(0)
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`mount -t tmpfs -o mode=0700 none %[1]s && HOME=/nonexistent "$0" -c 'echo ran' && cat %[1]s/.hermes/audit.jsonl`, home)
	c := exec.Command("unshare", "--mount", "--propagation", "private", "bash", "-c", script, e.bin)
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C"}
	c.Dir = e.dir
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	r := runCmd(t, c)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ran\n") || !strings.Contains(r.stdout, `"command":"echo ran"`) {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// A uid the user database does not know (docker -u 4242) has no home: the
// denial says what to set instead of "cannot write the audit log".
func TestNoHomeSaysWhatToSet(t *testing.T) {
	requireRoot(t, "to run as a uid without a user database entry")
	e := newEnv(t)
	bin := filepath.Join(t.TempDir(), "hermes-exec")
	copyExecutable(t, e.bin, bin)
	os.Chmod(filepath.Dir(bin), 0o755)
	os.Chmod(filepath.Dir(filepath.Dir(bin)), 0o755)
	c := exec.Command(bin, "-c", "true")
	c.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "LANG=C"}
	c.Dir = "/"
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: 4242, Gid: 4242, Groups: []uint32{}}}
	r := runCmd(t, c)
	if r.code != 126 || !strings.Contains(r.stderr, "set HERMES_HOME") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
	c = exec.Command(bin, "-c", "echo ran")
	c.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "LANG=C", "HERMES_HOME=" + filepath.Join(filepath.Dir(bin), "hh")}
	c.Dir = "/"
	os.Mkdir(filepath.Join(filepath.Dir(bin), "hh"), 0o700)
	os.Chown(filepath.Join(filepath.Dir(bin), "hh"), 4242, 4242)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: 4242, Gid: 4242, Groups: []uint32{}}}
	if r := runCmd(t, c); r.code != 0 || r.stdout != "ran\n" {
		t.Fatalf("with HERMES_HOME set as told: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// userDBHome is uid's home directory from /etc/passwd.
func userDBHome(uid int) (string, error) {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ":")
		if len(fs) >= 6 && fs[2] == fmt.Sprint(uid) {
			return fs[5], nil
		}
	}
	return "", io.EOF
}

// A command run in pipe mode pushed text into the caller's shell with
// TIOCSTI, which ran it after hermes-exec exited (issue 6, item 13). The
// caller here is an agent on a terminal: the terminal is its controlling
// terminal and stdin, its stdout a pipe.
func TestCommandCannotTypeIntoTheCallersTerminal(t *testing.T) {
	e := newEnv(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	master, slave, err := openPTY()
	if err != nil {
		testutil.Skip(t, "no pseudo-terminals on this machine: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	// The program by its path: a static command name, so nothing asks.
	c := exec.Command(e.bin, "-c", "'"+self+"'")
	c.Dir = e.dir
	c.Env = e.baseEnv(probeEnv+"=tiocsti", "PROBE_TTY="+slave.Name())
	var out strings.Builder
	c.Stdin, c.Stdout, c.Stderr = slave, &out, &out
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.Run(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "injected") || !strings.Contains(out.String(), "/dev/tty: refused") {
		t.Fatalf("the command typed into the caller's terminal:\n%s", out.String())
	}
	n, err := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ)
	if err != nil || n != 0 {
		t.Fatalf("%d bytes wait as the caller's next input (%v)", n, err)
	}
}
