package containerd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"hermes-exec/isolate/containerdexec"
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

func TestSpecHasTheSandboxShape(t *testing.T) {
	o := testOptions(t)
	s, err := buildSpec(o, specParams{id: "f-1", rootPath: "/x", hostRoot: true, initPath: "/bin/true", lifeDir: o.StateDir, args: []string{"a"}, cwd: o.Workspace})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Root.Readonly {
		t.Error("the root is writable")
	}
	p := s.Process
	if !p.NoNewPrivileges || len(p.Capabilities.Bounding)+len(p.Capabilities.Effective)+len(p.Capabilities.Permitted) != 0 {
		t.Errorf("privileges: nnp %v caps %+v", p.NoNewPrivileges, p.Capabilities)
	}
	if p.User.UID != uint32(os.Getuid()) {
		t.Errorf("uid %d, want the caller's %d", p.User.UID, os.Getuid())
	}
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno || len(s.Linux.Seccomp.Architectures) != 1 {
		t.Errorf("seccomp: %+v", s.Linux.Seccomp)
	}
	var ns []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, n.Type)
	}
	for _, want := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace} {
		if !slices.Contains(ns, want) {
			t.Errorf("no %s namespace", want)
		}
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
	ws := mountAt(s, o.Workspace)
	if ws == nil || !slices.Contains(ws.Options, "rw") {
		t.Errorf("workspace mount %+v", ws)
	}
	if m := mountAt(s, filepath.Join(o.Workspace, ".git", "hooks")); m == nil || !slices.Contains(m.Options, "ro") {
		t.Errorf(".git/hooks is not read-only inside: %+v", m)
	}
	for _, private := range []string{"/tmp", "/run"} {
		if m := mountAt(s, private); m == nil || m.Type != "tmpfs" {
			t.Errorf("%s is not private: %+v", private, m)
		}
	}
	if m := mountAt(s, "/usr"); m == nil || !slices.Contains(m.Options, "rro") {
		t.Errorf("the host's /usr is not recursively read-only: %+v", m)
	}
}

func TestSpecNetworkHostSharesTheNetwork(t *testing.T) {
	o := testOptions(t)
	o.Network = execproto.NetworkHost
	s, err := buildSpec(o, specParams{id: "f-1", rootPath: "rootfs", initPath: "/bin/true", lifeDir: o.StateDir, cwd: "/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			t.Error("network: host still makes a network namespace")
		}
	}
	if mountAt(s, "/usr") != nil {
		t.Error("an image root got the host's binds")
	}
}

func TestSpecRefusesAWorkspaceInsideASecret(t *testing.T) {
	o := testOptions(t)
	o.Workspace = filepath.Join(o.HermesHome, "inside")
	if err := os.MkdirAll(o.Workspace, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := buildSpec(o, specParams{id: "f-1", rootPath: "/x", initPath: "/bin/true", lifeDir: o.StateDir})
	if err == nil || !strings.Contains(err.Error(), "must hide") {
		t.Errorf("err = %v", err)
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

func TestHostMirrorIsSharedAndComplete(t *testing.T) {
	dir := t.TempDir()
	a, err := hostMirror(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hostMirror(dir)
	if err != nil || a != b {
		t.Fatalf("second mirror %s %v, want %s", b, err, a)
	}
	entries, _ := os.ReadDir("/")
	for _, e := range entries {
		if _, err := os.Lstat(filepath.Join(a, e.Name())); err != nil && (e.IsDir() || e.Type()&os.ModeSymlink != 0) {
			t.Errorf("the mirror lacks /%s", e.Name())
		}
	}
}
