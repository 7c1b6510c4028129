package execcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"hermes-exec/execcheck/filter"
	"hermes-exec/execcheck/internal/compat"
	"hermes-exec/internal/testutil"
	"hermes-exec/isolate"
	"hermes-exec/policy"

	"golang.org/x/sys/unix"
)

// The test binary is also the launcher and the helper programs run under
// the filter (HERMES_EC_HELPER names what the helper does).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == LaunchArg {
		os.Exit(LaunchMain(os.Args[2:]))
	}
	if h := os.Getenv("HERMES_EC_HELPER"); h != "" {
		os.Exit(helper(h))
	}
	os.Exit(m.Run())
}

// helper runs one action under the filter and reports on stdout.
func helper(action string) int {
	report := func(err error) int {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			fmt.Println(unix.ErrnoName(errno))
		} else {
			fmt.Println(err)
		}
		return 3
	}
	switch action {
	case "exec-forbidden":
		return report(syscall.Exec("/bin/echo", []string{"echo", "forbidden"}, os.Environ()))
	case "exec-true":
		return report(syscall.Exec("/bin/true", []string{"true"}, os.Environ()))
	case "exec-ask":
		return report(syscall.Exec("/bin/rm", []string{"rm", "-rf", "/etc/hermes-exec-test-absent"}, os.Environ()))
	case "exec-forbidden-twice":
		// The first exec of this helper is refused; the second must be
		// trapped and refused again (no process waits for ever).
		err := syscall.Exec("/bin/echo", []string{"echo", "forbidden"}, os.Environ())
		fmt.Println(unix.ErrnoName(err.(syscall.Errno)))
		return report(syscall.Exec("/bin/echo", []string{"echo", "forbidden"}, os.Environ()))
	case "x32", "i386":
		return compatExec(action)
	case "sync-wakeup":
		// Not under Backend: a filter of this helper's own.
		runtime.LockOSThread()
		fd, _, err := filter.Install()
		if err != nil {
			return report(err)
		}
		if err := setSyncWakeUp(fd, true); err != nil {
			return report(err)
		}
		fmt.Println("OK")
		return 0
	case "listener":
		fd, _, err := filter.Install()
		if errors.Is(err, filter.ErrBusy) {
			fmt.Println("EBUSY")
			return 3
		}
		if err != nil {
			return report(err)
		}
		unix.Close(fd)
		fmt.Println("installed")
		return 0
	case "go-storm-mixed":
		// A Go program with many threads exec'ing at once, for far
		// longer than the runtime's 10 ms preemption tick: every exec
		// is checked (the forbidden ones refused, the others run) and
		// none is left waiting.
		time.AfterFunc(2*time.Minute, func() { fmt.Println("hung"); os.Exit(5) })
		stop := make(chan struct{})
		defer close(stop)
		for i := 0; i < 2; i++ {
			go func() {
				for x := 0; ; x++ {
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ran, refused := 0, 0
		var bad []string
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 30; j++ {
					if j%2 == 0 {
						err := exec.Command("/bin/true").Run()
						mu.Lock()
						if err == nil {
							ran++
						} else {
							bad = append(bad, "true: "+err.Error())
						}
						mu.Unlock()
						continue
					}
					err := exec.Command("/bin/echo", "forbidden").Run()
					mu.Lock()
					if errors.Is(err, syscall.EACCES) {
						refused++
					} else {
						bad = append(bad, fmt.Sprintf("echo forbidden: %v", err))
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		fmt.Printf("ran %d refused %d %q\n", ran, refused, bad)
		return 0
	case "kill-while-asked":
		// A process whose exec waits for a question is killed; the
		// other execs of the command go on meanwhile.
		time.AfterFunc(2*time.Minute, func() { fmt.Println("hung"); os.Exit(5) })
		c := exec.Command(os.Args[0])
		c.Env = append(os.Environ(), "HERMES_EC_HELPER=exec-ask")
		if err := c.Start(); err != nil {
			return report(err)
		}
		pid := c.Process.Pid
		// Wait until its exec is trapped (the judge holds it), then kill it.
		for {
			b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "syscall"))
			if err != nil {
				fmt.Println("rm ran unasked:", err)
				return 4
			}
			if strings.HasPrefix(string(b), "59 ") {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return report(err)
		}
		_ = c.Wait()
		for i := 0; i < 50; i++ {
			if err := exec.Command("/bin/true").Run(); err != nil {
				return report(err)
			}
		}
		fmt.Println("ok")
		return 0
	case "sched-report":
		// What the command's checked execs run with: each grep and
		// cut is trapped, answered and run.
		out, err := exec.Command("/bin/sh", "-c",
			`for i in 1 2 3 4 5 6 7 8; do grep '^Cpus_allowed_list' /proc/self/status; cut -d' ' -f19,41 /proc/self/stat; done`).Output()
		if err != nil {
			return report(err)
		}
		fmt.Print(string(out))
		return 0
	case "chroot-exec":
		// Another root between fork and exec: the program is the one
		// in that root.
		if err := syscall.Chroot(os.Getenv("HERMES_EC_ROOT")); err != nil {
			return report(err)
		}
		return report(syscall.Exec(os.Getenv("HERMES_EC_PROG"), []string{"prog"}, os.Environ()))
	case "mountns-exec":
		// Another mount namespace, where a script is mounted over the
		// program's path: the program is the script.
		runtime.LockOSThread()
		prog := os.Getenv("HERMES_EC_PROG")
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			return report(err)
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return report(err)
		}
		if err := unix.Mount(os.Getenv("HERMES_EC_SCRIPT"), prog, "", unix.MS_BIND, ""); err != nil {
			return report(err)
		}
		return report(syscall.Exec(prog, []string{"prog"}, os.Environ()))
	case "changed-file":
		// The same path twice, a program, then a script: the second
		// exec is judged by the script.
		prog := os.Getenv("HERMES_EC_PROG")
		if err := exec.Command(prog).Run(); err != nil {
			return report(err)
		}
		tmp := prog + ".new"
		if err := os.WriteFile(tmp, []byte("#!/bin/sh\necho forbidden\n"), 0o755); err != nil {
			return report(err)
		}
		if err := os.Rename(tmp, prog); err != nil {
			return report(err)
		}
		err := exec.Command(prog).Run()
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return report(err)
	case "chdir-twice":
		// The same argv twice, in a build directory and then in /,
		// where its relative operand is a system path.
		argv := []string{"/bin/rm", "-rf", "etc/hermes-exec-test-absent"}
		for _, dir := range []string{os.Getenv("HERMES_EC_DIR"), "/"} {
			if err := os.Chdir(dir); err != nil {
				return report(err)
			}
			err := exec.Command(argv[0], argv[1:]...).Run()
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			if err != nil {
				return report(err)
			}
			fmt.Println("ran in", dir)
		}
		return 0
	case "clone3":
		_, _, errno := syscall.RawSyscall(435, 0, 0, 0) // clone3(NULL, 0): EINVAL without the filter
		return report(errno)
	case "go-storm":
		// A Go program under the filter: its threads get preemption
		// signals while their execs are trapped.
		stop := make(chan struct{})
		for i := 0; i < 4; i++ {
			go func() {
				x := 0
				for {
					select {
					case <-stop:
						return
					default:
						x++
					}
				}
			}()
		}
		var wg sync.WaitGroup
		var failed error
		var mu sync.Mutex
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 25; j++ {
					if err := exec.Command("/bin/true").Run(); err != nil {
						mu.Lock()
						failed = err
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		if failed != nil {
			fmt.Println(failed)
			return 4
		}
		fmt.Println("ok")
		return 0
	}
	return 99
}

// compatExec executes /bin/echo forbidden through the x32 or i386 table,
// with its strings and argv in memory below 4 GiB (32-bit pointers).
func compatExec(abi string) int {
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_32BIT)
	if err != nil {
		fmt.Println("mmap:", err)
		return 5
	}
	base := uint32(uintptr(unsafe.Pointer(&mem[0])))
	put := func(off int, s string) uint32 { copy(mem[off:], s+"\x00"); return base + uint32(off) }
	path := put(0, "/bin/echo")
	a0 := put(64, "echo")
	a1 := put(128, "forbidden")
	argv := 256
	le := func(off int, v uint32) {
		mem[off], mem[off+1], mem[off+2], mem[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	le(argv, a0)
	le(argv+4, a1)
	le(argv+8, 0)
	var errno syscall.Errno
	if abi == "x32" {
		_, _, errno = syscall.RawSyscall(0x40000000|520, uintptr(path), uintptr(base+uint32(argv)), 0)
	} else {
		errno = syscall.Errno(-compat.Int80(11, path, base+uint32(argv), 0))
	}
	fmt.Println(unix.ErrnoName(errno))
	return 3
}

// seen collects what the judge was asked about.
type seen struct {
	mu    sync.Mutex
	execs []*Exec
}

func (s *seen) add(e *Exec) {
	s.mu.Lock()
	s.execs = append(s.execs, e)
	s.mu.Unlock()
}

func (s *seen) all() []*Exec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Exec(nil), s.execs...)
}

// run runs the test binary as helper `action` on the host backend under
// exec checks and returns its exit status and output. env is added to the
// helper's environment.
func run(t *testing.T, action string, judge Judge, timeout time.Duration, env ...string) (int, string, *seen) {
	t.Helper()
	cls, err := policy.NewClassifier(policy.Rules{Deny: []string{"echo forbidden"}, ExecChecked: true})
	if err != nil {
		t.Fatal(err)
	}
	sn := &seen{}
	sup := &Supervisor{Classifier: cls, Timeout: timeout, Errorf: t.Logf}
	sup.Judge = func(ctx context.Context, e *Exec) bool { sn.add(e); return judge(ctx, e) }
	b := &Backend{Inner: isolate.NewHost(), Self: os.Args[0], Supervisor: sup}
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	env = append(append(os.Environ(), "HERMES_EC_HELPER="+action), env...)
	st, err := b.Run(context.Background(), isolate.Spec{Args: []string{os.Args[0]}, Env: env, Stdout: out, Stderr: os.Stderr, Stdin: os.Stdin})
	if err != nil {
		t.Fatalf("run %s: %v", action, err)
	}
	b2, _ := os.ReadFile(out.Name())
	return st.Code, strings.TrimSpace(string(b2)), sn
}

func deny(context.Context, *Exec) bool  { return false }
func allow(context.Context, *Exec) bool { return true }

func TestDeniedExecFailsWithEACCES(t *testing.T) {
	code, out, sn := run(t, "exec-forbidden", deny, 0)
	if code != 3 || out != "EACCES" {
		t.Fatalf("helper: exit %d, output %q; want 3 and EACCES", code, out)
	}
	ex := sn.all()
	if len(ex) != 1 {
		t.Fatalf("judge asked %d times, want 1", len(ex))
	}
	e := ex[0]
	if e.Path != "/bin/echo" || strings.Join(e.Argv, " ") != "echo forbidden" || e.Verdict.Decision != policy.Deny {
		t.Errorf("judge saw path %q argv %q verdict %v", e.Path, e.Argv, e.Verdict.Decision)
	}
	// The chain ends with the helper itself (the program being replaced).
	if len(e.Parents) == 0 || !strings.Contains(e.Parents[len(e.Parents)-1], filepath.Base(os.Args[0])) {
		t.Errorf("parents %q do not end with the helper", e.Parents)
	}
}

func TestAllowedExecContinues(t *testing.T) {
	code, out, sn := run(t, "exec-true", deny, 0)
	if code != 0 || out != "" {
		t.Fatalf("helper: exit %d, output %q; want /bin/true's 0", code, out)
	}
	if n := len(sn.all()); n != 0 {
		t.Errorf("judge asked %d times about an everyday exec", n)
	}
	// An exec the judge approves runs (rm -rf of a missing path: 0).
	code, out, sn = run(t, "exec-ask", allow, 0)
	if code != 0 || out != "" || len(sn.all()) != 1 {
		t.Fatalf("approved exec: exit %d, output %q, asked %d times", code, out, len(sn.all()))
	}
}

func TestCompatEntryPointsAreTrapped(t *testing.T) {
	for _, abi := range []string{"x32", "i386"} {
		t.Run(abi, func(t *testing.T) {
			code, out, sn := run(t, abi, deny, 0)
			ex := sn.all()
			if code != 3 || out != "EACCES" || len(ex) != 1 {
				t.Fatalf("%s execve: exit %d, output %q, judged %d; want it trapped and refused", abi, code, out, len(ex))
			}
			if ex[0].Path != "/bin/echo" || strings.Join(ex[0].Argv, " ") != "echo forbidden" {
				t.Errorf("%s: read path %q argv %q (32-bit pointers)", abi, ex[0].Path, ex[0].Argv)
			}
		})
	}
}

// The kernel allows one listener per filter chain: a command under exec
// checks cannot install its own and answer for its children.
func TestCommandCannotInstallItsOwnListener(t *testing.T) {
	code, out, _ := run(t, "listener", deny, 0)
	if code != 3 || out != "EBUSY" {
		t.Fatalf("second listener: exit %d, output %q; want EBUSY from the kernel", code, out)
	}
}

// A judgement that never ends is a denial after Timeout; the process is not
// left waiting.
func TestNoAnswerIsEACCES(t *testing.T) {
	block := func(ctx context.Context, e *Exec) bool { <-ctx.Done(); time.Sleep(50 * time.Millisecond); return true }
	code, out, sn := run(t, "exec-forbidden-twice", block, 300*time.Millisecond)
	// The same exec of the same process again at once has the same
	// answer: one question, two refusals.
	if code != 3 || out != "EACCES\nEACCES" || len(sn.all()) != 1 {
		t.Fatalf("exit %d, output %q, judged %d; want two refusals after one question", code, out, len(sn.all()))
	}
}

// Go programs under the filter get preemption signals while trapped; the
// supervisor must retry, never hang or fail them.
func TestGoProgramUnderFilter(t *testing.T) {
	code, out, _ := run(t, "go-storm", deny, 0)
	if code != 0 || out != "ok" {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

// When the supervisor goes away, the kernel fails the trapped exec (and
// every later one) with ENOSYS: nothing waits for ever.
// The listener takes the synchronous wake-up flag (Linux 6.6 and later),
// which is what keeps an allowed exec cheap; on an older kernel the
// supervisor works without it.
func TestSyncWakeUpAccepted(t *testing.T) {
	var uts unix.Utsname
	unix.Uname(&uts)
	var major, minor int
	fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &major, &minor)
	if major < 6 || major == 6 && minor < 6 {
		testutil.Skip(t, "kernel %d.%d has no SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP", major, minor)
	}
	c := exec.Command(os.Args[0])
	c.Env = append(os.Environ(), "HERMES_EC_HELPER=sync-wakeup")
	out, err := c.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("SECCOMP_IOCTL_NOTIF_SET_FLAGS: %v %s", err, out)
	}
}

func TestSupervisorGoneIsENOSYS(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cmd := exec.Command(os.Args[0], LaunchArg, os.Args[0], os.Args[0])
	cmd.Env = append(os.Environ(), EnvSocket+"="+sock, "HERMES_EC_HELPER=exec-forbidden-twice")
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	fd := fds[0]
	c.Write([]byte{1})
	c.Close()
	// Answer the launcher's own exec, then take the helper's first exec
	// and go away without answering it.
	var n notif
	for got := 0; got < 2; {
		fdsp := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if k, err := unix.Poll(fdsp, 30000); err != nil && !errors.Is(err, unix.EINTR) {
			t.Fatal(err)
		} else if k == 0 {
			t.Fatal("no notification within 30 s")
		}
		if err := recv(fd, &n); err != nil {
			if retryable(err) {
				continue
			}
			t.Fatal(err)
		}
		got++
		t.Logf("notification %d: pid %d nr %d", got, n.Pid, n.Nr)
		if got == 1 {
			respondContinue(fd, n.ID)
		}
	}
	unix.Close(fd)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || strings.TrimSpace(out.String()) != "ENOSYS\nENOSYS" {
		t.Fatalf("helper: %v, output %q; want both execs failed with ENOSYS", err, out.String())
	}
}

func TestProgramJumps(t *testing.T) {
	// Every jump lands inside the program and every path ends in a return.
	prog := filter.Program(filter.Native)
	for i, ins := range prog {
		if ins.Code&0x07 == unix.BPF_JMP {
			if i+1+int(ins.Jt) >= len(prog) || i+1+int(ins.Jf) >= len(prog) {
				t.Fatalf("instruction %d jumps outside the program", i)
			}
		}
	}
	if last := prog[len(prog)-1]; last.Code != unix.BPF_RET|unix.BPF_K || last.K != unix.SECCOMP_RET_USER_NOTIF {
		t.Fatalf("last instruction %+v", last)
	}
}

// Many threads of a Go program exec'ing at once, for much longer than the
// Go runtime's 10 ms tick (the supervisor's wait no longer depends on
// holding one thread): each exec is checked and answered.
func TestManyThreadsExecConcurrently(t *testing.T) {
	code, out, sn := run(t, "go-storm-mixed", deny, 0)
	if code != 0 || out != "ran 120 refused 120 []" {
		t.Fatalf("exit %d, output %q; want 120 execs run and 120 refused", code, out)
	}
	if n := len(sn.all()); n == 0 {
		t.Error("the judge was never asked about echo forbidden")
	}
}

// A process killed while its exec waits for an answer does not hold up
// the supervisor: the command's other execs run meanwhile, and the late
// answer (to a call that is gone) harms nothing.
func TestKilledWhileAskedDoesNotWedge(t *testing.T) {
	release := make(chan struct{})
	asked, judged := make(chan struct{}, 1), make(chan struct{})
	judge := func(ctx context.Context, e *Exec) bool {
		if filepath.Base(e.Path) != "rm" {
			return true
		}
		asked <- struct{}{}
		defer close(judged)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return false
	}
	code, out, _ := run(t, "kill-while-asked", judge, time.Minute)
	select {
	case <-asked:
	default:
		t.Fatal("the judge was never asked about rm")
	}
	select {
	case <-judged:
		t.Fatal("the command's other execs waited for the killed process's question")
	default:
	}
	close(release)
	if code != 0 || out != "ok" {
		t.Fatalf("exit %d, output %q; want the other execs to run while rm's question was open", code, out)
	}
}

// The supervisor's hand-over between CPUs (sched.go) touches only its own
// thread: the command's processes keep the affinity, nice value and
// scheduling policy they were started with, however their execs were
// answered.
func TestCommandSchedulingIsUntouched(t *testing.T) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var cpus string
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "Cpus_allowed_list") {
			cpus = l
		}
	}
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	// After the command name in parentheses: field 3 onwards.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	niceAndPolicy := f[19-3] + " " + f[41-3]
	code, out, _ := run(t, "sched-report", deny, 0)
	if code != 0 {
		t.Fatalf("exit %d, output %q", code, out)
	}
	lines := strings.Split(out, "\n")
	if len(lines) != 16 {
		t.Fatalf("got %d lines, want 16: %q", len(lines), out)
	}
	for i := 0; i < len(lines); i += 2 {
		if lines[i] != cpus {
			t.Errorf("exec %d ran with %q, the wrapper's is %q", i/2+1, lines[i], cpus)
		}
		if lines[i+1] != niceAndPolicy {
			t.Errorf("exec %d ran with nice and policy %q, the wrapper's are %q", i/2+1, lines[i+1], niceAndPolicy)
		}
	}
}

// A copy of /bin/true at a fresh path, and a script with a denied line (the
// classifier in run denies "echo forbidden") for the same path elsewhere.
func programAndScript(t *testing.T) (dir, prog, script string) {
	t.Helper()
	dir = t.TempDir()
	prog = filepath.Join(dir, "prog")
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prog, b, 0o755); err != nil {
		t.Fatal(err)
	}
	script = filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho forbidden\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, prog, script
}

// judgedScript reports whether the judge saw an exec of prog classified by
// the script's text (denied).
func judgedScript(sn *seen, prog string) bool {
	for _, e := range sn.all() {
		if e.Path == prog && e.Script == prog && e.Verdict.Decision == policy.Deny {
			return true
		}
	}
	return false
}

// The supervisor looks up a program in its own root while every process
// has the wrapper's view of the file system. A process that changes its
// root between fork and exec is seen through its own: the program there
// is a script, judged by its text, not the harmless program at the same
// path in the wrapper's root (which, looked up there, would have let the
// exec run: ENOENT then, from the missing /bin/sh in that root).
func TestExecAfterChrootIsLookedUpInItsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Require(t, "root (chroot)")
	}
	dir, prog, script := programAndScript(t)
	root := filepath.Join(dir, "root")
	inRoot := filepath.Join(root, prog)
	if err := os.MkdirAll(filepath.Dir(inRoot), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(script, inRoot); err != nil {
		t.Fatal(err)
	}
	code, out, sn := run(t, "chroot-exec", deny, 0, "HERMES_EC_ROOT="+root, "HERMES_EC_PROG="+prog)
	if code != 3 || out != "EACCES" || !judgedScript(sn, prog) {
		t.Fatalf("exit %d, output %q, judged %d execs; want EACCES for the script in the new root", code, out, len(sn.all()))
	}
}

// The same with another mount namespace, where the script is mounted over
// the program's path.
func TestExecInAnotherMountNamespaceIsLookedUpThere(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Require(t, "root (mount namespace)")
	}
	_, prog, script := programAndScript(t)
	code, out, sn := run(t, "mountns-exec", deny, 0, "HERMES_EC_PROG="+prog, "HERMES_EC_SCRIPT="+script)
	if code != 3 || out != "EACCES" || !judgedScript(sn, prog) {
		t.Fatalf("exit %d, output %q, judged %d execs; want EACCES for the script mounted over the program", code, out, len(sn.all()))
	}
}

// A program replaced by a script at the same path between two execs: the
// second is judged by the script (what the supervisor remembers about
// files that are not scripts is by identity and change time, not path).
func TestChangedFileAtTheSamePath(t *testing.T) {
	_, prog, _ := programAndScript(t)
	code, out, sn := run(t, "changed-file", deny, 0, "HERMES_EC_PROG="+prog)
	if code != 3 || out != "EACCES" || !judgedScript(sn, prog) {
		t.Fatalf("exit %d, output %q, judged %d execs; want the first exec run and the second refused", code, out, len(sn.all()))
	}
}

// clone3, whose flags a filter cannot see, fails with ENOSYS under the
// filter (glibc then uses clone, whose flags it sees).
func TestClone3IsENOSYS(t *testing.T) {
	code, out, _ := run(t, "clone3", deny, 0)
	if code != 3 || out != "ENOSYS" {
		t.Fatalf("exit %d, output %q; want ENOSYS", code, out)
	}
}

// An argv allowed in one directory is judged again after a chdir: what
// the supervisor remembers of allowed argvs does not carry a relative
// operand into a directory where it names a system path.
func TestChdirBetweenIdenticalExecs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, sn := run(t, "chdir-twice", deny, 0, "HERMES_EC_DIR="+dir)
	if code != 3 || out != "ran in "+dir+"\nEACCES" || len(sn.all()) != 1 {
		t.Fatalf("exit %d, output %q, asked %d times; want it run in %s and refused in /", code, out, len(sn.all()), dir)
	}
}
