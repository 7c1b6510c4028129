// Package spare is what the sandbox backend (in hermes-exec-sandbox) and
// the pure-Go main binary share about spare containers: with
// container.persist: none, after a command the helper prepares the next
// command's container in the background (made and started up to the point
// of running a command, with no command's data in it), and the next fresh
// command takes it instead of making one. A spare is used once: its reaper
// takes exactly one command and ends the container when that command ends,
// so every command still gets a container no earlier command ran in.
//
// A spare is labelled with a key: the hash of everything that determines
// it, which is the spec ocispec builds for the options now (every mount
// with its source and options, masked paths, seccomp profile, namespaces,
// ids, limits) and the identity of the helper binary that made it. A
// command takes a spare only if the spec it would get from a cold start
// has the same key; otherwise it starts cold and the next preparation
// replaces the spare. The placeholders the spare itself made in the
// workspace (ocispec.Protect) are taken as absent while they are empty and
// the spare is the workspace's only container: they would be gone, had the
// spare never been made.
//
// It must not import libcontainer (the main binary links it).
package spare

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"hermes-exec/internal/procstat"
	"hermes-exec/isolate/ocispec"
	"hermes-exec/isolate/sandbox/execproto"
)

// Prefix starts the container id of every spare.
const Prefix = "p-"

// markerPrefix starts the name of a ready spare's marker in the state
// directory: one per slot (SlotOf), holding a Marker as JSON.
const markerPrefix = "spare-"

// Options are the sandbox's options.
type Options = execproto.Options

// SpecConfig is the ocispec input for o (which has its defaults): what both
// a container's start and a spare's key are made from.
func SpecConfig(o Options) ocispec.Config {
	return ocispec.Config{
		Owner:          *o.Owner,
		Workspace:      o.Workspace,
		HermesHome:     o.HermesHome,
		StateDir:       o.StateDir,
		Rootfs:         o.Rootfs,
		Network:        o.Network,
		Memory:         o.Memory,
		CPUs:           o.CPUs,
		Pids:           o.Pids,
		TmpfsSize:      o.TmpfsSize,
		HomeReadable:   o.HomeReadable,
		ProtectedPaths: o.ProtectedPaths,
		Rootless:       os.Geteuid() != 0,
		ExecNotify:     o.ExecChecks,
	}
}

// Eligible reports whether commands of o (with its defaults) use spares:
// fresh containers made by root whose commands the reaper can start itself
// (not one user namespace deeper, see ocispec.Config.Nested; not under exec
// checks, where every command is a libcontainer process of its own), unless
// container.spare is off.
func Eligible(o Options) bool {
	return os.Geteuid() == 0 && o.Persist == execproto.PersistNone && !o.ExecChecks && !o.NoSpare &&
		o.Owner != nil && !SpecConfig(o).Nested()
}

// HelperID identifies the binary at path: the helper (which makes spares
// and whose reaper runs in them) and hermes-exec (which computes the key it
// compares) are both part of a key, so a rebuilt or reinstalled one makes
// another.
func HelperID(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d:%d:%d.%d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec), nil
}

// Key is the key of a spare for o made by helper helperID for hermes-exec
// wrapperID, with absent the placeholders to take as absent
// (OwnPlaceholders).
func Key(o Options, helperID, wrapperID string, absent []string) (string, error) {
	sc := SpecConfig(o)
	sc.Absent = absent
	spec, err := ocispec.Build(sc)
	if err != nil {
		return "", err
	}
	return KeyOf(spec, o, helperID, wrapperID)
}

// KeyOf is the key of a spare made from spec for o by helper helperID for
// hermes-exec wrapperID. The seccomp profile is left out of the hash (it
// is most of the spec's JSON, and encoding it cost a command a few
// milliseconds): ocispec.Seccomp derives it from the rest of the spec
// (capabilities, nesting) and the architecture, with the code of the two
// binaries, which are in the key.
func KeyOf(spec *ocispec.Spec, o Options, helperID, wrapperID string) (string, error) {
	if wrapperID == "" || helperID == "" {
		return "", errors.New("sandbox: a spare's key needs both programs' identities")
	}
	s := *spec.Spec
	if s.Linux != nil {
		l := *s.Linux
		l.Seccomp = nil
		s.Linux = &l
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	// The idle time and the state directory are labels of the container
	// rather than parts of its spec.
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%d\x00%s\x00%s\x00", helperID, wrapperID, spec.UID, spec.GID, int64(o.Idle.Seconds()), o.StateDir, o.HermesHome)
	h.Write(raw)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SlotOf names the one spare kept for o's HERMES_HOME and owner: a spare
// of another key there (another workspace, a changed config) is replaced,
// not kept beside, so that an agent moving between directories (the
// workspace defaults to the working directory) keeps one idle container,
// not one per directory.
func SlotOf(o Options) string {
	uid := -1
	if o.Owner != nil {
		uid = o.Owner.UID
	}
	sum := sha256.Sum256([]byte(o.HermesHome + "\x00" + strconv.Itoa(uid)))
	return hex.EncodeToString(sum[:8])
}

// Marker says that spare ID is ready for commands of Key. Placeholders
// are those it made (ocispec.MakePlaceholders). Pid and Start are its
// reaper's host pid and start time, Mounts the hash of the reaper's
// mount table (MountsOf) when it became ready.
type Marker struct {
	ID           string
	Key          string
	Placeholders []string `json:",omitempty"`
	Pid          int
	Start        uint64
	Mounts       string
}

// MarkerPath is where slot's ready spare is recorded in stateDir.
func MarkerPath(stateDir, slot string) string {
	return filepath.Join(stateDir, markerPrefix+slot)
}

// IsMarker reports whether name, an entry of a state directory, is a
// marker.
func IsMarker(name string) bool {
	return strings.HasPrefix(name, markerPrefix) && !strings.Contains(name, ".")
}

// ReadMarker reads the marker at path. Only root's own file, not writable
// by anyone else, counts.
func ReadMarker(path string) (Marker, error) {
	var m Marker
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return m, err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return m, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return m, fmt.Errorf("%s: not a private file", path)
	}
	b := make([]byte, 64<<10)
	n, err := f.Read(b)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b[:n], &m); err != nil {
		return m, err
	}
	if !strings.HasPrefix(m.ID, Prefix) || strings.ContainsAny(m.ID, "/\x00") || m.Key == "" {
		return m, fmt.Errorf("%s: bad marker", path)
	}
	return m, nil
}

// WriteMarker records m at path, whole or not at all.
func WriteMarker(path string, m Marker) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := path + "." + m.ID + ".new"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// Take claims the spare recorded at path, which must be id: the marker is
// renamed away, which exactly one of any number of concurrent takers
// achieves. Nobody finds the spare afterwards, and its reaper takes one
// command only even if someone did.
func Take(path, id string) bool {
	taken := path + "." + id + ".taken"
	if err := os.Rename(path, taken); err != nil {
		return false
	}
	m, err := ReadMarker(taken)
	_ = os.Remove(taken)
	return err == nil && m.ID == id
}

// Intact reports whether m's spare still has every mount it was made
// with: its reaper is the same process and its mount table is unchanged.
// A placeholder removed or renamed on the host (someone cleaning up the
// empty directories in their workspace) detaches its mount in the spare
// and with it the protection; a cold start would make it again, so such a
// spare must not be used.
func Intact(m Marker) bool {
	if m.Pid <= 0 || m.Mounts == "" {
		return false
	}
	start, ok := procstat.StartTime(m.Pid)
	if !ok || start != strconv.FormatUint(m.Start, 10) {
		return false
	}
	mounts, err := MountsOf(m.Pid)
	return err == nil && mounts == m.Mounts
}

// MountsOf is the hash of process pid's mount table as it sees it.
func MountsOf(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// OwnPlaceholders are the placeholders of m to take as absent: m's own,
// while m's spare is the only container of the workspace ws in stateDir
// (another one would keep them after the spare is gone).
func OwnPlaceholders(stateDir, ws string, m Marker) []string {
	if len(m.Placeholders) == 0 {
		return nil
	}
	entries, _ := os.ReadDir(WorkspaceUsers(stateDir, ws))
	for _, e := range entries {
		if e.Name() == m.ID {
			continue
		}
		if _, err := os.Stat(filepath.Join(stateDir, e.Name())); err == nil {
			return nil
		}
	}
	return m.Placeholders
}

// WorkspaceLockID is the lock id serialising the making and removing of
// workspace ws's placeholders; WorkspaceUsers is the directory recording
// its containers (one empty file per container id).
func WorkspaceLockID(ws string) string {
	sum := sha256.Sum256([]byte(ws))
	return WorkspaceLockPrefix + hex.EncodeToString(sum[:8])
}

// WorkspaceLockPrefix starts every workspace lock id.
const WorkspaceLockPrefix = "ws-"

// WorkspaceUsers is the directory that records ws's containers.
func WorkspaceUsers(stateDir, ws string) string {
	return filepath.Join(stateDir, WorkspaceLockID(ws)+".users")
}
