// Package execfn tells the file name a process was started through: the
// path given to execve(2), which the kernel records as AT_EXECFN. Unlike
// argv[0], the caller cannot choose it apart from the file it runs
// (`exec -a NAME PROG` sets argv[0] only), so it names the link or copy
// a program was really run as.
package execfn

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// atExecFn is AT_EXECFN from <linux/auxvec.h>.
const atExecFn = 31

// maxPath bounds the name read (PATH_MAX).
const maxPath = 4096

// Path is the file name this process was exec'd through. It is read from
// the process's own memory (/proc/self/mem, where AT_EXECFN points), not
// through unsafe pointers.
func Path() (string, error) {
	auxv, err := unix.Auxv()
	if err != nil {
		return "", fmt.Errorf("reading the auxiliary vector: %w", err)
	}
	var addr uintptr
	for _, kv := range auxv {
		if kv[0] == atExecFn {
			addr = kv[1]
			break
		}
	}
	if addr == 0 {
		return "", errors.New("the kernel gave no AT_EXECFN")
	}
	f, err := os.Open("/proc/self/mem")
	if err != nil {
		return "", err
	}
	defer f.Close()
	// The name sits at the top of the initial stack: read in small pieces
	// so that a read never runs far past its end.
	var out []byte
	buf := make([]byte, 256)
	for off := int64(addr); len(out) < maxPath; off += int64(len(buf)) {
		n, err := f.ReadAt(buf, off)
		if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		out = append(out, buf[:n]...)
		if err != nil {
			return "", fmt.Errorf("reading AT_EXECFN: %w", err)
		}
	}
	return "", errors.New("AT_EXECFN is longer than PATH_MAX")
}
