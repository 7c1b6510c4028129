package wrapper

import (
	"os"
	"path/filepath"
	"syscall"

	"hermes-exec/internal/sibling"
)

// The classifier is told where hermes-exec's own programs are
// (policy.Context.SelfPrograms), so that a command writing, moving or
// deleting one is self-disabling: hermes-exec-admin replaced by a fake
// answers every gateway request, and the README's `bash` link to
// hermes-exec replaced by the real bash ends the wrapping.

// FileID is a file's device and inode.
type FileID struct{ Dev, Ino uint64 }

// StatID is the FileID of the file path names (following links).
func StatID(path string) (FileID, bool) {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return FileID{}, false
	}
	return FileID{uint64(st.Dev), st.Ino}, true
}

// IsExecutable reports an executable regular file.
func IsExecutable(path string) bool {
	var st syscall.Stat_t
	return syscall.Stat(path, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Mode&0o111 != 0
}

// PathShell walks PATH for name as a PATH lookup would, from the first
// entry: it returns the first executable that is not the file self (""
// when there is none), and the entries before it that are self (links or
// copies of hermes-exec under that name: the shell's links). Relative
// entries are skipped: they depend on the working directory, which the
// agent controls.
func PathShell(name, path string, self FileID) (found string, links []string) {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if !IsExecutable(p) {
			continue
		}
		if id, ok := StatID(p); ok && id == self {
			links = append(links, p)
			continue
		}
		return p, links
	}
	return "", links
}

// SelfPrograms are the paths of hermes-exec's programs, next to the
// running one, and links, the shell links the caller found. Without
// links (hook, check: not started through one) the links named bash or
// sh first on PATH are looked up: a few stats, off the shell's path.
func SelfPrograms(links []string, lookLinks bool) []string {
	progs := sibling.Paths()
	if lookLinks && len(progs) > 0 {
		if self, ok := StatID(progs[0]); ok {
			for _, sh := range [...]string{"bash", "sh"} {
				_, l := PathShell(sh, os.Getenv("PATH"), self)
				links = append(links, l...)
			}
		}
	}
	return append(progs, links...)
}
