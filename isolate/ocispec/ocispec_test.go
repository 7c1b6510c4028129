package ocispec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestWorkspaceNeverASystemDirOrAHome(t *testing.T) {
	owner := Owner{UID: 0, GID: 0, Home: "/root"}
	for _, ws := range []string{"/", "/etc", "/etc/cron.d", "/usr/local/bin", "/var", "/var/lib/dpkg", "/run/user", "/boot", "/lib64", "/root", "/root/.ssh", "/root/.config/x", "/tmp"} {
		if err := CheckWorkspace(ws, owner, "/root/.hermes", "/run/hermes-exec/sandbox"); err == nil {
			t.Errorf("%s was accepted as the writable workspace", ws)
		}
	}
	for _, ws := range []string{"/var/tmp/proj", "/root/proj", "/srv/app", "/tmp/proj"} {
		if err := CheckWorkspace(ws, owner, "/root/.hermes", "/run/hermes-exec/sandbox"); err != nil {
			t.Errorf("%s refused: %v", ws, err)
		}
	}
}

func TestWorkspaceHoldingOrInsideHermesHomeIsRefused(t *testing.T) {
	base := t.TempDir()
	ws := filepath.Join(base, "ws")
	owner := Owner{UID: 0, Home: "/root"}
	// HERMES_HOME two levels inside the workspace, existing or not: a
	// command could rename its parent and put its own config there.
	for _, hh := range []string{filepath.Join(ws, "agent", "hermes"), filepath.Join(ws, "nope", "deeper")} {
		if err := CheckWorkspace(ws, owner, hh, "/run/x"); err == nil || !strings.Contains(err.Error(), "holds") {
			t.Errorf("HERMES_HOME %s inside the workspace: %v", hh, err)
		}
	}
	if err := CheckWorkspace(filepath.Join(base, "hh", "ws"), owner, filepath.Join(base, "hh"), "/run/x"); err == nil {
		t.Error("a workspace inside HERMES_HOME was accepted")
	}
}

func TestProtectChainsAndPlaceholders(t *testing.T) {
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, ".git", "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := Protect(ws, []string{".git/hooks", ".git/config", ".envrc", ".vscode/tasks.json"})
	if err != nil {
		t.Fatal(err)
	}
	wantHolders := []string{filepath.Join(ws, ".git/config") + "/", filepath.Join(ws, ".envrc") + "/", filepath.Join(ws, ".vscode") + "/"}
	if !reflect.DeepEqual(p.Placeholders, wantHolders) {
		t.Errorf("placeholders %q, want %q", p.Placeholders, wantHolders)
	}
	var got []string
	for _, m := range p.Mounts {
		mode := "rw"
		if strings.Contains(strings.Join(m.Options, ","), "ro") {
			mode = "ro"
		}
		got = append(got, strings.TrimPrefix(m.Destination, ws)+":"+mode)
	}
	want := []string{"/.git:rw", "/.git/hooks:ro", "/.git/config:ro", "/.envrc:ro", "/.vscode:ro"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mounts %q, want %q", got, want)
	}
	made, err := MakePlaceholders(ws, p.Placeholders, os.Getuid(), os.Getgid())
	if err != nil || len(made) != 3 {
		t.Fatalf("made %q: %v", made, err)
	}
	RemovePlaceholders(made)
	for _, h := range made {
		if _, err := os.Lstat(filepath.Clean(h)); err == nil {
			t.Errorf("%s left behind", h)
		}
	}
	if err := os.Symlink("/etc", filepath.Join(ws, ".idea")); err != nil {
		t.Fatal(err)
	}
	if _, err := Protect(ws, []string{".idea"}); err == nil {
		t.Error("a symlinked protected path was accepted")
	}
}

func TestResolveDirRefusesWhatIsNotADirectory(t *testing.T) {
	d := t.TempDir()
	f := filepath.Join(d, "f")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ResolveDir(f); err == nil {
		t.Error("a file was accepted as a directory")
	}
	l := filepath.Join(d, "l")
	if err := os.Symlink(d, l); err != nil {
		t.Fatal(err)
	}
	if got, err := ResolveDir(l); err != nil || got != d {
		t.Errorf("ResolveDir(%s) = %q, %v; want %q", l, got, err, d)
	}
}

func TestTmpfsSizesNeverExceedTheTotal(t *testing.T) {
	for _, total := range []int64{8 << 20, 64 << 20, 512 << 20, 4 << 30} {
		tmp, shm := TmpfsSizes(total)
		if tmp+shm+3*smallTmpfs > total {
			t.Errorf("total %d: tmp %d + shm %d + small ones exceed it", total, tmp, shm)
		}
	}
}

func TestRootlessLimitsOK(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string // "" means accepted
	}{
		{Config{}, ""},
		// The pids limit has RLIMIT_NPROC to enforce it.
		{Config{Pids: 1024}, ""},
		{Config{Memory: 256 << 20}, "container.memory cannot be enforced"},
		{Config{CPUs: 1.5}, "container.cpus cannot be enforced"},
		{Config{Memory: 256 << 20, CPUs: 2, Pids: 64}, "container.memory and container.cpus cannot be enforced"},
	} {
		err := RootlessLimitsOK(tc.c)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: refused: %v", tc.c, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one saying %q", tc.c, err, tc.want)
		}
	}
}

// The rootless profile differs from root's by exactly one rule: unshare
// of a user namespace alone, which the sandbox's constructor needs.
func TestSeccompProfileRootlessAllowsOnlyUserns(t *testing.T) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}
	root, err := Seccomp(spec, false)
	if err != nil {
		t.Fatal(err)
	}
	rootless, err := Seccomp(spec, true)
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
			if (n == "chmod" || n == "openat" || n == "mknod") && sc.Action == specs.ActAllow && len(sc.Args) == 0 {
				t.Errorf("%s is allowed whatever its mode: %+v", n, sc)
			}
		}
	}
}

func TestMirrorRootMatchesHostTopLevel(t *testing.T) {
	dir, binds, err := hostRootfs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.ReadDir("/")
	for _, e := range host {
		fi, err := os.Lstat(filepath.Join(dir, e.Name()))
		if err != nil {
			if e.Type().IsDir() || e.Type()&os.ModeSymlink != 0 || e.Type().IsRegular() {
				t.Errorf("/%s missing from the mirror", e.Name())
			}
			continue
		}
		if e.Type()&os.ModeSymlink != 0 {
			want, _ := os.Readlink("/" + e.Name())
			if got, _ := os.Readlink(filepath.Join(dir, e.Name())); got != want || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("/%s: symlink %q, want %q", e.Name(), got, want)
			}
		}
	}
	for _, m := range binds {
		if isReplaced(m.Destination) {
			t.Errorf("the host's %s is bound in; the sandbox must replace it", m.Destination)
		}
		if !strings.Contains(strings.Join(m.Options, ","), "rro") {
			t.Errorf("%s is not recursively read-only: %v", m.Destination, m.Options)
		}
	}
}

// The home is hidden but for the readable entries; an entry that is a
// symlink to the home itself, out of it or into a credential store shows
// nothing.
func TestHomeViewShowsOnlyReadableEntries(t *testing.T) {
	home := t.TempDir()
	for _, d := range []string{".cargo/bin", ".ssh", "elsewhere"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"go": ".", ".npm": "/etc", ".rustup": ".ssh"} {
		if err := os.Symlink(target, filepath.Join(home, name)); err != nil {
			t.Fatal(err)
		}
	}
	c := &Config{Owner: Owner{Home: home}, HermesHome: filepath.Join(home, ".hermes")}
	ms, visible, err := homeView(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Type != "tmpfs" || ms[0].Destination != home || !strings.Contains(strings.Join(ms[0].Options, ","), "ro") {
		t.Fatalf("the home is not covered by a read-only tmpfs first: %+v", ms)
	}
	if want := []string{filepath.Join(home, ".cargo", "bin")}; !reflect.DeepEqual(visible, want) {
		t.Errorf("visible %q, want %q", visible, want)
	}
	for _, m := range ms[1:] {
		if !strings.Contains(strings.Join(m.Options, ","), "ro") {
			t.Errorf("%s is shown writable", m.Destination)
		}
	}
}

// A readable entry holding a credential store is shown without it, also
// when the store is created after the sandbox started.
func TestReadableEntryWithACredentialStoreHidesIt(t *testing.T) {
	home := t.TempDir()
	for _, d := range []string{".cargo/bin", ".cargo/registry"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := &Config{Owner: Owner{Home: home}, HomeReadable: []string{".cargo"}}
	ms, _, err := homeView(c)
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, m := range ms[1:] {
		dests = append(dests, strings.TrimPrefix(m.Destination, home))
	}
	if want := []string{"/.cargo/bin", "/.cargo/registry"}; !reflect.DeepEqual(dests, want) {
		t.Errorf("binds %q, want %q (never all of .cargo, which holds credentials.toml)", dests, want)
	}
}

func TestHooksPathInsideTheWorkspaceIsProtected(t *testing.T) {
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, "tools"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "tools", "clean.sh"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := "[core]\n\tbare = false\n[remote \"origin\"]\n\thooksPath = nope\n[core]\n\thooksPath = .husky/_ ; husky 9\n" +
		"[include]\n\tpath = ../project.gitconfig\n[includeIf \"gitdir:~/x/\"]\n\tpath = cfg/extra\n" +
		"[filter \"x\"]\n\tclean = tools/clean.sh --in\n[alias]\n\tgo = !./scripts/missing.sh\n"
	if err := os.WriteFile(filepath.Join(ws, ".git", "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	dirs, files := ProtectedList(Config{Workspace: ws, ProtectedPaths: []string{}})
	// include.path is relative to the file that names it: .git/.
	if want := []string{".husky/_", "tools/clean.sh"}; !reflect.DeepEqual(dirs, want) {
		t.Errorf("protected %q, want %q", dirs, want)
	}
	if want := []string{"project.gitconfig", ".git/cfg/extra"}; !reflect.DeepEqual(files, want) {
		t.Errorf("protected files %q, want %q", files, want)
	}
	p, err := Protect(ws, dirs, files...)
	if err != nil {
		t.Fatal(err)
	}
	// A missing include gets an empty file (git refuses a directory
	// there); a missing directory on its way gets a directory.
	want := []string{filepath.Join(ws, ".husky") + "/", filepath.Join(ws, "project.gitconfig"), filepath.Join(ws, ".git", "cfg") + "/"}
	if !reflect.DeepEqual(p.Placeholders, want) {
		t.Errorf("placeholders %q, want %q", p.Placeholders, want)
	}
	made, err := MakePlaceholders(ws, p.Placeholders, os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(ws, "project.gitconfig")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("include placeholder: %v %v", fi, err)
	}
	RemovePlaceholders(made)
	for _, h := range made {
		if _, err := os.Lstat(filepath.Clean(h)); err == nil {
			t.Errorf("%s left behind", h)
		}
	}
}

// With exec checks every exec goes to the agent and nothing else changes
// but seccomp(2), which may no longer make a listener.
func TestExecNotifyProfile(t *testing.T) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}
	plain, err := Seccomp(spec, false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Seccomp(spec, false)
	if err != nil {
		t.Fatal(err)
	}
	ExecNotify(p)
	rules := map[string][]specs.LinuxSyscall{}
	for _, sc := range p.Syscalls {
		for _, n := range sc.Names {
			rules[n] = append(rules[n], sc)
		}
	}
	for _, n := range []string{"execve", "execveat"} {
		if len(rules[n]) != 1 || rules[n][0].Action != specs.ActNotify {
			t.Errorf("%s: rules %+v, want one SCMP_ACT_NOTIFY", n, rules[n])
		}
	}
	want := []specs.LinuxSeccompArg{{Index: 1, Value: unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, ValueTwo: 0, Op: specs.OpMaskedEqual}}
	if len(rules["seccomp"]) != 1 || rules["seccomp"][0].Action != specs.ActAllow || !reflect.DeepEqual(rules["seccomp"][0].Args, want) {
		t.Errorf("seccomp: rules %+v, want allowed only without NEW_LISTENER", rules["seccomp"])
	}
	if p.DefaultAction != specs.ActErrno || !reflect.DeepEqual(p.Architectures, plain.Architectures) {
		t.Errorf("default %s, architectures %v: changed", p.DefaultAction, p.Architectures)
	}
	// Every other system call keeps its rules.
	count := func(l *specs.LinuxSeccomp) map[string]int {
		m := map[string]int{}
		for _, sc := range l.Syscalls {
			for _, n := range sc.Names {
				if !execNotifyOwn[n] {
					m[n+" "+string(sc.Action)]++
				}
			}
		}
		return m
	}
	if !reflect.DeepEqual(count(plain), count(p)) {
		t.Error("the profile changed for other system calls")
	}
}
