package ocispec

import (
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecNotify amends a profile for exec checks (terminal.exec_checks): every
// execve and execveat is sent to the seccomp agent at the spec's
// linux.seccomp.listenerPath (SCMP_ACT_NOTIFY), which the caller sets.
//
// The profile is restricted to the native architecture (see Seccomp), so
// the notify rule covers every exec the container can make: a system call
// through the i386 table or with the x32 bit does not reach these rules and
// is refused outright.
//
// A command must not be able to install a listener of its own and answer
// for its children. The kernel already refuses a second listener in a
// filter chain that has one (EBUSY), and a filter added later can only
// restrict: the kernel runs every filter and the most restrictive action
// wins, and a user notification ranks above allow and trace, so an inner
// filter cannot let an exec through that the outer one sends to its agent.
// The profile also refuses seccomp(2) with SECCOMP_FILTER_FLAG_NEW_LISTENER
// outright (EPERM), so that this does not rest on the kernel alone.
func ExecNotify(p *specs.LinuxSeccomp) {
	kept := p.Syscalls[:0]
	for _, s := range p.Syscalls {
		if s.Action == specs.ActAllow && len(s.Args) == 0 {
			names := s.Names[:0:0]
			for _, n := range s.Names {
				if !execNotifyOwn[n] {
					names = append(names, n)
				}
			}
			if len(names) == 0 {
				continue
			}
			s.Names = names
		}
		kept = append(kept, s)
	}
	p.Syscalls = append(kept,
		specs.LinuxSyscall{Names: []string{"execve", "execveat"}, Action: specs.ActNotify},
		// seccomp(op, flags, args): any operation whose flags lack
		// NEW_LISTENER (the default action, EPERM, takes the rest).
		specs.LinuxSyscall{
			Names:  []string{"seccomp"},
			Action: specs.ActAllow,
			Args:   []specs.LinuxSeccompArg{{Index: 1, Value: unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, ValueTwo: 0, Op: specs.OpMaskedEqual}},
		},
	)
}

// execNotifyOwn are the system calls ExecNotify gives rules of its own.
var execNotifyOwn = map[string]bool{"execve": true, "execveat": true, "seccomp": true}
