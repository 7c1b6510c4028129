package sandbox

import (
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"hermes-exec/internal/testutil"
)

func TestRootlessLimitsOK(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string // "" means accepted
	}{
		{Options{}, ""},
		// The pids limit has RLIMIT_NPROC to enforce it.
		{Options{Pids: 1024}, ""},
		{Options{Memory: 256 << 20}, "container.memory cannot be enforced"},
		{Options{CPUs: 1.5}, "container.cpus cannot be enforced"},
		{Options{Memory: 256 << 20, CPUs: 2, Pids: 64}, "container.memory and container.cpus cannot be enforced"},
	} {
		err := rootlessLimitsOK(tc.o)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: refused: %v", tc.o, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one saying %q", tc.o, err, tc.want)
		}
	}
}

// The rootless profile differs from root's by exactly one rule: unshare
// of a user namespace alone, which the constructor in userns.go needs.
func TestSeccompProfileRootlessAllowsOnlyUserns(t *testing.T) {
	if !seccompBuilt {
		testutil.Skip(t, "built without the seccomp tag")
	}
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}
	root, err := seccompProfile(spec, false)
	if err != nil {
		t.Fatal(err)
	}
	rootless, err := seccompProfile(spec, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rootless.Syscalls) != len(root.Syscalls)+1 || !reflect.DeepEqual(rootless.Syscalls[:len(root.Syscalls)], root.Syscalls) {
		t.Fatalf("the rootless profile changes more than one rule")
	}
	want := specs.LinuxSyscall{Names: []string{"unshare"}, Action: specs.ActAllow,
		Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.CLONE_NEWUSER, Op: specs.OpEqualTo}}}
	if got := rootless.Syscalls[len(rootless.Syscalls)-1]; !reflect.DeepEqual(got, want) {
		t.Errorf("extra rule %+v, want %+v", got, want)
	}
	for _, sc := range root.Syscalls {
		for _, n := range sc.Names {
			if n == "unshare" && sc.Action == specs.ActAllow && len(sc.Args) == 0 {
				t.Errorf("root's profile allows unshare unconditionally: %+v", sc)
			}
		}
	}
}

func TestInCallerUserns(t *testing.T) {
	b := &backend{tmpl: &template{rootless: false}}
	args := []string{"/proc/self/fd/3", reaperArg, "run", "--", "true"}
	if got := b.inCallerUserns(args); !reflect.DeepEqual(got, args) {
		t.Errorf("root: %q, want it unchanged", got)
	}
	b.tmpl.rootless = true
	got := b.inCallerUserns(args)
	if len(got) != len(args)+3 || got[0] != args[0] || got[1] != usernsArg || !reflect.DeepEqual(got[4:], args[1:]) {
		t.Errorf("rootless: %q", got)
	}
}
