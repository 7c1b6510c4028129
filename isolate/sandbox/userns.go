package sandbox

// For a caller who is not root the container's user namespace can map only
// one uid, the caller's, and libcontainer needs it to be root there (see
// insideIDs). So that a command still runs as its caller (id -u prints the
// caller's uid, files show the caller as owner, tools that refuse to run as
// root work), every process that runs commands enters one more user
// namespace first, mapping the caller's uid and gid to the container's
// root, the only ids there are. That happens here, in a C constructor of
// the binary, because unshare(CLONE_NEWUSER) needs a single-threaded
// process and the Go runtime starts threads before main.
//
// The container's seccomp filter lets unshare(CLONE_NEWUSER) through (and
// nothing else new: see seccompProfile), and its processes hold
// CAP_SETFCAP, which mapping the container's root requires. The
// constructor then drops every capability (a new user namespace grants
// them all) and stacks a second filter that refuses any further user
// namespace. A filter can only be added, never
// removed, so every command runs under both. The processes that still run
// under the first filter alone are this binary's own (the session reaper,
// and a command's starter until the constructor ran). They stay in the
// container's user namespace, where commands have no capability, so a
// command cannot ptrace them to borrow their filter (and they are
// non-dumpable besides, see sealExe).
//
//	BINARY sandbox-userns UID GID MODE ARGS...

/*
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)
# define HERMES_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
# define HERMES_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

int hermes_userns_entered;

static void hermes_die(const char *what)
{
	dprintf(2, "hermes-exec: sandbox: entering the caller's user namespace: %s: %s\n", what, strerror(errno));
	_exit(126);
}

static void hermes_write(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		hermes_die(path);
	size_t n = strlen(data);
	if (write(fd, data, n) != (ssize_t)n)
		hermes_die(path);
	close(fd);
}

static long hermes_id(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0 || v > 0xfffffffeL) {
		errno = EINVAL;
		hermes_die("bad id");
	}
	return v;
}

static void hermes_drop_caps(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof data);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		hermes_die("clearing ambient capabilities");
	if (syscall(SYS_capset, &hdr, data) < 0)
		hermes_die("capset");
}

// hermes_supervise keeps a rootless session command tied to its wrapper.
// Such a command is started by libcontainer from the helper, and nothing
// would end it when the wrapper (and with it the helper) is SIGKILLed: the
// root path's reaper kills a command whose connection closes, a fresh
// container dies with its reaper. So the starter forks: the child goes on
// to become the command; this parent, whose pid the helper waits for and
// signals (as a process group, which the child shares), waits for the
// child and ends as it ended, or kills the whole group when the lifeline
// (a pipe whose only write end the helper holds) reads EOF: the helper is
// gone, however it died.
static void hermes_supervise(int lifeline)
{
	sigset_t all, old;
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) < 0)
		hermes_die("sigprocmask");
	pid_t child = fork();
	if (child < 0)
		hermes_die("fork");
	if (child == 0) {
		close(lifeline);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0) {
		kill(child, SIGKILL);
		hermes_die("signalfd");
	}
	for (;;) {
		int ws;
		pid_t got = waitpid(child, &ws, WNOHANG);
		if (got == child) {
			if (WIFEXITED(ws))
				_exit(WEXITSTATUS(ws));
			if (WIFSIGNALED(ws)) {
				int sig = WTERMSIG(ws);
				signal(sig, SIG_DFL);
				sigset_t one;
				sigemptyset(&one);
				sigaddset(&one, sig);
				sigprocmask(SIG_UNBLOCK, &one, NULL);
				prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
				kill(getpid(), sig);
				_exit(128 + sig);
			}
		}
		// Signals sent to the group reach the child directly; this
		// process only drains them (SIGCHLD wakes it up).
		struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = lifeline, .events = POLLIN}};
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			continue;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			(void)!read(sfd, &si, sizeof si);
		}
		if (pfd[1].revents) {
			char b;
			ssize_t n = read(lifeline, &b, 1);
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				kill(0, SIGKILL);
				kill(child, SIGKILL);
				_exit(128 + SIGKILL);
			}
		}
	}
}

__attribute__((constructor)) static void hermes_enter_userns(int argc, char **argv, char **envp)
{
	char buf[64];
	(void)envp;
	if (argc >= 2 && strcmp(argv[1], "sandbox-reaper") == 0) {
		// A rootless session's reaper stays in the container's user
		// namespace and never executes anything: it only needs to
		// give up CAP_SETFCAP (see below). For root's it is a no-op.
		hermes_drop_caps();
		return;
	}
	if (argc < 5 || strcmp(argv[1], "sandbox-userns") != 0)
		return;
#ifndef HERMES_AUDIT_ARCH
	errno = ENOSYS;
	hermes_die("unsupported architecture");
#else
	long uid = hermes_id(argv[2]), gid = hermes_id(argv[3]);

	// Mapping the parent namespace's root (the container's, the only
	// uid it has) needs CAP_SETFCAP when the namespace is made: the one
	// capability a rootless container's processes start with.
	if (unshare(CLONE_NEWUSER) < 0)
		hermes_die("unshare");
	// Unprivileged gid mappings need setgroups denied first; the
	// command has no supplementary groups to keep anyway.
	hermes_write("/proc/self/setgroups", "deny");
	snprintf(buf, sizeof buf, "%ld 0 1\n", uid);
	hermes_write("/proc/self/uid_map", buf);
	snprintf(buf, sizeof buf, "%ld 0 1\n", gid);
	hermes_write("/proc/self/gid_map", buf);

	// A new user namespace comes with every capability in it (and a
	// full bounding set): drop them all before anything else runs.
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			hermes_die("dropping the bounding set");
	hermes_drop_caps();

	// No further user namespace: unshare with CLONE_NEWUSER fails with
	// EPERM, as it does for root's sandbox. clone with CLONE_NEWUSER and
	// clone3 are already refused by the container's filter.
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, HERMES_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
		// x32 system calls have their own numbers: refuse them all.
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 4, 0),
#else
		BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0),
#endif
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 2),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		hermes_die("no_new_privs");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		hermes_die("seccomp");
	hermes_userns_entered = 1;
	if (argc >= 6 && strcmp(argv[4], "sandbox-exec") == 0 && strcmp(argv[5], "--lifeline") == 0)
		hermes_supervise(4);
#endif
}
*/
import "C"

// usernsArg is the argv[1] that makes the constructor above act.
const usernsArg = "sandbox-userns"

// usernsEntered reports whether the constructor moved this process into
// the caller's user namespace. A process started with usernsArg that did
// not get there must not run anything.
func usernsEntered() bool { return C.hermes_userns_entered == 1 }
