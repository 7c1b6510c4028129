// Package seccompbpf is a container's compiled seccomp filter outside the
// runtime that would otherwise compile it on every start: its stored form,
// reading it back from the kernel, and installing it in a container's init
// (the embedded sandbox's reaper, the containerd backend's init) before
// any command runs. Standard library and x/sys only: the containerd init,
// static and tiny, links it.
package seccompbpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Program is a loaded-ready seccomp filter and the seccomp(2) flags it is
// loaded with (besides TSYNC, which Load always adds).
type Program struct {
	Flags uint32
	Insns []unix.SockFilter
}

// MaxInsns is the kernel's BPF_MAXINSNS.
const MaxInsns = 4096

// The stored form: magic, flags, count, then the instructions, little-endian.
const programMagic = "hermes-exec seccomp 1\n"

// Encode is p's stored form.
func (p *Program) Encode() []byte {
	b := []byte(programMagic)
	b = binary.LittleEndian.AppendUint32(b, p.Flags)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Insns)))
	for _, in := range p.Insns {
		b = binary.LittleEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return b
}

// Decode reads a program Encode wrote and returns what follows it.
func Decode(b []byte) (*Program, []byte, error) {
	rest, ok := strings.CutPrefix(string(b), programMagic)
	if !ok || len(rest) < 8 {
		return nil, nil, errors.New("not a stored seccomp program")
	}
	r := []byte(rest)
	p := &Program{Flags: binary.LittleEndian.Uint32(r)}
	n := int(binary.LittleEndian.Uint32(r[4:]))
	r = r[8:]
	if n <= 0 || n > MaxInsns || len(r) < 8*n {
		return nil, nil, errors.New("truncated seccomp program")
	}
	p.Insns = make([]unix.SockFilter, n)
	for i := range p.Insns {
		in := r[8*i:]
		p.Insns[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(in), Jt: in[2], Jf: in[3], K: binary.LittleEndian.Uint32(in[4:])}
	}
	return p, r[8*n:], nil
}

// Read reads a stored program. The program is a container's protection,
// so it is taken only from a file nobody else could have written: not a
// symlink, owned by this user and writable by nobody else, in a directory
// of the same kind.
func Read(path string) (*Program, error) {
	if err := privateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var fst unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &fst); err != nil || fst.Mode&unix.S_IFMT != unix.S_IFREG || int(fst.Uid) != os.Geteuid() || fst.Mode&0o022 != 0 {
		return nil, fmt.Errorf("%s: not this user's private file", path)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	p, rest, err := Decode(b)
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing bytes after the seccomp program")
	}
	return p, err
}

// privateDir checks that dir (not followed) is a directory of this user's
// that nobody else may write to.
func privateDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s: not this user's private directory", dir)
	}
	return nil
}

// Load installs p on every thread of this process.
func Load(p *Program) error {
	if p == nil || len(p.Insns) == 0 {
		return errors.New("empty seccomp program")
	}
	prog := unix.SockFprog{Len: uint16(len(p.Insns)), Filter: &p.Insns[0]}
	r, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		uintptr(p.Flags|unix.SECCOMP_FILTER_FLAG_TSYNC), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(p)
	if e != 0 {
		return fmt.Errorf("loading the seccomp filter: %w", e)
	}
	if r != 0 { // TSYNC names a thread it could not synchronise
		return fmt.Errorf("loading the seccomp filter: thread %d not synchronised", r)
	}
	return nil
}

// Setup is what a container's init gets when it installs the filter
// itself: the program, then the command's environment, each entry
// NUL-terminated. The environment travels here, not as the init's own, so
// that nothing of the command's (GODEBUG, LD_PRELOAD) acts on the init
// before its filter is in place.
func Setup(p *Program, env []string) []byte {
	b := p.Encode()
	for _, kv := range env {
		b = append(append(b, kv...), 0)
	}
	return b
}

// Apply is the init's side of Setup: it loads the filter on every thread
// and takes the command's environment as its own (keeping the HOME the
// runtime set when the command has none, as the runtime would have for
// the command).
func Apply(setup []byte) error {
	p, rest, err := Decode(setup)
	if err != nil {
		return err
	}
	if err := Load(p); err != nil {
		return err
	}
	home, hasHome := os.LookupEnv("HOME")
	os.Clearenv()
	for _, kv := range strings.Split(strings.TrimSuffix(string(rest), "\x00"), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			if k == "HOME" {
				hasHome = false
			}
			_ = os.Setenv(k, v)
		}
	}
	if hasHome {
		_ = os.Setenv("HOME", home)
	}
	return nil
}

// FilterOf reads the newest seccomp filter of thread tid, which stops for
// the moment of the reading (needs CAP_SYS_ADMIN, and this process under
// no filter). Every ptrace request must come from the thread that attached.
func FilterOf(tid int) ([]unix.SockFilter, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.PtraceSeize(tid); err != nil {
		return nil, fmt.Errorf("ptrace seize: %w", err)
	}
	defer func() { _ = unix.PtraceDetach(tid) }()
	if err := unix.PtraceInterrupt(tid); err != nil {
		return nil, fmt.Errorf("ptrace interrupt: %w", err)
	}
	// Polled, with a deadline: a stop that never comes must not hang a
	// start (it takes the runtime's path then).
	var ws unix.WaitStatus
	for deadline := time.Now().Add(5 * time.Second); ; {
		got, err := unix.Wait4(tid, &ws, unix.WALL|unix.WNOHANG, nil)
		if err == unix.EINTR || (err == nil && got == 0 && time.Now().Before(deadline)) {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("waiting for thread %d to stop: %w", tid, err)
		}
		if got == 0 {
			return nil, fmt.Errorf("thread %d did not stop", tid)
		}
		break
	}
	if !ws.Stopped() {
		return nil, fmt.Errorf("thread %d did not stop", tid)
	}
	n, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(tid), 0, 0, 0, 0)
	if e != 0 {
		return nil, fmt.Errorf("reading the seccomp filter: %w", e)
	}
	if n == 0 || n > MaxInsns {
		return nil, fmt.Errorf("reading the seccomp filter: %d instructions", n)
	}
	insns := make([]unix.SockFilter, n)
	m, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(tid), 0, uintptr(unsafe.Pointer(&insns[0])), 0, 0)
	runtime.KeepAlive(insns)
	if e != 0 || m != n {
		return nil, fmt.Errorf("reading the seccomp filter: %d of %d instructions: %v", m, n, e)
	}
	return insns, nil
}
