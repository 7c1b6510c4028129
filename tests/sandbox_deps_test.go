package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"hermes-exec/internal/testutil"
)

// The main binary speaks to session reapers itself (isolate/sandboxexec
// imports isolate/sandbox/execproto) but must stay the small static program
// on every command's path: nothing of libcontainer, no cgo, as the Makefile
// builds it. The OCI spec's types (runtime-spec's specs-go: structs, no
// code that runs) are the one exception: the wrapper builds the spec a
// cold fresh container would get to see that a spare container still
// matches it (isolate/sandbox/spare), as the helper does.
func TestMainBinaryHasNoContainerRuntimeOrCgo(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		testutil.Skip(t, "no go toolchain in PATH to list the main binary's packages")
	}
	_, file, _, _ := runtime.Caller(0)
	c := exec.Command(goBin, "list", "-deps", "-tags", "urfave_cli_no_docs",
		"-f", "{{.ImportPath}} {{len .CgoFiles}}", "./cmd/hermes-exec")
	c.Dir = filepath.Dir(filepath.Dir(file))
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var sawExecproto bool
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, cgo, _ := strings.Cut(line, " ")
		heavy := strings.HasPrefix(pkg, "github.com/opencontainers/") && pkg != "github.com/opencontainers/runtime-spec/specs-go" ||
			strings.HasPrefix(pkg, "github.com/containerd/")
		if heavy || pkg == "runtime/cgo" || cgo != "0" {
			t.Errorf("hermes-exec depends on %s (cgo files: %s)", pkg, cgo)
		}
		sawExecproto = sawExecproto || pkg == "hermes-exec/isolate/sandbox/execproto"
	}
	if !sawExecproto {
		t.Error("hermes-exec does not import execproto: this test checks nothing")
	}
}
