package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// maxArgText is the longest script passed to bash as a -c argument. The
// kernel refuses a single argument over MAX_ARG_STRLEN (32 pages, 128 KiB);
// longer text goes through a file descriptor instead.
const maxArgText = 120 << 10

// sealedText returns a memory file holding text, sealed so that nothing
// (not even a process that opens it through /proc) can change it: what bash
// reads from it is exactly what was classified. The offset is 0.
func sealedText(text string) (*os.File, error) {
	fd, err := unix.MemfdCreate("hermes-exec-script", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "hermes-exec-script")
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd seals: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// procFDPath names f as a path another process of this user can open while
// hermes-exec is alive (it waits for the command, so it is).
func procFDPath(f *os.File) string {
	return "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(f.Fd()))
}

// pinScript makes path, for the command about to start and everything it
// starts, show exactly text: a private mount namespace of this thread in
// which a read-only copy of text is bind-mounted over the file that was
// read. bash can then be given the script's own name, so $0, BASH_SOURCE,
// error messages and `bash ./x.sh` semantics are bash's own, while a
// rewrite of the file after it was checked (by the agent, say) is not what
// runs. Only root may do this (CAP_SYS_ADMIN); others get ok false and the
// caller falls back to bash -c. copy, when pinned, is the copy, open, for
// the caller to check that bash opened it and then close.
//
// The goroutine stays locked to the thread for the rest of the process:
// the thread's mount namespace must never serve other goroutines. The
// backend forks the command from this same goroutine (and thread).
func pinScript(path string, read *os.File, text string) (copy *os.File, err error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var orig unix.Stat_t
	if err := unix.Fstat(int(read.Fd()), &orig); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "hermes-exec-script-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer func() {
		if copy == nil {
			tmp.Close()
		}
	}()
	if _, err := tmp.WriteString(text); err != nil {
		return nil, err
	}
	if err := tmp.Chmod(os.FileMode(orig.Mode & 0o777)); err != nil {
		return nil, err
	}
	var copySt unix.Stat_t
	if err := unix.Fstat(int(tmp.Fd()), &copySt); err != nil {
		return nil, err
	}

	runtime.LockOSThread() // never unlocked: see above
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return nil, fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("making mounts private: %w", err)
	}
	// The name must still be the file that was read (a descriptor opened
	// before unshare names a mount of the old namespace, so the name is
	// used, and checked before and after).
	var before unix.Stat_t
	if err := unix.Stat(path, &before); err != nil || before.Ino != orig.Ino || before.Dev != orig.Dev {
		return nil, scriptChanged{filepath.Clean(path)}
	}
	target := path
	if err := unix.Mount(tmp.Name(), target, "", unix.MS_BIND, ""); err != nil {
		return nil, fmt.Errorf("bind mount: %w", err)
	}
	if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return nil, fmt.Errorf("read-only remount: %w", err)
	}
	// The name bash will open must now be the copy; if the name was moved
	// to another file meanwhile, refuse (the caller denies).
	var now unix.Stat_t
	if err := unix.Stat(path, &now); err != nil || now.Ino != copySt.Ino || now.Dev != copySt.Dev {
		return nil, scriptChanged{filepath.Clean(path)}
	}
	return tmp, nil
}

// scriptChanged means the script's name no longer named the file that was
// read and checked: the command must be denied, not run another way.
type scriptChanged struct{ path string }

func (e scriptChanged) Error() string {
	return e.path + " changed while it was being checked"
}
