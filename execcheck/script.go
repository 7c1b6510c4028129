package execcheck

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// maxScript bounds the script text read for classification; a bigger file
// is reported (asked about), not half read.
const maxScript = 1 << 20

var errScriptTooLarge = errors.New("the script is larger than exec checks read (1 MiB)")

// shells run a script file given as their first operand.
func shells(s string) bool {
	switch s {
	case "sh", "bash", "dash", "ash", "ksh", "mksh", "zsh", "rbash":
		return true
	}
	return false
}

// interpreterFlag is the flag that gives an interpreter its code inline:
// the script's text is classified as if it had been given that way.
// inline lists the short options that mean the code is not in a file.
func interpreterFlag(name string) (flag, inline string, ok bool) {
	switch {
	case strings.HasPrefix(name, "python"):
		return "-c", "cm", true
	case name == "perl" || strings.HasPrefix(name, "perl5"):
		return "-e", "eE", true
	case name == "ruby", name == "node", name == "nodejs":
		return "-e", "ep", true
	case name == "php":
		return "-r", "r", true
	}
	return "", "", false
}

// optsWithArg are options of shells and interpreters that take the next
// word as their value, so it is not the script operand.
func optsWithArg(s string) bool {
	switch s {
	case "-o", "+o", "-O", "+O", "--rcfile", "--init-file",
		"-W", "-X":
		return true
	}
	return false
}

// scriptOperand finds the script file among an interpreter's arguments:
// the first operand, unless a short option in inline (a shell's c and s,
// python's c and m, perl's e...) says the code is not in a file, or "-"
// names stdin.
func scriptOperand(args []string, inline string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+1], true
			}
			return "", false
		case a == "-":
			return "", false
		case optsWithArg(a):
			i++
		case strings.HasPrefix(a, "--"):
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if strings.ContainsAny(a[1:], inline) {
				return "", false
			}
		case strings.HasPrefix(a, "+") && len(a) > 1:
		default:
			return a, true
		}
	}
	return "", false
}

// openIn opens path for process pid (as the supervisor reaches what the trapped process
// names: Supervisor.procPath), never blocking (a FIFO), regular files only.
func openIn(pid int, path string) (*os.File, error) {
	fd, err := openResolved(pid, path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, nil)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, errors.New("not a regular file")
	}
	return f, nil
}

// readScript reads a script's text, bounded.
func readScript(pid int, path string) (string, error) {
	f, err := openIn(pid, path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxScript+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxScript {
		return "", errScriptTooLarge
	}
	return string(b), nil
}

// shebang returns the interpreter line of a program file that starts
// with "#!": the kernel runs "INTERP [ARG] PATH ARGS..." without another
// execve, so this is the only moment to see it.
func shebang(pid int, path string, st *unix.Stat_t) (interp, arg string, ok bool) {
	// Most execs are of the same few binaries: remember which files are
	// not scripts, by identity and change time, so that the stat the
	// supervisor made anyway stands in for an open and a read.
	statOK := st != nil
	var id fileID
	if statOK {
		id = fileID{st.Dev, st.Ino, st.Mtim, st.Ctim, st.Size}
	}
	if statOK {
		notScriptsMu.Lock()
		hit := notScripts[id]
		notScriptsMu.Unlock()
		if hit {
			return "", "", false
		}
	}
	interp, arg, ok = readShebang(pid, path)
	if statOK && !ok {
		notScriptsMu.Lock()
		if len(notScripts) > 4096 {
			notScripts = map[fileID]bool{}
		}
		notScripts[id] = true
		notScriptsMu.Unlock()
	}
	return interp, arg, ok
}

// fileID is a file's identity and change times.
type fileID struct {
	dev, ino   uint64
	mtim, ctim unix.Timespec
	size       int64
}

var (
	notScriptsMu sync.Mutex
	notScripts   = map[fileID]bool{}
)

func readShebang(pid int, path string) (interp, arg string, ok bool) {
	f, err := openIn(pid, path)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	b := make([]byte, 256)
	n, _ := io.ReadFull(f, b)
	b = b[:n]
	if !bytes.HasPrefix(b, []byte("#!")) {
		return "", "", false
	}
	line := b[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return "", "", false
	}
	interp = fields[0]
	if len(fields) > 1 {
		arg = strings.Join(fields[1:], " ") // the kernel passes the rest as one argument
	}
	return interp, arg, true
}
