package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"hermes-exec/internal/testutil"
)

// probeBackend is the container backend that newSandboxEnv configures. It
// is the embedded sandbox, except while a containerd test runs the shared
// escape probes (useContainerd): then every probe of sandbox_test.go runs
// on the containerd backend, unchanged.
var probeBackend = sandboxBackendUnderTest

type backendUnderTest struct {
	name      string                    // terminal.backend
	stateDir  string                    // where the backend keeps state
	container string                    // more lines of the container: section
	require   func(*testing.T)          // skips (or fails) when the machine cannot run it
	leftovers func(*testing.T) []string // what fresh containers left besides the sandbox's
	// sessionCgroups is a glob of the session containers' cgroups.
	sessionCgroups string
}

var sandboxBackendUnderTest = backendUnderTest{
	name:           "sandbox",
	stateDir:       "/run/hermes-exec/sandbox",
	require:        requireSandbox,
	leftovers:      func(*testing.T) []string { return nil },
	sessionCgroups: "/sys/fs/cgroup/*/hermes-exec/s-*",
}

// containerdSocket is the socket of the containerd the tests use:
// $HERMES_TEST_CONTAINERD (.ci/run starts one and sets it), else the
// private daemon TestMain started.
var containerdSocket string

// testNamespace keeps the tests' containers and images apart from anything
// else on that daemon.
const testNamespace = "hermes-exec-test"

func containerdBackend() backendUnderTest {
	return backendUnderTest{
		name:           "containerd",
		stateDir:       "/run/hermes-exec/containerd",
		container:      fmt.Sprintf("  containerd:\n    address: %s\n    namespace: %s\n", containerdSocket, testNamespace),
		require:        requireContainerd,
		leftovers:      containerdLeftovers,
		sessionCgroups: "/sys/fs/cgroup/*/hermes-exec-containerd/s-*",
	}
}

// useContainerd makes newSandboxEnv configure the containerd backend for
// the rest of t.
func useContainerd(t *testing.T) {
	t.Helper()
	if testing.Short() {
		// Like every end-to-end test; the probes' own skips would come
		// too late, inside their subtests.
		t.Skip("end-to-end test: not run with -short (make test-short)")
	}
	requireContainerd(t)
	probeBackend = containerdBackend()
	t.Cleanup(func() { probeBackend = sandboxBackendUnderTest })
}

// requireContainerd skips, with the reason, when there is no containerd to
// test against; with HERMES_TEST_REQUIRE_ALL=1 (CI) that is a failure.
func requireContainerd(t *testing.T) {
	t.Helper()
	switch {
	case os.Geteuid() != 0:
		testutil.Skip(t, "containerd tests need root (containerd's socket and cgroups)")
	case containerdSocket == "":
		testutil.Skip(t, "no containerd to test against: install containerd (apt install containerd) or set HERMES_TEST_CONTAINERD to a socket")
	}
}

// ctr runs containerd's own CLI against the test daemon.
func ctr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("ctr", append([]string{"--address", containerdSocket, "-n", testNamespace}, args...)...).CombinedOutput()
	return string(out), err
}

// containerdLeftovers lists what fresh containers left: containers, tasks
// and snapshots containerd still holds, cgroups, state directories and
// init processes.
func containerdLeftovers(t *testing.T) []string {
	t.Helper()
	var left []string
	for _, what := range [][]string{{"containers", "ls", "-q"}, {"tasks", "ls"}, {"snapshots", "ls"}} {
		out, err := ctr(t, what...)
		if err != nil {
			left = append(left, "ctr "+strings.Join(what, " ")+": "+err.Error()+" "+out)
			continue
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "f-") {
				left = append(left, what[0]+": "+line)
			}
		}
	}
	// The rootfs of an image's container is mounted in its bundle.
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, "/io.containerd.runtime.v2.task/"+testNamespace+"/f-") {
			left = append(left, "mount: "+line)
		}
	}
	cg, _ := filepath.Glob("/sys/fs/cgroup/*/hermes-exec-containerd/f-*")
	left = append(left, cg...)
	entries, _ := os.ReadDir("/run/hermes-exec/containerd")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "f-") {
			left = append(left, filepath.Join("/run/hermes-exec/containerd", e.Name()))
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		// This backend's init and exec starters, not the embedded
		// sandbox's (other tests may run those meanwhile).
		if strings.HasPrefix(string(b), "/run/.hermes-exec/init\x00sandbox-reaper\x00run") || strings.HasPrefix(string(b), "/run/.hermes-exec/init\x00sandbox-exec\x00") {
			left = append(left, p+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return left
}

// repoRoot is the repository's top directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}
