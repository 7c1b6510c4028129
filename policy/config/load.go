package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"hermes-exec/internal/safefs"

	"go.yaml.in/yaml/v3"
)

// rawFile mirrors the sections hermes-exec reads. Scalars are kept as nodes
// so that a bad value can be reported with its line, and so that "integer
// seconds or a duration string" can be told apart by tag. Sections and keys
// it does not name are skipped by the decoder: config.yaml is Hermes's file
// and has many other sections.
type rawFile struct {
	Approvals rawApprovals `yaml:"approvals"`
	Terminal  rawTerminal  `yaml:"terminal"`
	Container rawContainer `yaml:"container"`
	Gateway   rawGateway   `yaml:"gateway"`
}

type rawApprovals struct {
	Mode        yaml.Node `yaml:"mode"`
	Timeout     yaml.Node `yaml:"timeout"`
	Allowlist   yaml.Node `yaml:"allowlist"`
	Deny        yaml.Node `yaml:"deny"`
	InContainer yaml.Node `yaml:"in_container"`
	Timeouts    yaml.Node `yaml:"timeouts"`
}

type rawTerminal struct {
	Backend        yaml.Node `yaml:"backend"`
	EnvPassthrough yaml.Node `yaml:"env_passthrough"`
	ExecChecks     yaml.Node `yaml:"exec_checks"`
	Shell          yaml.Node `yaml:"shell"`
}

type rawContainer struct {
	Memory    yaml.Node `yaml:"memory"`
	CPUs      yaml.Node `yaml:"cpus"`
	Pids      yaml.Node `yaml:"pids"`
	TmpfsSize yaml.Node `yaml:"tmpfs_size"`
	Workspace yaml.Node `yaml:"workspace"`
	Rootfs    yaml.Node `yaml:"rootfs"`
	Network   yaml.Node `yaml:"network"`
	Persist   yaml.Node `yaml:"persist"`
	Idle      yaml.Node `yaml:"idle"`
	Spare     yaml.Node `yaml:"spare"`
	Image     yaml.Node `yaml:"image"`
	// Sandbox view lists (see Container).
	HomeReadable   yaml.Node `yaml:"home_readable"`
	ProtectedPaths yaml.Node `yaml:"protected_paths"`
	// Containerd is `container.containerd:`, the containerd backend's daemon.
	Containerd rawContainerd `yaml:"containerd"`
}

type rawContainerd struct {
	Address   yaml.Node `yaml:"address"`
	Namespace yaml.Node `yaml:"namespace"`
}

// Load reads config.yaml at path (hermeshome.Layout.Config gives the
// user's). A missing file gives the defaults. The file is opened as
// safefs.ReadFile does: a symbolic link another user owns, a dangling link,
// a FIFO or device, a file writable by others or larger than MaxConfigSize
// is an error. An unreadable file, a YAML error or a bad value is an
// error of the form "PATH:LINE: MESSAGE"; the caller must not guess a
// configuration then, since a guess could drop the user's deny rules.
// There is deliberately no cache of the decoded file: anything that could
// stand in for config.yaml is one more place to forge the user's rules
// (and a long allowlist is read cheaply instead, see fastlist.go).
func Load(path string) (*Config, error) {
	if path == "" {
		return nil, errors.New("config: no configuration file named")
	}
	c := Defaults()
	c.Path = path
	// A string, read without a copy: a long allowlist's entries are
	// substrings of it (fastlist.go).
	data, err := safefs.ReadFileString(path, MaxConfigSize, os.Geteuid())
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := decode(c, data); err != nil {
		return nil, withPath(path, hintTabs(err, data))
	}
	return c, nil
}

// decode fills c from the YAML document in data.
// A long allowlist is read without the library's nodes when it has the
// usual shape (fastlist.go); the result is the same either way.
func decode(c *Config, data string) error {
	if decodeFast(c, data) {
		return nil
	}
	return decodeYAML(c, []byte(data))
}

// decodeYAML is decode through the YAML library alone.
func decodeYAML(c *Config, data []byte) error {
	var raw rawFile
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return fromYAML(err)
	}
	return raw.apply(c)
}

func (raw *rawFile) apply(c *Config) error {
	return errors.Join(raw.Approvals.apply(&c.Approvals), raw.Terminal.apply(&c.Terminal), raw.Container.apply(&c.Container), raw.Gateway.apply(&c.Gateway))
}

func (r *rawApprovals) apply(a *Approvals) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if v, ok, err := scalar(&r.Mode, "approvals.mode"); err != nil {
		add(err)
	} else if ok {
		m, err := parseMode(&r.Mode, v)
		add(err)
		a.Mode = m
	}
	if d, ok, err := duration(&r.Timeout, "approvals.timeout"); err != nil {
		add(err)
	} else if ok {
		a.Timeout = d
	}
	var err error
	a.Timeouts, err = timeoutMap(&r.Timeouts, "approvals.timeouts")
	add(err)
	a.Allowlist, err = stringList(&r.Allowlist, "approvals.allowlist")
	add(err)
	a.Deny, err = stringList(&r.Deny, "approvals.deny")
	add(err)
	if v, ok, err := choice(&r.InContainer, "approvals.in_container", InContainerSkip, InContainerAsk); err != nil {
		add(err)
	} else if ok {
		a.InContainer = v
	}
	return errors.Join(errs...)
}

// parseMode maps Hermes's approval modes onto hermes-exec's two.
func parseMode(n *yaml.Node, v string) (string, error) {
	switch v {
	case "", "default", "manual", "smart":
		return ModeDefault, nil
	case "off":
		return ModeOff, nil
	}
	return "", nodeErr(n, "approvals.mode: %q is not one of default, manual, smart, off", v)
}

func (r *rawTerminal) apply(t *Terminal) error {
	var errs []error
	v, ok, err := scalar(&r.Backend, "terminal.backend")
	switch {
	case err != nil:
		errs = append(errs, err)
	case !ok:
	case v == BackendHost || v == "local": // "local" is Hermes's name for the host
		t.Backend = BackendHost
	case v == BackendSandbox || v == BackendContainerd || v == BackendSupervisor:
		t.Backend = v
	default:
		errs = append(errs, nodeErr(&r.Backend, "terminal.backend: %q is not one of host, local, sandbox, containerd, supervisor", v))
	}
	t.EnvPassthrough, err = stringList(&r.EnvPassthrough, "terminal.env_passthrough")
	if err != nil {
		errs = append(errs, err)
	}
	v, ok, err = scalar(&r.ExecChecks, "terminal.exec_checks")
	switch {
	case err != nil:
		errs = append(errs, err)
	case !ok:
	case v == ExecChecksOn || v == "true":
		t.ExecChecks = ExecChecksOn
	case v == ExecChecksOff || v == "false":
		t.ExecChecks = ExecChecksOff
	default:
		errs = append(errs, nodeErr(&r.ExecChecks, "terminal.exec_checks: %q is not one of on, off", v))
	}
	switch v, ok, err := scalar(&r.Shell, "terminal.shell"); {
	case err != nil:
		errs = append(errs, err)
	case ok && !filepath.IsAbs(v):
		errs = append(errs, nodeErr(&r.Shell, "terminal.shell: %q is not an absolute path", v))
	case ok:
		t.Shell = v
	}
	return errors.Join(errs...)
}

func (r *rawContainer) apply(c *Container) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if v, ok, err := byteSize(&r.Memory, "container.memory", true); err != nil {
		add(err)
	} else if ok {
		c.Memory = v
	}
	if v, ok, err := byteSize(&r.TmpfsSize, "container.tmpfs_size", false); err != nil {
		add(err)
	} else if ok {
		c.TmpfsSize = v
	}
	if v, ok, err := number(&r.CPUs, "container.cpus"); err != nil {
		add(err)
	} else if ok {
		c.CPUs = v
	}
	if v, ok, err := positiveInt(&r.Pids, "container.pids"); err != nil {
		add(err)
	} else if ok {
		c.Pids = v
	}
	if v, ok, err := scalar(&r.Workspace, "container.workspace"); err != nil {
		add(err)
	} else if ok {
		c.Workspace = expandHome(v)
	}
	if v, ok, err := scalar(&r.Rootfs, "container.rootfs"); err != nil {
		add(err)
	} else if ok {
		c.Rootfs = expandHome(v)
	}
	if v, ok, err := choice(&r.Network, "container.network", NetworkNone, NetworkHost); err != nil {
		add(err)
	} else if ok {
		c.Network = v
	}
	if v, ok, err := choice(&r.Persist, "container.persist", PersistSession, PersistNone); err != nil {
		add(err)
	} else if ok {
		c.Persist = v
	}
	if d, ok, err := duration(&r.Idle, "container.idle"); err != nil {
		add(err)
	} else if ok {
		c.Idle = d
	}
	if v, ok, err := choice(&r.Spare, "container.spare", SpareOn, SpareOff); err != nil {
		add(err)
	} else if ok {
		c.Spare = v
	}
	if v, ok, err := scalar(&r.Image, "container.image"); err != nil {
		add(err)
	} else if ok {
		c.Image = v
	}
	if v, ok, err := scalar(&r.Containerd.Address, "container.containerd.address"); err != nil {
		add(err)
	} else if ok {
		c.Containerd.Address = expandHome(v)
	}
	if v, ok, err := scalar(&r.Containerd.Namespace, "container.containerd.namespace"); err != nil {
		add(err)
	} else if ok {
		c.Containerd.Namespace = v
	}
	if v, err := stringList(&r.HomeReadable, "container.home_readable"); err != nil {
		add(err)
	} else if v != nil {
		c.HomeReadable = v
	}
	if v, err := stringList(&r.ProtectedPaths, "container.protected_paths"); err != nil {
		add(err)
	} else if v != nil {
		c.ProtectedPaths = v
	}
	return errors.Join(errs...)
}
