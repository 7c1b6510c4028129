package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The compiled form of a fresh container's seccomp filter (seccompcache.go)
// and its loading by the reaper, which need no libseccomp.

// seccompCompileArg is the argv[1] of the child that compiles a profile.
const seccompCompileArg = "sandbox-seccomp-compile"

// seccompCompileEnv marks that child's environment, so that a user's
// `hermes-exec-sandbox sandbox-seccomp-compile` is not taken for it.
const seccompCompileEnv = "_HERMES_SECCOMP_COMPILE"

// bpfProgram is a loaded-ready seccomp filter.
type bpfProgram struct {
	flags uint32
	insns []unix.SockFilter
}

// maxInsns is the kernel's BPF_MAXINSNS.
const maxInsns = 4096

// The stored form: magic, flags, count, then the instructions, little-endian.
const programMagic = "hermes-exec seccomp 1\n"

func (p *bpfProgram) encode() []byte {
	b := []byte(programMagic)
	b = binary.LittleEndian.AppendUint32(b, p.flags)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.insns)))
	for _, in := range p.insns {
		b = binary.LittleEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return b
}

// decodeProgram reads a program encode wrote and returns what follows it.
func decodeProgram(b []byte) (*bpfProgram, []byte, error) {
	rest, ok := strings.CutPrefix(string(b), programMagic)
	if !ok || len(rest) < 8 {
		return nil, nil, errors.New("not a stored seccomp program")
	}
	r := []byte(rest)
	p := &bpfProgram{flags: binary.LittleEndian.Uint32(r)}
	n := int(binary.LittleEndian.Uint32(r[4:]))
	r = r[8:]
	if n <= 0 || n > maxInsns || len(r) < 8*n {
		return nil, nil, errors.New("truncated seccomp program")
	}
	p.insns = make([]unix.SockFilter, n)
	for i := range p.insns {
		in := r[8*i:]
		p.insns[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(in), Jt: in[2], Jf: in[3], K: binary.LittleEndian.Uint32(in[4:])}
	}
	return p, r[8*n:], nil
}

// readProgram reads a program stored by cachedSeccomp. The program is the
// container's protection, so it is taken only from a file nobody else could
// have written: not a symlink, owned by this user and writable by nobody
// else, in a directory of the same kind.
func readProgram(path string) (*bpfProgram, error) {
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
	p, rest, err := decodeProgram(b)
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

// reaperSetup is what a fresh container's reaper gets at reaperSetupFd when
// it installs the filter itself: the program, then the command's
// environment, each entry NUL-terminated. The environment travels here, not
// as the reaper's own, so that nothing of the command's (LD_PRELOAD, say)
// acts on the reaper before its filter is in place.
func reaperSetup(p *bpfProgram, env []string) (*os.File, error) {
	fd, err := unix.MemfdCreate("hermes-exec-reaper-setup", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "reaper-setup")
	b := p.encode()
	for _, kv := range env {
		b = append(append(b, kv...), 0)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// applyReaperSetup is the reaper's side: it loads the filter on every thread
// and takes the command's environment as its own (keeping the HOME
// libcontainer sets when the command has none, as libcontainer would have
// for the command).
func applyReaperSetup() error {
	f := os.NewFile(reaperSetupFd, "reaper-setup")
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("reading the reaper's setup: %w", err)
	}
	p, rest, err := decodeProgram(b)
	if err != nil {
		return err
	}
	if err := loadProgram(p); err != nil {
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

// loadProgram installs p on every thread of this process (the reaper's).
func loadProgram(p *bpfProgram) error {
	if len(p.insns) == 0 {
		return errors.New("empty seccomp program")
	}
	prog := unix.SockFprog{Len: uint16(len(p.insns)), Filter: &p.insns[0]}
	r, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		uintptr(p.flags|unix.SECCOMP_FILTER_FLAG_TSYNC), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(p)
	if e != 0 {
		return fmt.Errorf("loading the seccomp filter: %w", e)
	}
	if r != 0 { // TSYNC names a thread it could not synchronise
		return fmt.Errorf("loading the seccomp filter: thread %d not synchronised", r)
	}
	return nil
}
