package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"hermes-exec/internal/testutil"
)

// installSandbox is a copy of install.sh in a directory nobody can read,
// with stand-ins for make, go, git and gcc on a PATH of its own: what the
// script decides is tested, not the build (which the other tests do).
type installSandbox struct {
	dir, bin, log string
}

func newInstallSandbox(t *testing.T, withGo bool) *installSandbox {
	t.Helper()
	requireRoot(t, "to run install.sh as an ordinary user (nobody)")
	base, err := os.MkdirTemp("/var/tmp", "hermes-install-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	s := &installSandbox{dir: filepath.Join(base, "src"), bin: filepath.Join(base, "bin"), log: filepath.Join(base, "log")}
	os.Mkdir(s.dir, 0o755)
	os.Mkdir(s.bin, 0o755)
	_, file, _, _ := runtime.Caller(0)
	script, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(file)), "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(s.dir, "install.sh"), string(script))
	os.Chmod(filepath.Join(s.dir, "install.sh"), 0o755)
	// The tools the script itself uses.
	for _, tool := range []string{"bash", "id", "getent", "cut", "mkdir", "chmod", "cat", "dirname"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			testutil.Skip(t, "no %s", tool)
		}
		os.Symlink(p, filepath.Join(s.bin, tool))
	}
	stub := func(name, body string) {
		write(t, filepath.Join(s.bin, name), "#!/bin/bash\n"+body+"\n")
		os.Chmod(filepath.Join(s.bin, name), 0o755)
	}
	stub("make", `echo "make $*" >>`+s.log)
	stub("git", "exit 0")
	stub("gcc", "exit 0")
	if withGo {
		stub("go", "exit 0")
	}
	os.WriteFile(s.log, nil, 0o666)
	os.Chmod(s.log, 0o666)
	return s
}

func (s *installSandbox) run(t *testing.T, hermesHome string) result {
	t.Helper()
	c := exec.Command(filepath.Join(s.dir, "install.sh"))
	c.Dir = s.dir
	c.Env = []string{"PATH=" + s.bin, "HOME=/nonexistent", "HERMES_HOME=" + hermesHome, "PREFIX=" + filepath.Join(filepath.Dir(s.dir), "prefix")}
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID, Groups: []uint32{}}}
	return runCmd(t, c)
}

// As an ordinary user install.sh writes no memory or cpus limits (the
// rootless sandbox refuses limits it cannot enforce on cgroup v1), and it
// builds and installs through make install.
func TestInstallAsUserWritesNoLimitsAndUsesMakeInstall(t *testing.T) {
	s := newInstallSandbox(t, true)
	hh := filepath.Join(filepath.Dir(s.dir), "hh")
	os.Mkdir(hh, 0o700)
	os.Chown(hh, nobodyUID, nobodyGID)
	r := s.run(t, hh)
	if r.code != 0 {
		t.Fatalf("install.sh: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cfg, err := os.ReadFile(filepath.Join(hh, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(cfg), "\n") {
		if t2 := strings.TrimSpace(l); strings.HasPrefix(t2, "memory:") || strings.HasPrefix(t2, "cpus:") {
			t.Fatalf("config.yaml for a user sets %q:\n%s", t2, cfg)
		}
	}
	if !strings.Contains(string(cfg), "pids: 1024") {
		t.Fatalf("config.yaml:\n%s", cfg)
	}
	log, _ := os.ReadFile(s.log)
	if !strings.Contains(string(log), "make install PREFIX=") {
		t.Fatalf("install.sh did not run make install: %q", log)
	}
}

// Without go the script stops at once and says what is missing.
func TestInstallWithoutGoSaysSo(t *testing.T) {
	s := newInstallSandbox(t, false)
	r := s.run(t, filepath.Join(filepath.Dir(s.dir), "hh"))
	if r.code == 0 || !strings.Contains(r.stderr, "go is not on PATH") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
	if log, _ := os.ReadFile(s.log); len(log) != 0 {
		t.Fatalf("make ran anyway: %q", log)
	}
}
