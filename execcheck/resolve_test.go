package execcheck

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"hermes-exec/internal/testutil"
)

func TestSplitBase(t *testing.T) {
	for _, c := range []struct{ p, base, rest string }{
		{"/proc/12/root/usr/bin/x", "/proc/12/root", "usr/bin/x"},
		{"/proc/12/cwd/./a.sh", "/proc/12/cwd", "./a.sh"},
		{"/proc/12/fd/3", "/proc/12/fd/3", ""},
		{"/proc/12/fd/3/x", "/proc/12/fd/3", "x"},
		{"/proc/12/environ", "/proc/12/environ", ""},
		{"/proc/self/fd/0", "", "/proc/self/fd/0"},
		{"/proc//self/fd/0", "", "/proc//self/fd/0"},
		{"/usr/bin/true", "", "/usr/bin/true"},
	} {
		if b, r := splitBase(c.p); b != c.base || r != c.rest {
			t.Errorf("splitBase(%q) = %q, %q; want %q, %q", c.p, b, r, c.base, c.rest)
		}
	}
}

// A working directory in a detached mount reads (readlink) as a path from
// that mount's root, "/usr/bin" here: it must not be taken as the host's
// /usr/bin (where "true" is a harmless program, while ./true there is
// whatever the detached copy holds).
func TestInRootRefusesADetachedWorkingDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Skip(t, "open_tree(OPEN_TREE_CLONE) needs root")
	}
	d := t.TempDir()
	if err := os.MkdirAll(filepath.Join(d, "usr", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(old)
	proc := "/proc/" + strconv.Itoa(os.Getpid()) + "/cwd"
	if err := os.Chdir(filepath.Join(d, "usr", "bin")); err != nil {
		t.Fatal(err)
	}
	base, rest, err := inRoot(proc, "true")
	if err != nil || rest != strings.TrimLeft(filepath.Join(d, "usr", "bin"), "/")+"/true" || !strings.HasSuffix(base, "/root") {
		t.Fatalf("an attached working directory: %q %q %v", base, rest, err)
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, d, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	runtime.LockOSThread() // cwd is the process's; nothing else here runs in it
	defer runtime.UnlockOSThread()
	if err := unix.Fchdir(fd); err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir("usr/bin"); err != nil {
		t.Fatal(err)
	}
	if l, _ := os.Readlink(proc); l != "/usr/bin" {
		t.Logf("readlink of the detached working directory: %q", l)
	}
	if _, _, err := inRoot(proc, "true"); !errors.Is(err, errPerCaller) {
		t.Fatalf("a detached working directory: %v, want errPerCaller", err)
	}
}
