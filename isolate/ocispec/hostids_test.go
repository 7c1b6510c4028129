package ocispec

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func hostIDsConfig(t *testing.T) Config {
	t.Helper()
	base := t.TempDir()
	ws := filepath.Join(base, "ws")
	mkdirs(t, ws, filepath.Join(base, "hh"), filepath.Join(base, "state"), filepath.Join(base, "rt"))
	return Config{
		Owner: Owner{UID: 4242, GID: 4343}, Workspace: ws, HermesHome: filepath.Join(base, "hh"),
		StateDir: filepath.Join(base, "state"), Rootfs: filepath.Join(base, "state"), Network: "none", Pids: -1,
		HostIDs: true, Hide: []string{filepath.Join(base, "rt", "sock"), filepath.Join(base, "rt")},
	}
}

// HostIDs: no user namespace, the owner's own ids, and nothing of the
// nested step (no capability, no unshare let through).
func TestHostIDsHasNoUserNamespace(t *testing.T) {
	c := hostIDsConfig(t)
	if c.Nested() {
		t.Fatal("a HostIDs config counts as nested")
	}
	s, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.UserNamespace {
			t.Error("HostIDs made a user namespace")
		}
	}
	if len(s.Linux.UIDMappings)+len(s.Linux.GIDMappings) != 0 || s.Process.User.UID != 4242 || s.Process.User.GID != 4343 {
		t.Errorf("mappings %v %v, user %+v", s.Linux.UIDMappings, s.Linux.GIDMappings, s.Process.User)
	}
	if caps := s.Process.Capabilities; len(caps.Bounding)+len(caps.Effective)+len(caps.Permitted) != 0 {
		t.Errorf("capabilities %+v", caps)
	}
	for _, sc := range s.Linux.Seccomp.Syscalls {
		if slices.Contains(sc.Names, "unshare") && sc.Action == specs.ActAllow {
			t.Error("unshare is let through without the nested step")
		}
	}
	if !slices.Contains(s.Linux.MaskedPaths, c.Hide[1]) {
		t.Errorf("Hide is not masked: %v", s.Linux.MaskedPaths)
	}
	c.Rootless = true
	if _, err := Build(c); err == nil {
		t.Error("a rootless runtime was given the host's ids")
	}
}

func TestWorkspaceInsideHideIsRefused(t *testing.T) {
	c := hostIDsConfig(t)
	c.Workspace = filepath.Join(c.Hide[1], "ws")
	mkdirs(t, c.Workspace)
	if _, err := Build(c); err == nil || !strings.Contains(err.Error(), "hides") {
		t.Errorf("err = %v", err)
	}
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
