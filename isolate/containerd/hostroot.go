package containerd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// hostMirror returns a directory that stands for the host's "/" as a
// container's root: one empty mount point per top-level directory and file
// of "/", the same top-level symlinks (/bin -> usr/bin ...), and nothing
// else. hostBinds then fills each mount point with a recursive read-only
// bind of the host's directory. "/" itself cannot be the root: runc binds
// the root onto itself and pivots into it, which needs a directory it can
// mount on, and a plain read-only remount would leave every mount below
// (/home, /var/lib/...) writable. Nothing is mounted on the host for this:
// the binds exist only in the container's mount namespace, and die with it.
//
// The mirror depends only on the names in "/", so it is made once per set
// of names (built aside, then renamed into place) and shared.
func hostMirror(stateDir string) (string, error) {
	entries, err := os.ReadDir("/")
	if err != nil {
		return "", err
	}
	type entry struct {
		name, link string
		dir        bool
	}
	var list []entry
	h := sha256.New()
	for _, e := range entries {
		en := entry{name: e.Name()}
		switch t := e.Type(); {
		case isReplaced("/" + en.name):
			en.dir = true
		case t&os.ModeSymlink != 0:
			if en.link, err = os.Readlink("/" + en.name); err != nil {
				continue
			}
		case t.IsDir():
			en.dir = true
		case !t.IsRegular():
			continue // no sockets or devices at the top
		}
		list = append(list, en)
		fmt.Fprintf(h, "%q %q %v\n", en.name, en.link, en.dir)
	}
	for _, t := range replacedTrees { // mount points even if "/" lacks one
		if _, err := os.Lstat(t); err != nil {
			list = append(list, entry{name: t[1:], dir: true})
			fmt.Fprintf(h, "%q\n", t)
		}
	}
	dir := filepath.Join(stateDir, "hostroot-"+hex.EncodeToString(h.Sum(nil))[:16])
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		return dir, nil
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(stateDir, ".hostroot-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	for _, en := range list {
		p := filepath.Join(tmp, en.name)
		switch {
		case en.link != "":
			err = os.Symlink(en.link, p)
		case en.dir:
			err = os.Mkdir(p, 0o755)
		default:
			err = os.WriteFile(p, nil, 0o644)
		}
		if err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if fi, serr := os.Lstat(dir); serr == nil && fi.IsDir() {
			return dir, nil // another helper made the same mirror first
		}
		return "", err
	}
	return dir, nil
}
