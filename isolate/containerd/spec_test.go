package containerd

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"hermes-exec/isolate/containerdexec"
	"hermes-exec/isolate/ocispec"
	"hermes-exec/isolate/sandbox/execproto"
)

func testOptions(t *testing.T) Options {
	t.Helper()
	base := t.TempDir()
	ws := filepath.Join(base, "ws")
	hh := filepath.Join(base, "hermes")
	for _, d := range []string{ws, hh, filepath.Join(ws, ".git", "hooks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o, err := withDefaults(containerdexec.Options{
		Options: execproto.Options{Workspace: ws, HermesHome: hh, StateDir: filepath.Join(base, "state"), Memory: 64 << 20, CPUs: 1.5, Pids: 99},
		Address: filepath.Join(base, "cd", "containerd.sock"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(o.Address), o.StateDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func mountAt(s *specs.Spec, dest string) *specs.Mount {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dest {
			return &s.Mounts[i]
		}
	}
	return nil
}

// The spec is the embedded sandbox's: ocispec.Build's, with only the
// command, the cgroup and the two mounts of this backend's own added.
func TestSpecIsTheSandboxSpec(t *testing.T) {
	o := testOptions(t)
	s, err := buildSpec(o, specParams{id: "f-1", initPath: "/bin/true", lifeDir: o.StateDir, args: []string{"a"}, cwd: o.Workspace})
	if err != nil {
		t.Fatal(err)
	}
	want, err := ocispec.Build(specConfig(o, false))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(want.Mounts); len(s.Mounts) != n+2 || !reflect.DeepEqual(s.Mounts[:n], want.Mounts) {
		t.Errorf("mounts differ from the sandbox's:\n got %+v\nwant %+v", s.Mounts, want.Mounts)
	}
	if !reflect.DeepEqual(s.Linux.Seccomp, want.Linux.Seccomp) || !reflect.DeepEqual(s.Linux.Namespaces, want.Linux.Namespaces) ||
		!reflect.DeepEqual(s.Linux.Resources, want.Linux.Resources) || !reflect.DeepEqual(s.Process.Capabilities, want.Process.Capabilities) {
		t.Error("seccomp, namespaces, limits or capabilities differ from the sandbox's")
	}
	if !s.Root.Readonly || !s.Process.NoNewPrivileges {
		t.Errorf("root writable or new privileges allowed: %+v %+v", s.Root, s.Process)
	}
	r := s.Linux.Resources
	if *r.Memory.Limit != 64<<20 || *r.Pids.Limit != 99 || *r.CPU.Quota != 150000 {
		t.Errorf("limits: %+v %+v %+v", r.Memory, r.Pids, r.CPU)
	}
	if s.Linux.CgroupsPath != "/hermes-exec-containerd/f-1" {
		t.Errorf("cgroup %s", s.Linux.CgroupsPath)
	}
	for _, hidden := range []string{o.HermesHome, filepath.Dir(o.Address), o.StateDir} {
		if !slices.Contains(s.Linux.MaskedPaths, hidden) {
			t.Errorf("%s is not masked: %v", hidden, s.Linux.MaskedPaths)
		}
	}
	for _, private := range []string{"/tmp", "/run"} {
		if m := mountAt(s.Spec, private); m == nil || m.Type != "tmpfs" {
			t.Errorf("%s is not private: %+v", private, m)
		}
	}
	if m := mountAt(s.Spec, "/usr"); m == nil || !slices.Contains(m.Options, "rro") {
		t.Errorf("the host's /usr is not recursively read-only: %+v", m)
	}
	// The protected paths that do not exist get placeholders.
	if !slices.Contains(s.Placeholders, filepath.Join(o.Workspace, ".envrc")+"/") {
		t.Errorf("no placeholder for .envrc: %v", s.Placeholders)
	}
}

// A root owner gets the sandbox's user namespace (only uid 0, mapped to
// itself); another owner runs with its own ids and no user namespace,
// which the static init cannot step out of.
func TestSpecUserNamespace(t *testing.T) {
	o := testOptions(t)
	hasUserns := func(s *ocispec.Spec) bool {
		for _, n := range s.Linux.Namespaces {
			if n.Type == specs.UserNamespace {
				return true
			}
		}
		return false
	}
	root := *o.Owner
	root.UID, root.GID = 0, 0
	o.Owner = &root
	s, err := buildSpec(o, specParams{id: "f-1", initPath: "/bin/true", lifeDir: o.StateDir, cwd: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if !hasUserns(s) || len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0] != (specs.LinuxIDMapping{ContainerID: 0, HostID: 0, Size: 1}) || s.Process.User.UID != 0 {
		t.Errorf("root owner: userns %v, mappings %+v, uid %d", hasUserns(s), s.Linux.UIDMappings, s.Process.User.UID)
	}
	other := root
	other.UID, other.GID = 4242, 4343
	o.Owner = &other
	if s, err = buildSpec(o, specParams{id: "f-1", initPath: "/bin/true", lifeDir: o.StateDir, cwd: "/"}); err != nil {
		t.Fatal(err)
	}
	if hasUserns(s) || s.Process.User.UID != 4242 || s.Process.User.GID != 4343 || len(s.Process.Capabilities.Bounding) != 0 {
		t.Errorf("owner 4242: userns %v, user %+v, caps %+v", hasUserns(s), s.Process.User, s.Process.Capabilities)
	}
	if p := execProcess(o, []string{"x"}, nil, "/", false, nil); p.User.UID != 4242 || !p.NoNewPrivileges {
		t.Errorf("a session command runs as %+v", p.User)
	}
}

func TestSpecNetworkHostSharesTheNetwork(t *testing.T) {
	o := testOptions(t)
	o.Network = execproto.NetworkHost
	s, err := buildSpec(o, specParams{id: "f-1", image: true, initPath: "/bin/true", lifeDir: o.StateDir, cwd: "/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			t.Error("network: host still makes a network namespace")
		}
	}
	if s.Root.Path != imageRoot || mountAt(s.Spec, "/usr") != nil {
		t.Errorf("an image root (%s) got the host's binds", s.Root.Path)
	}
}

func TestSpecRefusesAWorkspaceInsideASecret(t *testing.T) {
	o := testOptions(t)
	for _, ws := range []string{filepath.Join(o.HermesHome, "inside"), filepath.Join(filepath.Dir(o.Address), "inside")} {
		o.Workspace = ws
		if err := os.MkdirAll(o.Workspace, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := buildSpec(o, specParams{id: "f-1", initPath: "/bin/true", lifeDir: o.StateDir})
		if err == nil || !strings.Contains(err.Error(), "hides") {
			t.Errorf("workspace %s: err = %v", ws, err)
		}
	}
}

// Placeholders go with the workspace's last container, never while
// another still has its mounts on them.
func TestPlaceholdersGoWithTheLastContainer(t *testing.T) {
	o := testOptions(t)
	b := &Backend{o: o}
	for _, id := range []string{"f-a", "f-b"} {
		if err := os.MkdirAll(filepath.Join(o.StateDir, id), 0o700); err != nil {
			t.Fatal(err)
		}
		_, unlock, err := b.protected(specParams{id: id, initPath: "/bin/true", lifeDir: o.StateDir, cwd: "/"})
		if err != nil {
			t.Fatal(err)
		}
		unlock()
	}
	envrc := filepath.Join(o.Workspace, ".envrc")
	if fi, err := os.Lstat(envrc); err != nil || !fi.IsDir() {
		t.Fatalf("no placeholder at .envrc: %v", err)
	}
	os.RemoveAll(filepath.Join(o.StateDir, "f-a"))
	forgetWorkspace(o, o.Workspace, "f-a")
	if _, err := os.Lstat(envrc); err != nil {
		t.Fatal("a placeholder went while f-b still uses it")
	}
	forgetWorkspace(o, o.Workspace, "f-b")
	if _, err := os.Lstat(envrc); err == nil {
		t.Error("the last container left its placeholders")
	}
	if _, err := os.Lstat(filepath.Join(o.Workspace, ".git", "hooks")); err != nil {
		t.Error("an existing protected path was removed")
	}
}

func TestVersionOK(t *testing.T) {
	for v, want := range map[string]bool{
		"1.6.20~ds1": true, "v1.7.2": true, "2.1.0": true, "v2.4.2": true,
		"1.5.9": false, "1.4": false, "garbage": false, "": false,
	} {
		if got := versionOK(v); got != want {
			t.Errorf("versionOK(%q) = %v", v, got)
		}
	}
}
