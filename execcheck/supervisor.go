// Package execcheck checks every program a command starts, anywhere in its
// process tree, at the moment it is executed: a seccomp filter (package
// filter) stops each execve and execveat before it happens and hands it to
// the Supervisor, which reads the new program's argv from the stopped
// process, classifies it with the same policy as a top-level command, and
// lets it continue, or asks a human (Judge), or fails it with EACCES.
//
// This is an approval and audit aid, not a security boundary: the kernel's
// documentation says the notifier cannot implement a security policy,
// because another thread of the trapped process can rewrite the argv after
// it was read and before the kernel uses it. It sees what a cooperative or
// careless program runs; the sandbox is the boundary.
package execcheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hermes-exec/execcheck/filter"
	"hermes-exec/policy"

	"golang.org/x/sys/unix"
)

// Exec is one trapped exec, as the Judge sees it.
type Exec struct {
	// Pid is the task that called execve (as the wrapper sees pids).
	Pid int
	// Path is the program as given to execve (execveat: resolved against
	// its directory descriptor when it was relative or empty).
	Path string
	// Argv is the new program's argv, as read from the stopped process.
	Argv []string
	// Parents are the command lines of the processes that led to this
	// exec, outermost first, ending with the trapped process's own (the
	// program being replaced). Filled in only for execs that are not
	// simply allowed.
	Parents []string
	// Script is the file whose text was classified with the exec: the
	// script operand of a shell or interpreter, or a #! program itself.
	Script string
	// Verdict is the classification of the argv (and the script's text).
	Verdict policy.Verdict
	// at is how the supervisor reaches the program execveat named by a
	// descriptor (/proc/PID/fd/N/PATH, /proc/PID/cwd/PATH): Path, read
	// from that descriptor's link, is a path from a detached mount's own
	// root when the descriptor is in one, another file in the root.
	// Empty: Path through procPath.
	at string
}

// lookup is the path the supervisor opens for e's program.
func (s *Supervisor) lookup(e *Exec) string {
	if e.at != "" {
		return e.at
	}
	return s.procPath(e.Pid, e.Path)
}

// Command is the exec as shell words, for messages and the audit log.
func (e *Exec) Command() string {
	argv := e.Argv
	if len(argv) == 0 {
		return policy.QuoteArgv([]string{e.Path})
	}
	if filepath.Base(argv[0]) != filepath.Base(e.Path) {
		// argv[0] may say anything (exec -a): show what really runs.
		argv = append([]string{e.Path}, argv[1:]...)
	}
	return policy.QuoteArgv(argv)
}

// Chain is the whole chain for a human: "make clean -> sh -c '...' -> rm -rf /home/alice".
func (e *Exec) Chain() string {
	return strings.Join(append(append([]string(nil), e.Parents...), e.Command()), " -> ")
}

// Judge decides an exec the policy did not simply allow (the verdict is
// Ask or Deny): it asks a human when the flow says so and records the
// decision. It returns true to let the exec run. It must honour ctx: when
// ctx ends, the exec fails whatever Judge later returns.
type Judge func(ctx context.Context, e *Exec) bool

// Supervisor answers the notifications of one listener.
type Supervisor struct {
	// Classifier judges the argv of each exec. It must not defer
	// programs (policy.Rules.DeferPrograms): the exec being checked is
	// the last chance to see its program.
	Classifier *policy.Classifier
	// Scripts judges the text of a script file a shell is given; it may
	// defer programs, whose own execs come later. Nil: Classifier.
	Scripts *policy.Classifier
	Judge   Judge
	// Timeout bounds one judgement (the approval timeout plus a margin);
	// an exec still undecided then fails with EACCES. Zero means
	// approval.DefaultTimeout plus a margin.
	Timeout time.Duration
	// Root is the process the wrapper started (the launcher): its first
	// exec is the top-level command, already decided, and continues
	// unchecked. Zero: none is exempt.
	Root int
	// Errorf reports problems (a nil Errorf is quiet).
	Errorf func(format string, args ...any)

	rootExempt bool // set by Backend: whether Root's first exec is let through
	rootDone   bool
	judging    sync.Mutex // one question at a time
	mu         sync.Mutex
	granted    map[string]bool // argv a human already approved in this run
	// pending are the judgements under way, by task and exec: a signal
	// (Go's preemption signals, a ^C) interrupts a trapped exec, the
	// kernel restarts it, and the restarted call arrives as a new
	// notification of the same exec. It shares the judgement under way
	// instead of asking again.
	pending map[string]*judgement
	// settled keeps a result whose answer found the call interrupted,
	// for its restarted call (taken once, or dropped after a while).
	settled map[string]settledResult
	// stops are processes where the chain shown ends (excluded): a
	// container's init, the helper that started a container process.
	stops map[int]bool
	// allowed remembers argvs the classifier allowed (classifyArgv).
	allowed map[string]policy.Verdict
	wg      sync.WaitGroup
	// sameView is set (by Backend, on the host) when the command started
	// with the wrapper's root and mount namespace; moved is set for good
	// when any process under the filter changes its own (the filter sends
	// chroot, pivot_root, setns, and clone or unshare of a new mount
	// namespace, and refuses clone3). While the one is set and the other
	// not, every process under the filter sees the wrapper's file system,
	// so an absolute path is looked up directly instead of through
	// /proc/PID/root, whose first use for a new process costs the kernel
	// new /proc inodes: that lookup was about a quarter of the
	// supervisor's CPU an exec.
	sameView, moved atomic.Bool
}

// addStop ends the chains shown at pid.
func (s *Supervisor) addStop(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stops == nil {
		s.stops = map[int]bool{}
	}
	s.stops[pid] = true
}

// isStop reports whether the chain shown ends at pid (the wrapper itself,
// or a stop).
func (s *Supervisor) isStop(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stops[pid]
}

type judgement struct {
	ids []uint64 // the call and its restarts, oldest first (under mu)
}

// settledFor is how long a decision stands for the same exec of the same
// process.
const settledFor = 10 * time.Second

type settledResult struct {
	allow bool
	at    time.Time
}

// execKey names one exec of one process.
func execKey(e *Exec) string {
	p := e.Path
	if r, err := filepath.EvalSymlinks(p); err == nil && filepath.IsAbs(p) {
		p = r
	}
	// By process, not thread: a Go program's exec may come from any of
	// its threads.
	id := tgidOf(e.Pid)
	if id == 0 {
		id = e.Pid
	}
	return strconv.Itoa(id) + "\x00" + p + "\x00" + strings.Join(e.Argv, "\x00")
}

// Grant records that a human approved the commands of v (its Ask
// findings with a static argv), so that their execs are not asked about a
// second time: `hermes-exec -c 'rm -rf build'`, once approved, must not
// prompt again when bash executes rm.
func (s *Supervisor) Grant(v policy.Verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.granted == nil {
		s.granted = map[string]bool{}
	}
	for _, f := range v.Findings {
		if f.Decision == policy.Ask && len(f.Argv) > 0 {
			s.granted[grantKey(f.Argv)] = true
		}
	}
}

// isGranted reports whether every Ask finding of v was approved already
// (never for a Deny).
func (s *Supervisor) isGranted(v policy.Verdict) bool {
	if v.Decision != policy.Ask {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range v.Findings {
		if f.Decision != policy.Ask {
			continue
		}
		if len(f.Argv) == 0 || !s.granted[grantKey(f.Argv)] {
			return false
		}
		n++
	}
	return n > 0
}

// grantKey names an argv whatever path its program was given by (bash
// executes /usr/bin/rm for the text's rm).
func grantKey(argv []string) string {
	return policy.QuoteArgv(append([]string{filepath.Base(argv[0])}, argv[1:]...))
}

func (s *Supervisor) errorf(format string, args ...any) {
	if s.Errorf != nil {
		s.Errorf(format, args...)
	}
}

// Serve answers notifications on the listener fd until every process
// under the filter has ended (the listener reports POLLHUP) or stop is
// readable (an eventfd or pipe; -1 for none). It does not close fd: once
// the caller closes it, the kernel fails any exec still trapped, or made
// later, with ENOSYS, so no process ever waits on a supervisor that is
// gone.
func (s *Supervisor) Serve(fd, stop int) error {
	// Not locked to a thread: blocked in poll, the goroutine keeps its
	// thread anyway, and it must be able to yield cheaply (sched.go).
	defer reserveP()()
	h := newCPUHandOver(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if stop >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(stop), Events: unix.POLLIN})
	}
	var n notif
	m := new(mem) // reused: its page buffers are not small
	var y yielder
	for {
		h.waiting()
		fds[0].Revents = 0
		if len(fds) > 1 {
			fds[1].Revents = 0
		}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("exec checks: poll: %w", err)
		}
		// After the wait, not before: after a long wait the scheduler
		// is passed through before the exec's own system calls.
		y.maybe()
		if len(fds) > 1 && fds[1].Revents != 0 {
			return nil
		}
		re := fds[0].Revents
		if re&unix.POLLIN == 0 {
			if re&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				return nil
			}
			continue
		}
		if err := recv(fd, &n); err != nil {
			if retryable(err) {
				continue
			}
			return fmt.Errorf("exec checks: receive: %w", err)
		}
		h.answering()
		s.handle(fd, n, m)
	}
}

// Wait waits for the questions still open: close the listener only after
// it, so that no answer goes to a reused descriptor number.
func (s *Supervisor) Wait() { s.wg.Wait() }

// handle answers one notification: at once when the policy allows the
// exec, else after the Judge, on a goroutine of its own (a question may
// take minutes; other processes' execs go on meanwhile).
func (s *Supervisor) handle(fd int, n notif, m *mem) {
	if abi, ok := filter.ABIFor(n.Arch); ok && !abi.IsExec(n.Nr) {
		// Not an exec: a call that gives the process another view of
		// the file system (the filter sends no other). From now on
		// paths are looked up through each process's own root. This
		// is set before the call is let run.
		s.moved.Store(true)
		s.answer(fd, n.ID, true)
		return
	}
	if s.Root != 0 && !s.rootDone && tgidOf(int(n.Pid)) == s.Root {
		s.rootDone = true
		if s.rootExempt {
			s.answer(fd, n.ID, true)
			return
		}
	}
	e, err := s.read(n, m)
	if !idValid(fd, n.ID) {
		return // the task died or was interrupted; it will retry if alive
	}
	var st *unix.Stat_t
	if err == nil {
		// A shell searching PATH tries execve in every directory: a
		// program that is not there fails as the kernel would fail it,
		// without a question (and without a window in which it could
		// appear and run unchecked).
		var errno unix.Errno
		if st, errno, err = s.statProgram(e); errno != 0 {
			s.answerErrno(fd, n.ID, errno)
			return
		}
	}
	s.classify(e, st, err)
	if e.Verdict.Decision == policy.Allow || s.isGranted(e.Verdict) {
		s.answer(fd, n.ID, true)
		return
	}
	key := execKey(e)
	s.mu.Lock()
	if r, ok := s.settled[key]; ok {
		if time.Since(r.at) < settledFor {
			s.mu.Unlock()
			s.answer(fd, n.ID, r.allow)
			return
		}
		delete(s.settled, key)
	}
	if j, dup := s.pending[key]; dup {
		// The restarted call of an exec being judged: it gets the
		// same answer when the judgement ends.
		j.ids = append(j.ids, n.ID)
		s.mu.Unlock()
		return
	}
	j := &judgement{ids: []uint64{n.ID}}
	if s.pending == nil {
		s.pending = map[string]*judgement{}
	}
	s.pending[key] = j
	s.mu.Unlock()
	e.Parents = parents(e.Pid, s.Root, s.isStop)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		allow := s.judge(e)
		s.mu.Lock()
		delete(s.pending, key)
		ids := j.ids
		s.mu.Unlock()
		// Only the latest call is still waiting; the others were
		// interrupted and restarted. If none is left (the last restart
		// has not arrived yet), the result waits for it.
		// The result also stands, for a little while, for the same exec
		// of the same process made again: the restart of a call that
		// was interrupted after this answer, and a shell that goes on
		// searching PATH after EACCES (/usr/bin/sh, then /bin/sh).
		s.mu.Lock()
		if s.settled == nil {
			s.settled = map[string]settledResult{}
		}
		s.settled[key] = settledResult{allow: allow, at: time.Now()}
		s.mu.Unlock()
		for i := len(ids) - 1; i >= 0; i-- {
			if s.answer(fd, ids[i], allow) {
				break
			}
		}
	}()
}

// judge runs the Judge, bounded by Timeout: no answer is a denial.
func (s *Supervisor) judge(e *Exec) bool {
	s.judging.Lock()
	defer s.judging.Unlock()
	t := s.Timeout
	if t <= 0 {
		t = 310 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), t)
	defer cancel()
	res := make(chan bool, 1)
	go func() { res <- s.Judge(ctx, e) }()
	select {
	case ok := <-res:
		if ok && ctx.Err() == nil {
			s.Grant(e.Verdict)
			return true
		}
		return false
	case <-ctx.Done():
		s.errorf("exec checks: no decision on %s within %s: denied", e.Command(), t)
		return false
	}
}

// statProgram stats the exec's program as the process sees it: the
// errno (ENOENT, ENOTDIR) when it cannot be found there, else its stat (nil
// when it cannot be had for another reason; the exec is then classified
// without it).
//
// err is errPerCaller when the supervisor cannot reach the process's file
// (openResolved): the exec is then asked about.
func (s *Supervisor) statProgram(e *Exec) (*unix.Stat_t, unix.Errno, error) {
	var st unix.Stat_t
	fd, err := openResolved(e.Pid, s.lookup(e), unix.O_PATH, &st)
	if err == nil {
		unix.Close(fd)
	}
	if errno, ok := err.(unix.Errno); ok && (errno == unix.ENOENT || errno == unix.ENOTDIR) {
		return nil, errno, nil
	}
	if errors.Is(err, errPerCaller) {
		return nil, 0, err
	}
	if err != nil {
		return nil, 0, nil
	}
	return &st, 0, nil
}

// procPath is the path by which the supervisor reaches what path names for
// process pid: through its root (a container's processes have their own
// mounts), its working directory, or its own /proc entries for the
// names that mean "the calling process" (/proc/self, /dev/fd). An
// absolute path is the same file for the supervisor while every process
// has the wrapper's view of the file system (sameView, moved).
func (s *Supervisor) procPath(pid int, path string) string {
	if filepath.IsAbs(path) && s.sameView.Load() && !s.moved.Load() && !selfPath(path) {
		return path
	}
	return procPath(pid, path)
}

// selfPath: path names something of the calling process.
func selfPath(path string) bool {
	for _, p := range []string{"/proc/self/", "/proc/thread-self/", "/dev/fd/", "/dev/std"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return path == "/proc/self" || path == "/proc/thread-self" || path == "/dev/fd"
}

// procPath is Supervisor.procPath for a process whose view may differ.
func procPath(pid int, path string) string {
	p := "/proc/" + strconv.Itoa(pid)
	switch {
	case strings.HasPrefix(path, "/proc/self/"):
		return p + path[len("/proc/self"):]
	case strings.HasPrefix(path, "/proc/thread-self/"):
		return p + path[len("/proc/thread-self"):]
	case strings.HasPrefix(path, "/dev/fd/"):
		return p + "/fd/" + path[len("/dev/fd/"):]
	case filepath.IsAbs(path):
		return p + "/root" + path
	}
	return p + "/cwd/" + path
}

func (s *Supervisor) answerErrno(fd int, id uint64, errno unix.Errno) {
	if err := respondErrno(fd, id, errno); err != nil && !errors.Is(err, errGone) {
		s.errorf("exec checks: answer: %v", err)
	}
}

// answer responds; false when the call was no longer there to answer.
func (s *Supervisor) answer(fd int, id uint64, allow bool) bool {
	var err error
	if allow {
		err = respondContinue(fd, id)
	} else {
		err = respondErrno(fd, id, unix.EACCES)
	}
	if errors.Is(err, errGone) {
		return false
	}
	if err != nil {
		s.errorf("exec checks: answer: %v", err)
	}
	return true
}

// read takes the exec's program and argv from the stopped process. The
// error, if any, says what could not be read; the exec is then asked about.
func (s *Supervisor) read(n notif, m *mem) (*Exec, error) {
	e := &Exec{Pid: int(n.Pid)}
	abi, ok := filter.ABIFor(n.Arch)
	if !ok {
		return e, fmt.Errorf("unknown system call table %#x", n.Arch)
	}
	ptr := filter.PtrSizeFor(abi, n.Nr)
	m.reset(e.Pid)
	defer m.close()
	pathArg, argvArg := n.Args[0], n.Args[1]
	execveat := abi.IsExecveat(n.Nr)
	if execveat {
		pathArg, argvArg = n.Args[1], n.Args[2]
	}
	if ptr == 4 {
		pathArg, argvArg = pathArg&0xffffffff, argvArg&0xffffffff
	}
	m.prefetch(pathArg, argvArg)
	p, err := m.cstring(pathArg, maxPath)
	if err != nil {
		return e, fmt.Errorf("the program's path: %w", err)
	}
	e.Path = p
	if execveat {
		e.Path = resolveAt(e.Pid, int32(n.Args[0]), p)
		e.at = atPath(e.Pid, int32(n.Args[0]), p)
	}
	e.Argv, err = m.argv(argvArg, ptr)
	if err != nil {
		return e, fmt.Errorf("argv: %w", err)
	}
	return e, nil
}

// atPath is the path by which the supervisor reaches execveat's (dirfd,
// path): through the process's descriptor or working directory ("" for
// an absolute path, which procPath takes).
func atPath(pid int, dirfd int32, path string) string {
	if filepath.IsAbs(path) {
		return ""
	}
	if dirfd == unix.AT_FDCWD {
		return "/proc/" + strconv.Itoa(pid) + "/cwd/" + path
	}
	base := "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(int(dirfd))
	if path == "" {
		return base
	}
	return base + "/" + path
}

// resolveAt turns execveat's (dirfd, path) into a path for display and
// for reading a script, through the process's own descriptors.
func resolveAt(pid int, dirfd int32, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	base := "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(int(dirfd))
	if dirfd == unix.AT_FDCWD {
		base = "/proc/" + strconv.Itoa(pid) + "/cwd"
	}
	dir, err := os.Readlink(base)
	if err != nil {
		return path
	}
	if path == "" { // AT_EMPTY_PATH: dirfd is the program itself
		return dir
	}
	return filepath.Join(dir, path)
}

// classify sets e.Verdict: the argv as it will run (the program really
// executed first, whatever argv[0] says) and, for a shell or interpreter
// given a script file (or a #! program), the file's text.
func (s *Supervisor) classify(e *Exec, st *unix.Stat_t, readErr error) {
	if readErr != nil {
		e.Verdict = unreadable(e, readErr)
		return
	}
	argv := []string{e.Path}
	if len(e.Argv) > 1 {
		argv = append(argv, e.Argv[1:]...)
	}
	pid := strconv.Itoa(e.Pid)
	// A #! program: the kernel starts its interpreter without another
	// exec, so the interpreter and the file are looked at now.
	if interp, arg, ok := shebang(e.Pid, s.lookup(e), st); ok {
		full := []string{interp}
		if arg != "" {
			full = append(full, arg)
		}
		argv = append(append(full, e.Path), argv[1:]...)
	}
	v := s.classifyIn(pid, argv)
	name := filepath.Base(argv[0])
	if name == "env" && len(argv) > 1 { // #!/usr/bin/env python3
		name, argv = filepath.Base(argv[1]), argv[1:]
	}
	var flag, inline string
	if shells(name) {
		flag, inline = "-c", "cs"
	} else if f, in, ok := interpreterFlag(name); ok {
		flag, inline = f, in
	}
	if flag != "" {
		if file, ok := scriptOperand(argv[1:], inline); ok {
			where := s.procPath(e.Pid, file)
			if file == e.Path && e.at != "" {
				// The #! program itself, which execveat named by
				// a descriptor: the kernel hands the interpreter
				// that descriptor's path (/dev/fd/N/...).
				where = e.at
			}
			text, err := readScript(e.Pid, where)
			switch {
			case err == nil:
				e.Script = file
				cls := s.Classifier
				if shells(name) && s.Scripts != nil {
					// Each program the script runs is checked when
					// it runs; an interpreter's own file operations
					// are not execs, so its code is judged by the
					// argv classifier.
					cls = s.Scripts
				}
				v = merge(v, cls.ClassifyArgv([]string{name, flag, text}), text)
			case errors.Is(err, errPerCaller):
				e.Script = file
				v = merge(v, askVerdict(e, "exec-check-path", file+": "+err.Error()), "")
			case errors.Is(err, errScriptTooLarge):
				e.Script = file
				v = merge(v, askVerdict(e, "exec-check-script", file+": "+err.Error()), "")
			}
			// A script that cannot be opened will not run either.
		}
	}
	e.Verdict = v
}

// classifyIn classifies argv as run in the process's working directory
// when that matters, so that relative operands (`rm -rf usr` in /) are
// judged where they point: when an operand is relative and the directory
// is one where that changes the verdict (as the classifier's own Context
// judges a sensitive starting directory: /, a top-level directory, a
// home). Elsewhere (a build directory) the argv alone is classified, which
// is much cheaper than parsing a cd in front of it.
func (s *Supervisor) classifyIn(pid string, argv []string) policy.Verdict {
	relative := false
	for _, a := range argv[1:] {
		if a != "" && a[0] != '/' && a[0] != '-' {
			relative = true
			break
		}
	}
	if !relative {
		return s.classifyArgv(argv)
	}
	dir, err := os.Readlink("/proc/" + pid + "/cwd")
	if err != nil || !filepath.IsAbs(dir) || !sensitiveDir(dir) {
		return s.classifyArgv(argv)
	}
	v := s.Classifier.Classify("cd -- " + policy.QuoteArgv([]string{dir}) + " && " + policy.QuoteArgv(argv))
	v.Key = policy.QuoteArgv(argv) + " #cwd:" + dir
	return v
}

// classifyArgv is Classifier.ClassifyArgv, remembered for the argvs it
// simply allows: the classifier is a pure function of the argv (it reads
// no files), and a build or a loop executes the same few argvs over and
// over. Only verdicts without findings are kept, so that no caller shares
// a findings slice with another.
func (s *Supervisor) classifyArgv(argv []string) policy.Verdict {
	key := strings.Join(argv, "\x00")
	s.mu.Lock()
	v, ok := s.allowed[key]
	s.mu.Unlock()
	if ok {
		return v
	}
	v = s.Classifier.ClassifyArgv(argv)
	if v.Decision == policy.Allow && len(v.Findings) == 0 && len(key) <= maxCachedArgv {
		s.mu.Lock()
		if s.allowed == nil || len(s.allowed) >= maxCachedArgvs {
			s.allowed = map[string]policy.Verdict{}
		}
		s.allowed[key] = v
		s.mu.Unlock()
	}
	return v
}

// Bounds of the allowed-argv memory: entries, and the size of one argv.
const (
	maxCachedArgvs = 4096
	maxCachedArgv  = 4096
)

// sensitiveDir: /, a directory at most two levels down (/etc, /usr/lib,
// /home/alice), or one whose path names a home or credentials; relative
// operands there can reach what the rules protect.
func sensitiveDir(dir string) bool {
	if strings.Count(strings.Trim(dir, "/"), "/") < 2 {
		return true
	}
	if strings.HasPrefix(dir, "/etc/") || strings.HasPrefix(dir, "/boot/") || strings.HasPrefix(dir, "/root/") {
		return true
	}
	for _, part := range strings.Split(dir, "/") {
		if strings.HasPrefix(part, ".") && part != "." && part != ".." {
			return true // ~/.ssh, ~/.hermes, ~/.config/...
		}
	}
	return false
}

func merge(a, b policy.Verdict, text string) policy.Verdict {
	a.Findings = append(a.Findings, b.Findings...)
	if b.Decision > a.Decision {
		a.Decision = b.Decision
	}
	if text != "" {
		h := sha256.Sum256([]byte(text))
		a.Key += " #script:" + hex.EncodeToString(h[:8])
	}
	return a
}

// unreadable is the verdict for an exec whose argv could not be read in
// full: it is asked about, never let through unseen.
func unreadable(e *Exec, err error) policy.Verdict {
	if errors.Is(err, errPerCaller) {
		return askVerdict(e, "exec-check-path", e.Path+": "+err.Error())
	}
	return askVerdict(e, "exec-check-unreadable", "the program's arguments could not be read ("+err.Error()+"), so it cannot be checked")
}

func askVerdict(e *Exec, rule, desc string) policy.Verdict {
	cmd := e.Command()
	return policy.Verdict{
		Decision: policy.Ask,
		Findings: []policy.Finding{{Rule: rule, Description: desc, Command: cmd, Pos: "1:1", Decision: policy.Ask}},
		Key:      cmd,
	}
}
