// Package config reads and edits hermes-exec's part of Hermes Agent's
// ~/.hermes/config.yaml: the approvals, terminal and container sections.
// Every other section of that file belongs to Hermes and is ignored.
package config

import "time"

// Config is hermes-exec's view of config.yaml.
type Config struct {
	Approvals Approvals `yaml:"approvals"`
	Terminal  Terminal  `yaml:"terminal"`
	Container Container `yaml:"container"`
	Gateway   Gateway   `yaml:"-"`
	// Path is the file the configuration was loaded from (it may not exist).
	Path string `yaml:"-"`
}

// Approvals is the `approvals:` section.
type Approvals struct {
	// Mode is "default" or "off". Hermes's "manual" and "smart" read as
	// "default": hermes-exec always asks a human.
	Mode string `yaml:"mode"`
	// Timeout is how long a prompt waits before it denies.
	Timeout time.Duration `yaml:"timeout"`
	// Allowlist entries are argv prefixes written as shell words.
	Allowlist []string `yaml:"allowlist"`
	// Deny entries use the allowlist's syntax and always deny.
	Deny []string `yaml:"deny"`
	// InContainer is "skip" (a container is the boundary, so do not ask)
	// or "ask".
	InContainer string `yaml:"in_container"`
	// Timeouts are per-rule (or per-class) timeouts beside Timeout; see
	// TimeoutFor.
	Timeouts map[string]time.Duration `yaml:"-"`
}

// Terminal is the `terminal:` section.
type Terminal struct {
	// Backend is "host", "sandbox" or "containerd".
	Backend string `yaml:"backend"`
	// EnvPassthrough names variables that may reach the command even
	// though they look secret.
	EnvPassthrough []string `yaml:"env_passthrough"`
	// ExecChecks is "on" or "off" ("" is off, the default on every
	// backend): with it on, every program the command starts is checked
	// when it is executed (package execcheck).
	ExecChecks string `yaml:"exec_checks"`
	// Shell is the real bash that runs commands (an absolute path). Empty
	// means the first bash on PATH that is not hermes-exec itself.
	Shell string `yaml:"shell"`
}

// terminal.exec_checks values.
const (
	ExecChecksOff = "off"
	ExecChecksOn  = "on"
)

// Container is the `container:` section, used by the sandbox and containerd
// backends.
type Container struct {
	// Memory is the memory limit as written ("2g", "512m"); empty means
	// no limit. ParseBytes turns it into bytes.
	Memory string `yaml:"memory"`
	// CPUs is the CPU limit in cores; 0 means no limit.
	CPUs float64 `yaml:"cpus"`
	// Pids is the process limit.
	Pids int64 `yaml:"pids"`
	// TmpfsSize is the size of the container's /tmp, as written.
	TmpfsSize string `yaml:"tmpfs_size"`
	// Workspace is the writable directory; empty means the working
	// directory.
	Workspace string `yaml:"workspace"`
	// Rootfs is a prepared root file system; empty means the host's /.
	Rootfs string `yaml:"rootfs"`
	// Network is "none" (loopback only) or "host".
	Network string `yaml:"network"`
	// Persist is "session" (one container per session) or "none".
	Persist string `yaml:"persist"`
	// Idle is how long an unused session container lives.
	Idle time.Duration `yaml:"idle"`
	// Spare is "on" (with persist none, the next command's container is
	// prepared in the background) or "off"; empty means on.
	Spare string `yaml:"spare"`
	// Image is the image reference for the containerd backend.
	Image string `yaml:"image"`
	// HomeReadable lists paths under the caller's home (relative to it)
	// that the sandbox shows read-only; the rest of the home is hidden.
	// nil means the sandbox's default list; an empty list shows nothing.
	HomeReadable []string `yaml:"home_readable"`
	// ProtectedPaths lists paths inside the workspace (relative to it)
	// that are read-only in the sandbox even when they do not exist yet.
	// nil means the sandbox's default list.
	ProtectedPaths []string `yaml:"protected_paths"`
	// Containerd is where the containerd backend finds its daemon.
	Containerd Containerd `yaml:"containerd"`
}

// Containerd is `container.containerd:`.
type Containerd struct {
	// Address is containerd's socket; empty means the containerd
	// backend's default (/run/containerd/containerd.sock).
	Address string `yaml:"address"`
	// Namespace holds every container, image and snapshot hermes-exec
	// makes there; empty means the backend's default (hermes-exec).
	Namespace string `yaml:"namespace"`
}

// Values of the enumerated settings.
const (
	ModeDefault = "default"
	ModeOff     = "off"

	InContainerSkip = "skip"
	InContainerAsk  = "ask"

	BackendHost       = "host"
	BackendSandbox    = "sandbox"
	BackendContainerd = "containerd"
	// BackendSupervisor hands commands to the root supervisor (hermes-exec
	// supervisor), which runs them in the caller's own sandbox.
	BackendSupervisor = "supervisor"

	NetworkNone = "none"
	NetworkHost = "host"

	PersistSession = "session"
	PersistNone    = "none"

	SpareOn  = "on"
	SpareOff = "off"
)

// Default values of the settings that have one.
const (
	DefaultTimeout   = 300 * time.Second
	DefaultPids      = 1024
	DefaultTmpfsSize = "512m"
	DefaultIdle      = 30 * time.Minute
)

// Size caps for the files read from HERMES_HOME: a config.yaml or .env
// that is really a link to /dev/zero, or a runaway generated file, must end
// in a clear error, not in the wrapper running out of memory.
const (
	MaxConfigSize = 4 << 20
	MaxDotEnvSize = 1 << 20
)

// Defaults returns the configuration used when config.yaml says nothing.
func Defaults() *Config {
	return &Config{
		Approvals: Approvals{
			Mode:        ModeDefault,
			Timeout:     DefaultTimeout,
			InContainer: InContainerSkip,
		},
		Terminal: Terminal{Backend: BackendHost},
		Container: Container{
			Pids:      DefaultPids,
			TmpfsSize: DefaultTmpfsSize,
			Network:   NetworkNone,
			Persist:   PersistSession,
			Idle:      DefaultIdle,
		},
	}
}
