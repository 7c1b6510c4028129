// Package fdutil holds small helpers around raw file descriptors.
package fdutil

import "os"

// Control runs fn with the file's descriptor without switching the file to
// blocking mode (as (*os.File).Fd would).
func Control(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}
