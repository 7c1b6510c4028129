package containerd

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate/ocispec"
)

// The protected paths that do not exist yet (a missing .git, .envrc,
// .vscode ...) get placeholders in the workspace before a container starts
// (ocispec.Protection): a mount needs a mount point, and a read-only empty
// directory there is what keeps a command from creating the path. They
// must go again, but only with the workspace's last container: a mount
// point removed on the host takes its mount away in every container that
// still has it, and the path would be writable there.
//
// Per workspace the state directory holds a lock (ws-HASH.lock), taken
// while placeholders are made or removed, and a directory (ws-HASH.users)
// with one file per container listing the placeholders it made. A
// container counts as a user while its state directory exists (it is
// removed with the container, gc.go); the last one to go removes what all
// of them made.

func workspaceKey(ws string) string {
	sum := sha256.Sum256([]byte(ws))
	return "ws-" + hex.EncodeToString(sum[:8])
}

// protected builds container id's spec under the workspace's lock, makes
// its placeholders and records them. The spec is built under the lock so
// that what it protects is what the placeholders make (another container
// may have made or removed some meanwhile). unlock must be called once the
// container exists (or failed to be made: then forgetWorkspace too).
func (b *Backend) protected(p specParams) (s *ocispec.Spec, unlock func(), err error) {
	key := filepath.Join(b.o.StateDir, workspaceKey(b.o.Workspace))
	lk, err := lockFile(key+".lock", unix.LOCK_EX)
	if err != nil {
		return nil, nil, err
	}
	unlock = func() { lk.Close() }
	if s, err = buildSpec(b.o, p); err != nil {
		unlock()
		return nil, nil, err
	}
	made, err := ocispec.MakePlaceholders(b.o.Workspace, s.Placeholders, b.o.Owner.UID, b.o.Owner.GID)
	if err == nil {
		// Recorded even when it made none itself: it may use those that
		// others made (which then exist, and are no placeholders of its
		// spec), and they must stay while it runs.
		if err = os.MkdirAll(key+".users", 0o700); err == nil {
			// Appended: a session made again under the same id keeps
			// the list of what its predecessor made.
			err = appendLines(filepath.Join(key+".users", p.id), made)
		}
	}
	if err != nil {
		ocispec.RemovePlaceholders(made)
		unlock()
		return nil, nil, err
	}
	return s, unlock, nil
}

// forgetWorkspace records that container id (of workspace ws) is gone and,
// when no other container of ws is left, removes every placeholder its
// containers made (still-empty ones only). The caller removed the
// container; its state directory may still exist.
func forgetWorkspace(o Options, ws, id string) {
	if ws == "" {
		return
	}
	key := filepath.Join(o.StateDir, workspaceKey(ws))
	users := key + ".users"
	if _, err := os.Stat(users); err != nil {
		return // nothing was made: the usual case, and no lock taken
	}
	lk, err := lockFile(key+".lock", unix.LOCK_EX)
	if err != nil {
		return
	}
	defer lk.Close()
	entries, _ := os.ReadDir(users)
	var all []string
	for _, e := range entries {
		other := e.Name()
		if other != id {
			if _, err := os.Stat(filepath.Join(o.StateDir, other)); err == nil {
				return // still used: the last container removes them all
			}
		}
		if b, err := os.ReadFile(filepath.Join(users, other)); err == nil {
			// One path a line (a workspace may have spaces in its
			// name); only absolute paths, as they were written.
			for _, l := range strings.Split(string(b), "\n") {
				if filepath.IsAbs(l) {
					all = append(all, l)
				}
			}
		}
	}
	// Parents before children: RemovePlaceholders goes deepest first.
	sort.Slice(all, func(i, j int) bool { return len(all[i]) < len(all[j]) })
	ocispec.RemovePlaceholders(all)
	// The lock file stays: removed, a waiter would hold a lock on a file
	// nobody else opens any more.
	_ = os.RemoveAll(users)
}

func appendLines(path string, lines []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil || len(lines) == 0 {
		if f != nil {
			return f.Close()
		}
		return err
	}
	_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
