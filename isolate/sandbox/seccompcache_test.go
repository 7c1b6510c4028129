//go:build seccomp

package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"hermes-exec/isolate/seccompbpf"
)

func TestStoredProgramRoundTripAndRejectsDamage(t *testing.T) {
	p := &bpfProgram{Flags: 4, Insns: []unix.SockFilter{{Code: 0x20, K: 4}, {Code: 0x15, Jt: 1, Jf: 2, K: 0xc000003e}, {Code: 0x6, K: 0x7fff0000}}}
	b := p.Encode()
	got, rest, err := seccompbpf.Decode(append(b, "A=1\x00B=2\x00"...))
	if err != nil || !reflect.DeepEqual(got, p) || string(rest) != "A=1\x00B=2\x00" {
		t.Fatalf("decode = %+v, %q, %v", got, rest, err)
	}
	for name, bad := range map[string][]byte{
		"truncated": b[:len(b)-3],
		"no magic":  b[1:],
		"empty":     nil,
	} {
		if _, _, err := seccompbpf.Decode(bad); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "p.bpf")
	if err := os.WriteFile(f, append(b, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := seccompbpf.Read(f); err == nil {
		t.Error("a stored program with trailing bytes was read")
	}
	// Only a private file of this user's counts: the filter is the
	// container's protection.
	good := filepath.Join(dir, "good.bpf")
	if err := os.WriteFile(good, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := seccompbpf.Read(good); err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("readProgram = %+v, %v", got, err)
	}
	if err := os.Chmod(good, 0o622); err != nil {
		t.Fatal(err)
	}
	if _, err := seccompbpf.Read(good); err == nil {
		t.Error("a group-writable program was read")
	}
	_ = os.Chmod(good, 0o600)
	link := filepath.Join(dir, "link.bpf")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	if _, err := seccompbpf.Read(link); err == nil {
		t.Error("a program behind a symlink was read")
	}
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(open, 0o777)
	if err := os.WriteFile(filepath.Join(open, "p.bpf"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := seccompbpf.Read(filepath.Join(open, "p.bpf")); err == nil {
		t.Error("a program in a world-writable directory was read")
	}
}

func TestNotifyProfilesKeepLibcontainersPath(t *testing.T) {
	base := &configs.Seccomp{DefaultAction: configs.Errno, Syscalls: []*configs.Syscall{{Name: "getpid", Action: configs.Allow}}}
	if _, ok := cacheableFlags(base); !ok {
		t.Fatal("a plain profile is not cacheable")
	}
	withListener := *base
	withListener.ListenerPath = "/run/x.sock"
	notify := *base
	notify.Syscalls = append([]*configs.Syscall{{Name: "execve", Action: configs.Notify}}, base.Syscalls...)
	unknownFlag := *base
	unknownFlag.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_SOMETHING_NEW"}
	for name, sc := range map[string]*configs.Seccomp{"listener": &withListener, "notify": &notify, "unknown flag": &unknownFlag, "none": nil} {
		if _, ok := cacheableFlags(sc); ok {
			t.Errorf("%s: cacheable", name)
		}
		if p, err := cachedSeccomp(t.TempDir(), sc); p != nil || err != nil {
			t.Errorf("%s: cachedSeccomp = %v, %v", name, p, err)
		}
	}
}

// The program a fresh container's reaper installs is the one libcontainer
// loads: the same instructions as the filter of a session container's init
// (which libcontainer still filters itself, and its commands inherit), and it is there, once, in a
// fresh container's command.
func TestFreshFilterIsLibcontainersProgram(t *testing.T) {
	requireRoot(t)
	o := testOptions(t, "session")
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := run(t, b, "s", "true"); st.Code != 0 {
		t.Fatalf("%+v", st)
	}
	list, err := List(o)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	// A session command inherits the filter libcontainer loaded in the
	// session's init.
	const marker = "hermes-seccomp-probe"
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(t, b, "s", "exec -a "+marker+" sleep 30")
	}()
	pid := 0
	for i := 0; i < 200 && pid == 0; i++ {
		time.Sleep(50 * time.Millisecond)
		pid = findProc(marker)
	}
	if pid == 0 {
		t.Fatal("the session command did not start")
	}
	loaded, err := seccompbpf.FilterOf(pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	<-done
	if err != nil {
		t.Fatalf("reading the session command's filter: %v", err)
	}
	c, err := libcontainer.Load(o.StateDir, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cachedSeccomp(o.StateDir, c.Config().Seccomp)
	if err != nil || p == nil {
		t.Fatalf("cachedSeccomp = %v, %v", p, err)
	}
	if !reflect.DeepEqual(p.Insns, loaded) {
		t.Fatalf("compiled program (%d instructions) differs from libcontainer's (%d)", len(p.Insns), len(loaded))
	}
	// Stored, and read back the same.
	stored, _ := filepath.Glob(filepath.Join(o.StateDir, "seccomp-*.bpf"))
	if len(stored) != 1 {
		t.Fatalf("stored programs: %v", stored)
	}
	if again, err := seccompbpf.Read(stored[0]); err != nil || !reflect.DeepEqual(again, p) {
		t.Fatalf("stored program = %+v, %v", again, err)
	}

	o.Persist = "none"
	fresh, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	st, out := run(t, fresh, "", "grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status; echo HOME=$HOME; (mount -t tmpfs x /tmp && echo MOUNTED) 2>/dev/null; true")
	if st.Code != 0 {
		t.Fatalf("%+v %q", st, out)
	}
	for _, want := range []string{"Seccomp:\t2\n", "Seccomp_filters:\t1\n", "NoNewPrivs:\t1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("fresh command's status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "MOUNTED") || strings.Contains(out, "HOME=\n") {
		t.Errorf("fresh command:\n%s", out)
	}
}
