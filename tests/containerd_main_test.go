package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runWithContainerd runs the tests (TestMain calls it) with the containerd
// they run against: the one .ci/run started ($HERMES_TEST_CONTAINERD), or,
// as root on a machine with containerd installed, a private one it starts
// itself with its own config, root, state and socket
// (tests/containerd-daemon.sh) and stops at the end. It never uses the
// machine's own daemon.
func runWithContainerd(m *testing.M) int {
	containerdSocket = os.Getenv("HERMES_TEST_CONTAINERD")
	var dir string
	if containerdSocket == "" && os.Geteuid() == 0 {
		if _, err := exec.LookPath("containerd"); err == nil {
			dir, containerdSocket = startContainerd()
		}
	}
	code := m.Run()
	if dir != "" {
		stop := exec.Command(filepath.Join(repoRoot(), "tests", "containerd-daemon.sh"), "stop", dir)
		stop.Stderr = os.Stderr
		_ = stop.Run()
		_ = os.RemoveAll(dir)
	}
	return code
}

func startContainerd() (dir, sock string) {
	dir, err := os.MkdirTemp("/var/tmp", "hermes-test-containerd-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "tests: no containerd: %v\n", err)
		return "", ""
	}
	out, err := exec.Command(filepath.Join(repoRoot(), "tests", "containerd-daemon.sh"), "start", dir).Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tests: could not start a private containerd: %v\n", err)
		return dir, ""
	}
	return dir, strings.TrimSpace(string(out))
}
