// Package sandbox is the embedded libcontainer backend: every command runs in
// a container made in-process with runc's libcontainer, with no daemon and no
// runc binary. The container's OCI spec comes from isolate/ocispec (which a
// containerd backend shares); this package converts it with specconv, makes
// and removes containers, and runs commands in them.
//
// The container sees the host's root filesystem read-only (so the usual tools
// are there), the workspace writable at the same path with the paths the
// host runs later (.git/hooks, .git/config, .envrc, .vscode...) read-only in
// it, private memory-backed /tmp, /run, /dev and /dev/shm within one size
// budget, a private /proc, the owner's home hidden but for a short read-only
// list, and nothing of the owner's secrets: HERMES_HOME, ~/.hermes, the
// credential stores of internal/credentials, the system's secret files,
// other users' homes and container runtime sockets are masked. It has its
// own mount, pid, ipc, uts, cgroup and user namespaces (the user namespace
// maps only the owner's uid and gid) and, unless container.network is
// "host", a network namespace with only loopback. Every process runs with
// no capabilities, no_new_privs and Docker's default seccomp profile
// restricted to the native architecture and without set-uid or set-gid
// file modes, inside a cgroup that enforces the memory, CPU and pids limits.
//
// A caller who is not root gets the same sandbox (rootless): the
// container's user namespace maps the caller's uid to its root, as
// libcontainer requires, and every command runs one user namespace deeper
// as the caller's own uid (userns.go). Such a caller has no cgroup on
// cgroup v1, so memory and CPU limits make the sandbox refuse to start and
// the pids limit is enforced with RLIMIT_NPROC, which the kernel counts per
// user namespace.
//
// Two lifetimes exist. A fresh container (container.persist: none, or no
// session id) is made for one command and destroyed when it ends. A session
// container (container.persist: session) is kept per HERMES_SESSION_ID: its
// init is this binary's own small reaper and each command runs in it as an
// extra process, so files outside the workspace survive between commands.
// The reaper starts those commands itself, over a socket in the state
// directory (execserver.go), which spares a second container process per
// command; a command with a terminal, or in a rootless session, is started
// by libcontainer instead. The socket's protocol and client, the options and
// the session's container id are in execproto, so that the main binary,
// which does not link this package, asks a running session's reaper
// directly and starts this helper only when it cannot.
//
// The binary must call Init first thing in main: libcontainer re-executes it
// as "init" to set the container up, and the reaper is the same binary run as
// "sandbox-reaper".
package sandbox
