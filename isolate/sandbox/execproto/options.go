// Package execproto holds what the sandbox backend (built into the cgo
// helper hermes-exec-sandbox) shares with the pure-Go main binary: the
// sandbox's options and how a session's container id follows from them, the
// lock that keeps a container alive while a command runs in it, the rule
// for a command's environment, and the protocol of a session reaper's exec
// socket with its client. It must never import libcontainer or need cgo:
// `go list -deps ./cmd/hermes-exec` is checked for that.
package execproto

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/internal/hermeshome"
	"hermes-exec/internal/safepath"
	"hermes-exec/isolate/owner"
)

// Options configure the sandbox backend. The zero value of every field means
// its documented default.
type Options struct {
	// StateDir is where container state lives. Default: /run/hermes-exec/sandbox
	// for root; $XDG_RUNTIME_DIR/hermes-exec/sandbox or $HERMES_HOME/run/sandbox
	// otherwise.
	StateDir string
	// HermesHome is hidden inside the sandbox. Default: $HERMES_HOME, else
	// ~/.hermes.
	HermesHome string
	// Workspace is writable inside the sandbox, at the same path. Default:
	// the caller's working directory. It may not be "/".
	Workspace string
	// Rootfs is an optional prepared root filesystem used instead of the
	// host's "/".
	Rootfs string
	// Network is "none" (default: a private network namespace with only
	// loopback) or "host".
	Network string
	// Memory is the memory limit in bytes; 0 means unlimited.
	Memory int64
	// CPUs is the CPU limit in CPUs (1.5 = one and a half); 0 is unlimited.
	CPUs float64
	// Pids is the maximum number of processes; 0 means 1024 and -1 means
	// unlimited.
	Pids int64
	// TmpfsSize is the size of /tmp in bytes; 0 means 512 MiB.
	TmpfsSize int64
	// Persist is "session" (default: one container per session id) or
	// "none" (a fresh container per command).
	Persist string
	// Idle is how long an unused session container is kept; 0 means 30m.
	Idle time.Duration
	// Passthrough lists extra variable names (terminal.env_passthrough;
	// "PREFIX*" patterns allowed) that commands may see.
	Passthrough []string
	// HomeReadable (container.home_readable) and ProtectedPaths
	// (container.protected_paths): see ocispec.Config; nil means the
	// defaults.
	HomeReadable   []string // not omitempty: an empty list (show nothing) is not nil (the default)
	ProtectedPaths []string
	// Owner is the user commands run for; nil means the caller
	// (owner.Current). A root supervisor sets it to run a sandbox
	// for another user.
	Owner *owner.Owner `json:",omitempty"`
	// WorkspaceFromCwd is set by WithDefaults when Workspace was empty and
	// the working directory was taken. Such a workspace is the session's
	// first command's and stays fixed: it is not part of the session's
	// identity, so a later command in another directory joins the same
	// container, where that directory is read-only.
	WorkspaceFromCwd bool `json:",omitempty"`
	// ExecChecks (terminal.exec_checks: on): every exec in the container
	// goes to the command's wrapper (see isolate/sandbox/execcheck.go).
	// A session container made with them is another container than one
	// made without.
	ExecChecks bool `json:",omitempty"`
	// NoSpare (container.spare: off): a fresh container is made when its
	// command comes, never prepared ahead (isolate/sandbox/spare).
	NoSpare bool `json:",omitempty"`
}

// Defaults and the accepted values of Options fields.
const (
	// SessionPrefix starts the container id of every session container.
	SessionPrefix    = "s-"
	DefaultPids      = 1024
	DefaultTmpfsSize = 512 << 20
	DefaultIdle      = 30 * time.Minute
	PersistSession   = "session"
	PersistNone      = "none"
	NetworkNone      = "none"
	NetworkHost      = "host"
)

// WithDefaults fills in defaults and rejects options that cannot be honoured.
// Paths come back absolute and with symlinks resolved, because mounts are
// made on the resolved paths and hiding a path must hide what it points to.
func (o Options) WithDefaults() (Options, error) {
	var err error
	if o.Owner == nil {
		who := owner.Current()
		o.Owner = &who
	}
	if o.HermesHome == "" {
		o.HermesHome = hermeshome.Resolve(os.Getenv, o.Owner.Home)
	}
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir(o.HermesHome)
	}
	if o.StateDir, err = filepath.Abs(o.StateDir); err != nil {
		return o, err
	}
	if o.Workspace == "" {
		if o.Workspace, err = os.Getwd(); err != nil {
			return o, fmt.Errorf("workspace: %w", err)
		}
		o.WorkspaceFromCwd = true
	}
	if o.Workspace, err = safepath.ResolveDir(o.Workspace); err != nil {
		return o, fmt.Errorf("container.workspace: %w", err)
	}
	if o.Workspace == "/" {
		return o, errors.New("container.workspace: the whole filesystem cannot be the writable workspace")
	}
	if o.Rootfs != "" {
		if o.Rootfs, err = safepath.ResolveDir(o.Rootfs); err != nil {
			return o, fmt.Errorf("container.rootfs: %w", err)
		}
		if o.Rootfs == "/" {
			o.Rootfs = ""
		}
	}
	switch o.Network {
	case "":
		o.Network = NetworkNone
	case NetworkNone, NetworkHost:
	default:
		return o, fmt.Errorf("container.network: %q is not one of none, host", o.Network)
	}
	switch o.Persist {
	case "":
		o.Persist = PersistSession
	case PersistSession, PersistNone:
	default:
		return o, fmt.Errorf("container.persist: %q is not one of session, none", o.Persist)
	}
	switch {
	case o.Pids == 0:
		o.Pids = DefaultPids
	case o.Pids < -1:
		return o, fmt.Errorf("container.pids: %d is not a positive count (or -1 for unlimited)", o.Pids)
	}
	if o.Memory < 0 {
		return o, fmt.Errorf("container.memory: %d is negative", o.Memory)
	}
	if o.Memory == 0 {
		o.Memory = DefaultMemory()
	}
	if o.Memory > 0 && o.Memory < 4<<20 {
		return o, fmt.Errorf("container.memory: %d bytes is too small to start a process (minimum 4m)", o.Memory)
	}
	if o.CPUs < 0 {
		return o, fmt.Errorf("container.cpus: %g is negative", o.CPUs)
	}
	switch {
	case o.TmpfsSize == 0:
		o.TmpfsSize = DefaultTmpfsSize
	case o.TmpfsSize < 0:
		return o, fmt.Errorf("container.tmpfs_size: %d is negative", o.TmpfsSize)
	}
	switch {
	case o.Idle == 0:
		o.Idle = DefaultIdle
	case o.Idle < 0:
		return o, fmt.Errorf("container.idle: %s is negative", o.Idle)
	}
	return o, nil
}

// DefaultMemory is the memory limit of a sandbox whose config names none:
// the lesser of 4 GiB and half the machine's RAM, so that a memory bomb in a
// fresh HERMES_HOME cannot take the host down; 0 (none) when the caller
// cannot enforce one (not root: no cgroup is delegated on cgroup v1, and
// the rootless sandbox refuses a limit it cannot hold).
func DefaultMemory() int64 {
	if os.Geteuid() != 0 {
		return 0
	}
	limit := int64(4 << 30)
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		if half := int64(si.Totalram) * int64(si.Unit) / 2; half > 0 && half < limit {
			limit = half
		}
	}
	return limit
}

// DefaultStateDir is where container state lives when Options.StateDir is
// empty: a tmpfs under /run for root, the user's runtime directory otherwise
// (state must not survive a reboot: the containers do not).
func DefaultStateDir(hermesHome string) string {
	if os.Geteuid() == 0 {
		return "/run/hermes-exec/sandbox"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "hermes-exec", "sandbox")
	}
	return filepath.Join(hermeshome.Layout{Dir: hermesHome}.Run(), "sandbox")
}

// Fingerprint identifies everything that shapes a session container, so that
// a changed config or another workspace gets another container instead of
// silently reusing one made with other limits or mounts.
func (o Options) Fingerprint() string {
	h := sha256.New()
	ws := o.Workspace
	if o.WorkspaceFromCwd {
		ws = "" // fixed by the session's first command
	}
	var who owner.Owner
	if o.Owner != nil {
		who = *o.Owner
	} else {
		who = owner.Current()
	}
	for _, s := range []string{
		o.HermesHome, ws, o.Rootfs, o.Network,
		strconv.FormatInt(o.Memory, 10), strconv.FormatFloat(o.CPUs, 'g', -1, 64),
		strconv.FormatInt(o.Pids, 10), strconv.FormatInt(o.TmpfsSize, 10),
		strconv.Itoa(who.UID), strconv.Itoa(who.GID), who.Home,
		fmt.Sprint(o.HomeReadable == nil, o.HomeReadable), fmt.Sprint(o.ProtectedPaths == nil, o.ProtectedPaths),
	} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if o.ExecChecks {
		// Only when on, so that the ids of existing sessions stay.
		h.Write([]byte("exec-checks\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SessionID is the container id of a session: a hash, because session ids
// are free text and container ids are restricted to [A-Za-z0-9_+.-].
func SessionID(session, fingerprint string) string {
	sum := sha256.Sum256([]byte(session + "\x00" + fingerprint))
	return SessionPrefix + hex.EncodeToString(sum[:8])
}
