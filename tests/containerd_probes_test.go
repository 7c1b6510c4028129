package tests

import (
	"bytes"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every escape probe the embedded sandbox passes, run on the containerd
// backend with the host's root (the same probes, unchanged: newSandboxEnv
// configures the backend under test).
func TestContainerdSandboxProbes(t *testing.T) {
	useContainerd(t)
	for _, p := range []struct {
		name  string
		probe func(*testing.T)
	}{
		{"WritesStayInWorkspace", TestSandboxWritesStayInWorkspace},
		{"HidesSecrets", TestSandboxHidesSecrets},
		{"EnvironmentIsBaseline", TestSandboxEnvironmentIsBaseline},
		{"CannotSeeOrSignalHostProcesses", TestSandboxCannotSeeOrSignalHostProcesses},
		{"HasNoNetwork", TestSandboxHasNoNetwork},
		{"BlocksPrivilegedOperations", TestSandboxBlocksPrivilegedOperations},
		{"SetuidBinaryGainsNothing", TestSandboxSetuidBinaryGainsNothing},
		{"RuntimeSocketIsHidden", TestSandboxRuntimeSocketIsHidden},
		{"ForkBombIsContained", TestSandboxForkBombIsContained},
		{"MemoryBombIsKilled", TestSandboxMemoryBombIsKilled},
		{"ExitStatus", TestSandboxExitStatus},
		{"FreshRunLeavesNothing", TestSandboxFreshRunLeavesNothing},
		{"KilledWrapperLeavesNothing", TestSandboxKilledWrapperLeavesNothing},
		{"SessionKeepsFilesAndRmCleans", TestSandboxSessionKeepsFilesAndRmCleans},
		{"Terminal", TestSandboxTerminal},
		{"SessionTerminal", TestSandboxSessionTerminal},
		// The hardening probes (sandbox_hardening_test.go) that are
		// about what a command can do, not about libcontainer's state.
		{"PlantedSymlinkCwdIsNeverWritable", TestSandboxPlantedSymlinkCwdIsNeverWritable},
		{"SessionWorkspaceIsFixedAtCreation", TestSandboxSessionWorkspaceIsFixedAtCreation},
		{"ProtectedPathsStayReadOnly", TestSandboxProtectedPathsStayReadOnly},
		{"CannotCreateAGitRepository", TestSandboxCannotCreateAGitRepository},
		{"ProtectedPathsAreConfigurable", TestSandboxProtectedPathsAreConfigurable},
		{"CannotCreateSetuidFiles", TestSandboxCannotCreateSetuidFiles},
		{"RunIsPrivate", TestSandboxRunIsPrivate},
		{"HidesTheHome", TestSandboxHidesTheHome},
		{"IdleIsPerHermesHome", TestSandboxIdleIsPerHermesHome},
		{"SignalLoopDoesNotKeepASessionAlive", TestSandboxSignalLoopDoesNotKeepASessionAlive},
		{"LargeCallerEnvironment", TestSandboxLargeCallerEnvironment},
		{"MemoryFilesystemsStayWithinTmpfsSize", TestSandboxMemoryFilesystemsStayWithinTmpfsSize},
		{"FreshReaperIsOutOfReach", TestSandboxFreshReaperIsOutOfReach},
		{"CannotInjectIntoTheCallersTerminal", TestSandboxCannotInjectIntoTheCallersTerminal},
	} {
		t.Run(p.name, func(t *testing.T) {
			// The probe must have run on containerd, not passed on
			// another backend: containerd saw tasks start meanwhile.
			events := watchEvents(t)
			p.probe(t)
			if got := events(); !strings.Contains(got, "/tasks/start") && !strings.Contains(got, "/tasks/exec-started") {
				t.Errorf("containerd started no task during the probe; its events:\n%s", got)
			}
		})
	}
	// Refused before any container is made: no task to look for.
	t.Run("RefusesHermesHomeInsideTheWorkspace", TestSandboxRefusesHermesHomeInsideTheWorkspace)
}

// watchEvents records containerd's events in the test namespace until the
// returned function is called; it returns them.
func watchEvents(t *testing.T) func() string {
	t.Helper()
	out := &syncBuffer{}
	c := exec.Command("ctr", "--address", containerdSocket, "events")
	c.Stdout = out
	if err := c.Start(); err != nil {
		t.Fatalf("ctr events: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // subscribed before the probe starts
	return func() string {
		time.Sleep(100 * time.Millisecond)
		c.Process.Kill()
		c.Wait()
		out.mu.Lock()
		defer out.mu.Unlock()
		return out.buf.String()
	}
}

// syncBuffer is a buffer a command writes to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
