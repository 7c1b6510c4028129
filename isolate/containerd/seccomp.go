package containerd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"hermes-exec/isolate/containerd/reaper"
	"hermes-exec/isolate/ocispec"
	"hermes-exec/isolate/seccompbpf"
)

// A fresh container's seccomp filter is the same program every time, and
// runc compiles its OCI profile with libseccomp on every container's start
// (tens of milliseconds on a loaded machine). So the program runc loads is
// kept, per profile, in the state directory, and a fresh container's init
// (reaper.SeccompArg) installs it itself, as its first act, with the same
// flags (TSYNC added: the init has threads, runc's init had one), instead
// of runc compiling it; the spec then carries no linux.seccomp.
//
// The program is runc's own: the first fresh container of a profile runs
// with linux.seccomp as ever, and this helper reads the filter runc loaded
// back from the kernel (PTRACE_SECCOMP_GET_FILTER on the container's init,
// checked to be that container's, with that one filter). It is stored
// under a key made of the profile, the containerd version and the runc
// binary, and read back only from a file of this user's that nobody else
// could have written (seccompbpf.Read). Session containers keep runc's path
// (a task.Exec process gets its filter from runc), as does a profile with
// flags, a listener or a notify action, and a helper that is not root
// (reading a filter back needs CAP_SYS_ADMIN).

// seccompKey names the stored program for profile p, or "" when this
// path cannot reproduce runc's load of it.
func (b *Backend) seccompKey(p *specs.LinuxSeccomp) string {
	if p == nil || len(p.Flags) != 0 || p.ListenerPath != "" || p.ListenerMetadata != "" || p.DefaultAction == specs.ActNotify || os.Geteuid() != 0 {
		return ""
	}
	for _, sc := range p.Syscalls {
		if sc.Action == specs.ActNotify {
			return ""
		}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	h := sha256.New()
	h.Write(raw)
	fmt.Fprintf(h, "\x00containerd=%s runtime=%s arch=%s", b.version, runtimeName, runtime.GOARCH)
	// The runc that the shim runs is most likely the one on this PATH:
	// another build of it may compile the profile differently.
	if rc, err := exec.LookPath("runc"); err == nil {
		var st unix.Stat_t
		if unix.Stat(rc, &st) == nil {
			fmt.Fprintf(h, " runc=%s:%d:%d:%d", rc, st.Ino, st.Size, st.Mtim.Nano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func (b *Backend) seccompPath(key string) string {
	return filepath.Join(b.o.StateDir, "seccomp-"+key+".bpf")
}

// initSeccomp has container's init install its filter when the program of
// s's profile is stored: it writes the init's setup (the program, the
// command's environment) into the lifeline directory, takes linux.seccomp
// out of s and tells the init. It returns the path to store a program
// read back under when there is none yet, else "".
func (b *Backend) initSeccomp(s *ocispec.Spec, lifeDir string) (capture string, err error) {
	// The key names containerd's version: known once checked.
	if err := b.versionChecked(); err != nil {
		return "", err
	}
	key := b.seccompKey(s.Linux.Seccomp)
	if key == "" {
		return "", nil
	}
	prog, err := seccompbpf.Read(b.seccompPath(key))
	if err != nil {
		return b.seccompPath(key), nil
	}
	setup := filepath.Join(lifeDir, "setup")
	// Read by the init as the container's user; nothing in it is secret
	// from the command (its own environment and filter).
	if err := os.WriteFile(setup, seccompbpf.Setup(prog, s.Process.Env), 0o644); err != nil {
		return "", err
	}
	at := slices.Index(s.Process.Args, lifeMount+"/init")
	if at < 0 {
		return "", fmt.Errorf("seccomp: no lifeline in the init's arguments")
	}
	s.Process.Args = slices.Insert(s.Process.Args, at, reaper.SeccompArg, lifeMount+"/setup")
	// The init starts with no environment of the command's: that comes
	// with the filter.
	s.Process.Env = []string{"PATH=" + defaultPath}
	s.Linux.Seccomp = nil
	return "", nil
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// captureSeccomp reads the filter runc loaded into container id's init
// (pid) and stores it at path. Anything unexpected stores nothing: the
// next container takes runc's path again.
func captureSeccomp(id string, pid int, path string) {
	status := func() (seccomp, filters string, ok bool) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			return "", "", false
		}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, found := strings.Cut(l, ":"); found {
				switch k {
				case "Seccomp":
					seccomp = strings.TrimSpace(v)
				case "Seccomp_filters":
					filters = strings.TrimSpace(v)
				}
			}
		}
		return seccomp, filters, true
	}
	// runc loads the filter once the task is started, just before it
	// executes the init.
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(200 * time.Microsecond) {
		mode, _, ok := status()
		if !ok || time.Now().After(deadline) {
			return
		}
		if mode == "2" {
			break
		}
	}
	insns, err := seccompbpf.FilterOf(pid)
	if err != nil {
		return
	}
	// Still this container's process (not a reused pid), under exactly
	// the one filter read.
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if mode, filters, ok := status(); err != nil || !ok || mode != "2" || filters != "1" || !strings.Contains(string(cg), "/"+id+"\n") {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".seccomp-")
	if err != nil {
		return
	}
	_, werr := tmp.Write((&seccompbpf.Program{Insns: insns}).Encode())
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		_ = os.Remove(tmp.Name())
	}
}
