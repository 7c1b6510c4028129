//go:build seccomp

package sandbox

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"hermes-exec/isolate/seccompbpf"
)

// A fresh container's seccomp filter is the same program every time, and
// libcontainer compiles it with libseccomp in each container's init (a few
// milliseconds of CPU per start, more on a loaded machine). So for a fresh
// container of a root-mode sandbox the program is compiled once per profile
// and kept in the state directory, and the container's reaper installs it
// before anything else (reaper.go) instead of libcontainer compiling it.
//
// The program is libcontainer's own: a child of this binary
// (seccompCompileArg) compiles and loads the profile with libcontainer's
// seccomp.InitSeccomp on one of its threads, exactly as a container's init
// does, and this process reads the loaded program back from the kernel
// (PTRACE_SECCOMP_GET_FILTER), so libseccomp's output and libcontainer's
// -ENOSYS stub are both in it. The flags are the ones libcontainer would
// pass for the profile. A profile this cannot reproduce exactly (one with a
// notify action or a listener, whose descriptor libcontainer hands to the
// listener; flags it does not know) keeps libcontainer's own path, as do
// session containers (their commands may be started by libcontainer, which
// applies its filter itself) and rootless sandboxes (their reaper enters a
// nested user namespace first, which the profile then refuses).

// cachedSeccomp returns the compiled filter for sc, compiling and storing it
// in stateDir on first use, or nil when sc must take libcontainer's path.
// Errors are reasons to take that path too; they are only logged.
func cachedSeccomp(stateDir string, sc *configs.Seccomp) (*bpfProgram, error) {
	flags, ok := cacheableFlags(sc)
	if !ok {
		return nil, nil
	}
	key, err := seccompKey(sc, flags)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(stateDir, "seccomp-"+key+".bpf")
	if p, err := seccompbpf.Read(path); err == nil && p.Flags == flags {
		return p, nil
	}
	insns, err := compileSeccomp(sc)
	if err != nil {
		return nil, err
	}
	p := &bpfProgram{Flags: flags, Insns: insns}
	// Written aside and renamed: a concurrent reader sees the whole
	// program or none. The state directory is root's, mode 0700.
	tmp, err := os.CreateTemp(stateDir, ".seccomp-")
	if err != nil {
		return p, nil
	}
	_, werr := tmp.Write(p.Encode())
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		_ = os.Remove(tmp.Name())
	}
	return p, nil
}

// cacheableFlags is the seccomp(2) flags libcontainer would load sc with
// (patchbpf's filterFlags), and whether this path can reproduce its load.
func cacheableFlags(sc *configs.Seccomp) (uint32, bool) {
	if sc == nil || sc.ListenerPath != "" || sc.ListenerMetadata != "" || sc.DefaultAction == configs.Notify {
		return 0, false
	}
	for _, s := range sc.Syscalls {
		if s == nil || s.Action == configs.Notify {
			return 0, false
		}
	}
	api, _ := libseccomp.GetAPI()
	var flags uint32
	for _, f := range sc.Flags {
		switch f {
		case specs.LinuxSeccompFlagLog:
			if api < 3 {
				return 0, false
			}
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			if api < 4 {
				return 0, false
			}
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case "SECCOMP_FILTER_FLAG_TSYNC":
			// libcontainer ignores it (one thread execs); the reaper
			// always synchronises its threads.
		default:
			return 0, false
		}
	}
	return flags, true
}

// seccompKey names the program for sc: the profile, the flags, and what
// compiles it (libseccomp's version and API level, the runc and
// libseccomp-golang modules linked in, this binary's Go version).
func seccompKey(sc *configs.Seccomp, flags uint32) (string, error) {
	raw, err := json.Marshal(sc)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(raw)
	maj, mnr, mic := libseccomp.GetLibraryVersion()
	api, _ := libseccomp.GetAPI()
	fmt.Fprintf(h, "\x00flags=%d libseccomp=%d.%d.%d api=%d go=%s arch=%s", flags, maj, mnr, mic, api, runtime.Version(), runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/opencontainers/runc" || d.Path == "github.com/seccomp/libseccomp-golang" {
				fmt.Fprintf(h, " %s@%s%s", d.Path, d.Version, d.Sum)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// compileSeccomp has a child of this binary load sc with libcontainer's code
// and reads the program the kernel holds for it.
func compileSeccomp(sc *configs.Seccomp) ([]unix.SockFilter, error) {
	raw, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/proc/self/exe", seccompCompileArg)
	cmd.Env = []string{seccompCompileEnv + "=1"}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		in.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	if _, err := in.Write(append(raw, '\n')); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("compiling the seccomp profile: %w", err)
	}
	tid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || tid <= 0 {
		return nil, fmt.Errorf("compiling the seccomp profile: %q", line)
	}
	return seccompbpf.FilterOf(tid)
}

// seccompCompileMain is the compiling child: it reads one profile, loads it
// on its own thread with libcontainer's code, says which thread, and waits
// until its parent has read the program (stdin closes).
func seccompCompileMain() int {
	runtime.LockOSThread() // the filter binds this thread only; never unlocked
	dec := json.NewDecoder(os.Stdin)
	var sc configs.Seccomp
	if err := dec.Decode(&sc); err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: sandbox: seccomp compiler: %v\n", err)
		return 126
	}
	if _, ok := cacheableFlags(&sc); !ok {
		fmt.Fprintln(os.Stderr, "hermes-exec: sandbox: seccomp compiler: profile not cacheable")
		return 126
	}
	// Without no_new_privs an unprivileged thread may not load a filter;
	// it is set in every container too.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 126
	}
	if _, err := seccomp.InitSeccomp(&sc); err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: sandbox: seccomp compiler: %v\n", err)
		return 126
	}
	fmt.Fprintf(os.Stdout, "%d\n", unix.Gettid())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}
