package ocispec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// replacedTrees are the host's top-level directories the sandbox replaces
// with its own filesystems (a new /proc, a private /dev, sysfs, a tmpfs
// /tmp); nothing of the host's is visible there.
var replacedTrees = []string{"/proc", "/sys", "/dev", "/tmp", "/run"}

// The host's "/" cannot be the container's rootfs directly: libcontainer
// bind-mounts the rootfs onto itself and reopens it, and a lookup of "/"
// never sees a mount stacked on the process's own root. So the rootfs is a
// mirror: a directory under the state dir holding one empty mount point per
// top-level directory or file of the host's "/" and the same symlinks
// (/bin -> usr/bin...), and each top-level directory is bind-mounted into it
// recursively read-only. The recursion also makes every host mount under
// them (/home, /boot, /run/user/1000...) read-only, which a plain read-only
// remount of "/" would not.
//
// The mirror depends only on the names in "/", so it is made once per set of
// names (atomically: built aside, then renamed) and shared by containers.
type hostEntry struct {
	name, link string // link is the symlink target, or ""
	dir        bool
}

// hostRootfs returns the mirror directory and the read-only binds that fill
// it.
func hostRootfs(stateDir string) (string, []specs.Mount, error) {
	entries, err := os.ReadDir("/")
	if err != nil {
		return "", nil, err
	}
	var list []hostEntry
	h := sha256.New()
	for _, e := range entries {
		name := e.Name()
		if isReplaced("/" + name) {
			list = append(list, hostEntry{name: name, dir: true}) // mount point only
			continue
		}
		he := hostEntry{name: name}
		switch t := e.Type(); {
		case t&os.ModeSymlink != 0:
			if he.link, err = os.Readlink("/" + name); err != nil {
				continue
			}
		case t.IsDir():
			he.dir = true
		case t.IsRegular():
		default:
			continue // sockets, devices, fifos at the top level: not exposed
		}
		list = append(list, he)
		fmt.Fprintf(h, "%s\x00%s\x00%t\x00", he.name, he.link, he.dir)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	dir := filepath.Join(stateDir, "rootfs-"+hex.EncodeToString(h.Sum(nil))[:16])
	if err := makeMirror(stateDir, dir, list); err != nil {
		return "", nil, fmt.Errorf("preparing the sandbox root: %w", err)
	}
	var ms []specs.Mount
	for _, e := range list {
		if e.link != "" || isReplaced("/"+e.name) {
			continue
		}
		p := "/" + e.name
		ms = append(ms, specs.Mount{Destination: p, Type: "none", Source: p, Options: []string{"rbind", "ro", "rro", "nosuid", "nodev"}})
	}
	return dir, ms, nil
}

func isReplaced(p string) bool {
	for _, t := range replacedTrees {
		if p == t {
			return true
		}
	}
	return false
}

// makeMirror creates dir with list's mount points and symlinks unless it
// exists.
func makeMirror(stateDir, dir string, list []hostEntry) error {
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(stateDir, ".rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	// The mirror becomes the container's "/": everyone must be able to
	// traverse it, nobody to write it (it is also mounted read-only).
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	for _, e := range list {
		p := filepath.Join(tmp, e.name)
		switch {
		case e.link != "":
			err = os.Symlink(e.link, p)
		case e.dir:
			err = os.Mkdir(p, 0o755)
		default:
			var f *os.File
			if f, err = os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
				err = f.Close()
			}
		}
		if err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if errors.Is(err, os.ErrExist) || strings.Contains(err.Error(), "not empty") {
			return nil // another wrapper made the same mirror first
		}
		return err
	}
	return nil
}
