package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Exec checks in the sandbox: libcontainer's seccomp agent hands each
// process's listener to the wrapper, which checks every exec in the
// container as on the host.

// execSandboxEnv is a sandbox home with exec checks on, asking in the
// container (approvals.in_container: ask), persist as given, and HOME
// under /etc (a system directory to the rules, read-only in the sandbox,
// so nothing of the host can go even when an rm runs).
func execSandboxEnv(t *testing.T, persist string) (s *sandboxEnv, home string) {
	t.Helper()
	requireRoot(t, "the victim directory lives under /etc; the sandbox tests run as root")
	needTools(t, "make", "xargs")
	s = newSandboxEnv(t, "")
	s.writeConfig(fmt.Sprintf("approvals:\n  in_container: ask\n  timeout: 20\n  allowlist: ['python3']\nterminal:\n  backend: sandbox\n  exec_checks: on\n  env_passthrough: [V]\ncontainer:\n  workspace: %s\n  persist: %s\n%s",
		s.ws, persist, probeBackend.container))
	writeDeep(t, s.ws)
	home, err := os.MkdirTemp("/etc", "hermes-exec-checks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	s.extraEnv = []string{"HOME=" + home, "V=x", "HERMES_SESSION_ID=execcheck-" + persist + "-" + filepath.Base(s.base)}
	return s, home
}

func TestExecChecksInTheSandboxStopADeepDelete(t *testing.T) {
	for _, persist := range []string{"none", "session"} {
		t.Run(persist, func(t *testing.T) {
			s, home := execSandboxEnv(t, persist)
			victim := filepath.Join(home, "x")
			if err := os.MkdirAll(filepath.Join(victim, "keep"), 0o700); err != nil {
				t.Fatal(err)
			}
			for _, tc := range deepCases {
				t.Run(tc.mode, func(t *testing.T) {
					before := len(s.auditRecords0())
					r := s.sh("./deep.sh " + tc.mode + " " + s.ws + "; echo status=$?")
					if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
						t.Fatalf("the directory was deleted: exit %d\n%s", r.code, r.stderr)
					}
					if !strings.Contains(r.stderr, "Permission denied") || !strings.Contains(r.stderr, "hermes-exec: denied: rm -rf "+victim) {
						t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
					}
					if strings.Contains(r.stderr, "Read-only file system") {
						t.Fatalf("rm ran (and met the read-only /etc):\n%s", r.stderr)
					}
					if tc.mode == "func" && !strings.Contains(r.stdout, "status=126") {
						t.Errorf("bash reports a refused exec as 126: %q", r.stdout)
					}
					rec := execRecord(t, s.auditRecords0()[before:], victim)
					if rec["decision"] != "deny" || rec["channel"] != "none" || rec["backend"] != "sandbox" {
						t.Errorf("audit: %v", rec)
					}
					if !chainHas(rec, tc.parent) || !chainHas(rec, "./deep.sh "+tc.mode) {
						t.Errorf("the chain %v does not show %q under the script", rec["parents"], tc.parent)
					}
					if chainHas(rec, "sandbox-reaper") || chainHas(rec, "hermes-exec-sandbox") {
						t.Errorf("the chain %v shows the sandbox's own processes", rec["parents"])
					}
				})
			}
		})
	}
}

// Approved on the gateway, the rm runs: it gets as far as the read-only
// /etc of the sandbox, which it reports itself.
func TestExecChecksInTheSandboxAskTheGateway(t *testing.T) {
	for _, persist := range []string{"none", "session"} {
		t.Run(persist, func(t *testing.T) {
			s, home := execSandboxEnv(t, persist)
			victim := filepath.Join(home, "x")
			os.MkdirAll(filepath.Join(victim, "keep"), 0o700)
			g := s.startGateway()
			alice := g.pairedClient("alice")
			c := s.cmd(s.extraEnv, "-c", "./deep.sh python "+s.ws)
			done := make(chan result, 1)
			go func() { done <- runCmd(t, c) }()
			var reqs []apiRequest
			for i := 0; i < 400 && len(reqs) == 0; i++ {
				if st := g.api(alice, "GET", "/api/v1/requests", "", &reqs); st != 200 {
					t.Fatalf("list: %d", st)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if len(reqs) == 0 {
				r := waitResult(t, done, 60*time.Second)
				t.Fatalf("no request reached the gateway: exit %d\n%s", r.code, r.stderr)
			}
			req := reqs[0]
			if !strings.Contains(req.Command, "del.py") || !strings.Contains(req.Command, "-> rm -rf "+victim) {
				t.Errorf("the request shows %q; want the chain down to the rm", req.Command)
			}
			if st := g.api(alice, "POST", "/api/v1/requests/"+req.ID+"/decision", `{"decision":"once"}`, nil); st != 200 {
				t.Fatalf("decision: %d", st)
			}
			r := waitResult(t, done, 60*time.Second)
			t.Logf("exit %d\n%s", r.code, r.stderr)
			if !strings.Contains(r.stderr, "Read-only file system") {
				t.Fatalf("approved: the rm did not run (exit %d)\n%s", r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
				t.Fatal("the sandbox let an rm reach the host's /etc")
			}
			rec := execRecord(t, s.auditRecords0(), victim)
			if rec["decision"] != "allow" || rec["approver"] != "web:alice" || rec["channel"] != "gateway" {
				t.Errorf("audit: %v", rec)
			}
		})
	}
}

// sandboxSeccompProbe, run by python3 in the sandbox: a listener of its
// own is refused; a filter of its own that allows everything does not let
// the rm past the exec check; execs through the i386 and x32 entry points
// do not run at all.
const sandboxSeccompProbe = `import ctypes, ctypes.util, mmap, os, struct, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_seccomp, SET_MODE_FILTER, NEW_LISTENER = 317, 1, 8
allow = struct.pack("HBBI", 0x06, 0, 0, 0x7fff0000)  # BPF_RET|BPF_K SECCOMP_RET_ALLOW
buf = ctypes.create_string_buffer(allow)
prog = struct.pack("HxxxxxxQ", 1, ctypes.addressof(buf))
pbuf = ctypes.create_string_buffer(prog)
r = libc.syscall(SYS_seccomp, SET_MODE_FILTER, NEW_LISTENER, pbuf)
print("listener", r, os.strerror(ctypes.get_errno()) if r < 0 else "INSTALLED", flush=True)
r = libc.syscall(SYS_seccomp, SET_MODE_FILTER, 0, pbuf)
print("allow-all filter", r, flush=True)
try:
    print("rm under my filter", subprocess.call(["rm", "-rf", os.path.join(os.environ["HOME"], "x")]), flush=True)
except PermissionError:
    print("rm under my filter EACCES", flush=True)
# /bin/echo FORBIDDEN through the x32 table (execve is 520 there).
path, arg = b"/bin/echo\0", b"FORBIDDEN-X32\0"
p, a = ctypes.c_char_p(path), ctypes.c_char_p(arg)
argv = (ctypes.c_char_p * 3)(path, arg, None)
pid = os.fork()
if pid == 0:
    r = libc.syscall(0x40000000 | 520, p, argv, None)
    os._exit(100 + (ctypes.get_errno() & 0x7f))
_, st = os.waitpid(pid, 0)
print("x32 exec status", st, flush=True)
# The same through int 0x80 (i386 execve is 11), from memory below 4 GiB.
mem = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40, prot=7)  # MAP_32BIT
base = ctypes.addressof(ctypes.c_char.from_buffer(mem))
data = base + 256
mem[256:256+10] = b"/bin/echo\0"
mem[272:272+14] = b"FORBIDDEN-I386"
mem[286] = 0
mem[288:300] = struct.pack("III", data, data + 16, 0)
# mov eax,11; mov ebx,data; mov ecx,data+32; xor edx,edx; int 0x80; ret
code = b"\xb8\x0b\x00\x00\x00" + b"\xbb" + struct.pack("I", data) + b"\xb9" + struct.pack("I", data + 32) + b"\x31\xd2\xcd\x80\xc3"
mem[0:len(code)] = code
fn = ctypes.CFUNCTYPE(ctypes.c_int)(base)
pid = os.fork()
if pid == 0:
    fn()
    os._exit(99)
_, st = os.waitpid(pid, 0)
print("i386 exec status", st, flush=True)
`

func TestExecChecksInTheSandboxCannotBeAnsweredFromInside(t *testing.T) {
	s, home := execSandboxEnv(t, "none")
	victim := filepath.Join(home, "x")
	os.MkdirAll(filepath.Join(victim, "keep"), 0o700)
	write(t, filepath.Join(s.ws, "probe.py"), sandboxSeccompProbe)
	r := s.sh("/usr/bin/python3 probe.py")
	t.Logf("probe:\n%s\n%s", r.stdout, r.stderr)
	if !strings.Contains(r.stdout, "listener -1 Operation not permitted") {
		t.Errorf("a command installed a seccomp listener of its own (or failed otherwise):\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "allow-all filter 0") {
		t.Errorf("the probe's own filter (no listener) should load: the nested case is then tested:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "rm under my filter EACCES") || !strings.Contains(r.stderr, "hermes-exec: denied: rm -rf "+victim) {
		t.Errorf("under a filter of the command's own the rm was not stopped by the exec check:\n%s\n%s", r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "FORBIDDEN") || !strings.Contains(r.stdout, "x32 exec status") || !strings.Contains(r.stdout, "i386 exec status") {
		t.Errorf("an exec through another system call table ran, or the probe did not get there:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
		t.Fatal("the directory was deleted")
	}
}

// As a user without privileges (a rootless sandbox: commands run one user
// namespace deeper), the same deletes are stopped in fresh containers; a
// rootless session cannot have exec checks (libcontainer cannot take a
// joined command's listener without privileges), so it refuses to run.
func TestExecChecksInTheRootlessSandbox(t *testing.T) {
	needTools(t, "xargs")
	for _, persist := range []string{"none", "session"} {
		t.Run(persist, func(t *testing.T) {
			r := newRootlessEnv(t, "")
			p := filepath.Join(r.hermes, "config.yaml")
			write(t, p, fmt.Sprintf("approvals:\n  in_container: ask\nterminal:\n  backend: sandbox\n  exec_checks: on\n  env_passthrough: [V]\ncontainer:\n  workspace: %s\n  persist: %s\n", r.ws, persist))
			if err := os.Chown(p, nobodyUID, nobodyGID); err != nil {
				t.Fatal(err)
			}
			writeDeep(t, r.ws)
			home, err := os.MkdirTemp("/etc", "hermes-exec-checks-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(home) })
			os.Chmod(home, 0o755)
			victim := filepath.Join(home, "x")
			os.MkdirAll(filepath.Join(victim, "keep"), 0o755)
			vars := []string{"V=x", "HOME=" + home, "HERMES_SESSION_ID=execcheck-rootless-" + filepath.Base(r.base)}
			if persist == "session" {
				res := runCmd(t, r.cmd(vars, "-c", "echo RAN"))
				if res.code != 126 || strings.Contains(res.stdout, "RAN") || !strings.Contains(res.stderr, "container.persist: none") {
					t.Fatalf("a rootless session with exec checks: exit %d, stdout %q, stderr:\n%s", res.code, res.stdout, res.stderr)
				}
				return
			}
			for _, mode := range []string{"func", "xargs"} {
				res := runCmd(t, r.cmd(vars, "-c", "./deep.sh "+mode+" "+r.ws+"; echo status=$?"))
				if !strings.Contains(res.stderr, "Permission denied") || !strings.Contains(res.stderr, "hermes-exec: denied: rm -rf "+victim) || !strings.Contains(res.stdout, "status=126") {
					t.Fatalf("%s: exit %d, stdout %q, stderr:\n%s", mode, res.code, res.stdout, res.stderr)
				}
				if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
					t.Fatal("the directory was deleted")
				}
			}
			e := &env{t: t, home: r.hermes}
			rec := execRecord(t, e.auditRecords0(), victim)
			if rec["decision"] != "deny" || rec["user"] != "nobody" || !chainHas(rec, "xargs rm -rf") {
				t.Errorf("audit: %v", rec)
			}
		})
	}
}
