package isolate

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"hermes-exec/internal/exitcode"
)

// StartError reports that a command could not be started.
type StartError struct {
	// Op is "lookup" (Args[0] not found in PATH), "chdir" (Spec.Dir is
	// unusable) or "exec" (the kernel refused the program).
	Op string
	// Path is the program, or the directory for "chdir".
	Path string
	Err  error
}

func (e *StartError) Error() string {
	if e.Path == "" {
		return e.Op + ": " + e.Err.Error()
	}
	return e.Op + " " + e.Path + ": " + e.Err.Error()
}

func (e *StartError) Unwrap() error { return e.Err }

// IsNotFound reports whether err means the program does not exist, the case
// bash reports as 127 ("command not found", "No such file or directory",
// including a script whose #! interpreter is missing). Any other start
// error (permission denied, not an executable format, a bad Spec.Dir) is
// bash's 126. It is true for errors wrapping exec.ErrNotFound, and for
// errors wrapping fs.ErrNotExist except a missing Spec.Dir.
func IsNotFound(err error) bool {
	var se *StartError
	if errors.As(err, &se) && se.Op == "chdir" {
		return false
	}
	return exitcode.IsNotFound(err)
}

// ExitStatus is bash's status for a command that could not be started:
// exitcode.NotFound when IsNotFound, exitcode.CannotExec otherwise.
func ExitStatus(err error) int {
	if IsNotFound(err) {
		return exitcode.NotFound
	}
	return exitcode.CannotExec
}

// lookPath resolves name the way bash does before exec: a name with a slash
// is used as it is; any other is searched in the PATH of env (the command's
// own environment, the last PATH= entry as with os/exec), or in the
// wrapper's PATH when env has none. An empty PATH element is the working
// directory, as in bash.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	if name == "" {
		return "", &StartError{Op: "lookup", Path: name, Err: exec.ErrNotFound}
	}
	path, found := "", false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path, found = v, true
		}
	}
	if !found {
		path, _ = syscall.Getenv("PATH")
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Mode&0o111 != 0 {
			return p, nil
		}
	}
	return "", &StartError{Op: "lookup", Path: name, Err: exec.ErrNotFound}
}

// checkDir fails unless dir is a directory the caller can enter.
func checkDir(dir string) error {
	var st syscall.Stat_t
	err := syscall.Stat(dir, &st)
	if err == nil && st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		err = syscall.ENOTDIR
	}
	if err == nil {
		err = syscall.Access(dir, 0o1) // X_OK: search permission
	}
	if err != nil {
		return &StartError{Op: "chdir", Path: dir, Err: err}
	}
	return nil
}
