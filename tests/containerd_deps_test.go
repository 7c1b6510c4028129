package tests

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// goDeps lists pkg's dependencies (import path, number of cgo files).
func goDeps(t *testing.T, pkg string) map[string]string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain in PATH to list packages")
	}
	c := exec.Command(goBin, "list", "-deps", "-tags", "urfave_cli_no_docs", "-f", "{{.ImportPath}} {{len .CgoFiles}}", pkg)
	c.Dir = repoRoot()
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	deps := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p, cgo, _ := strings.Cut(line, " ")
		deps[p] = cgo
	}
	return deps
}

// The containerd client (gRPC, protobuf, the image code) stays out of the
// wrapper on every command's path: only the helper links it.
func TestMainBinaryHasNoContainerdClient(t *testing.T) {
	deps := goDeps(t, "./cmd/hermes-exec")
	if _, ok := deps["hermes-exec/isolate/containerdexec"]; !ok {
		t.Fatal("hermes-exec does not import containerdexec: this test checks nothing")
	}
	for p := range deps {
		if strings.HasPrefix(p, "github.com/containerd/") || strings.HasPrefix(p, "google.golang.org/") || strings.HasPrefix(p, "github.com/schollz/") {
			t.Errorf("hermes-exec depends on %s", p)
		}
	}
	helper := goDeps(t, "./cmd/hermes-exec-containerd")
	if _, ok := helper["github.com/containerd/containerd/v2/client"]; !ok {
		t.Error("the helper does not link the containerd client")
	}
	for p, cgo := range helper {
		if cgo != "0" || p == "runtime/cgo" || strings.HasPrefix(p, "github.com/opencontainers/runc") {
			t.Errorf("the containerd helper needs %s (cgo files %s): it must build static", p, cgo)
		}
	}
}

// The in-container init runs in any image, once per command: nothing but
// the standard library, x/sys and its own package.
func TestContainerdInitIsSmall(t *testing.T) {
	allowed := map[string]bool{
		"hermes-exec/cmd/hermes-exec-containerd/init": true, "hermes-exec/isolate/containerd/reaper": true,
		// The exec socket's server, shared with the sandbox's reaper, and
		// the exit statuses it reports: standard library and x/sys only
		// (every dependency below them is checked here too).
		"hermes-exec/isolate/execwire": true, "hermes-exec/internal/exitcode": true,
		// The fresh container's seccomp filter, which the init installs.
		"hermes-exec/isolate/seccompbpf": true,
	}
	deps := goDeps(t, "./cmd/hermes-exec-containerd/init")
	if _, ok := deps["hermes-exec/isolate/containerd/reaper"]; !ok {
		t.Fatal("the init does not import its package: this test checks nothing")
	}
	for p, cgo := range deps {
		external := strings.Contains(strings.SplitN(p, "/", 2)[0], ".") || strings.HasPrefix(p, "hermes-exec/")
		if cgo != "0" || (external && !allowed[p] && !strings.HasPrefix(p, "golang.org/x/sys/")) {
			t.Errorf("the init depends on %s (cgo files %s)", p, cgo)
		}
	}
}
