package tests

import (
	"os"
	"os/exec"
	"strconv"
	"testing"

	"hermes-exec/isolate/conformance"
)

// Every backend shows the same behaviour to the agent: isolate/conformance,
// run through the built binary for each.

func TestConformanceHost(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  mode: \"off\"\n")
	conformance.Run(t, conformance.Target{Command: func(script string, env ...string) *exec.Cmd {
		return e.cmd(env, "-c", script)
	}})
}

func TestConformanceSandbox(t *testing.T) {
	for _, persist := range []string{"none", "session"} {
		t.Run(persist, func(t *testing.T) {
			s := newSandboxEnv(t, "  persist: "+persist+"\n  memory: 256m\n")
			sid := "HERMES_SESSION_ID=conformance-" + persist + "-" + strconv.Itoa(os.Getpid())
			conformance.Run(t, conformance.Target{Command: func(script string, env ...string) *exec.Cmd {
				return s.cmd(append(append(append([]string(nil), s.extraEnv...), sid), env...), "-c", script)
			}})
		})
	}
}

func TestConformanceRootlessSandbox(t *testing.T) {
	for _, persist := range []string{"none", "session"} {
		t.Run(persist, func(t *testing.T) {
			r := newRootlessEnv(t, "  persist: "+persist+"\n")
			sid := "HERMES_SESSION_ID=conformance-rootless-" + persist + "-" + strconv.Itoa(os.Getpid())
			conformance.Run(t, conformance.Target{Command: func(script string, env ...string) *exec.Cmd {
				c := r.cmd(append([]string{sid}, env...), "-c", script)
				c.SysProcAttr.Setsid = true
				return c
			}})
		})
	}
}

// The containerd backend, with the host's root, fresh and in a session.
func TestConformanceContainerd(t *testing.T) {
	useContainerd(t)
	for _, persist := range []string{"none", "session"} {
		t.Run(persist, func(t *testing.T) {
			s := newSandboxEnv(t, "  persist: "+persist+"\n  memory: 256m\n")
			sid := "HERMES_SESSION_ID=conformance-containerd-" + persist + "-" + strconv.Itoa(os.Getpid())
			conformance.Run(t, conformance.Target{Command: func(script string, env ...string) *exec.Cmd {
				return s.cmd(append(append(append([]string(nil), s.extraEnv...), sid), env...), "-c", script)
			}})
		})
	}
}
