package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"hermes-exec/internal/testutil"

	"golang.org/x/sys/unix"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMissingFileGivesDefaults(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope", "config.yaml")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Path = p
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	if c.Approvals.Timeout != 300*time.Second || c.Approvals.Mode != "default" || c.Container.Pids != 1024 ||
		c.Container.TmpfsSize != "512m" || c.Container.Idle != 30*time.Minute || c.Terminal.Backend != "host" ||
		c.Container.Network != "none" || c.Container.Persist != "session" || c.Approvals.InContainer != "skip" {
		t.Fatalf("defaults are not the documented ones: %+v", c)
	}
}

func TestLoadEmptyAndCommentOnlyFiles(t *testing.T) {
	for _, text := range []string{"", "# nothing here\n", "\n\n", "---\n"} {
		c, err := Load(writeFile(t, text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if c.Approvals.Timeout != DefaultTimeout || c.Approvals.Mode != ModeDefault {
			t.Fatalf("%q: not defaults: %+v", text, c.Approvals)
		}
	}
}

// A real Hermes config has many sections hermes-exec does not know; they
// must not disturb it, and Hermes's own spellings must read correctly.
func TestLoadHermesStyleFile(t *testing.T) {
	p := writeFile(t, `# Hermes Agent configuration
model:
  default: anthropic/claude-opus-4
  provider: openrouter
toolsets: [terminal, web]
compression: {enabled: true, threshold: 0.8}
approvals:
  mode: smart
  timeout: 60
  cron_mode: deny
  allowlist:
    - git push
    - "rm -rf ./build"
  deny:
    - terraform destroy
terminal:
  backend: local
  cwd: /home/me
  env_passthrough: [GITHUB_TOKEN, NPM_TOKEN]
container:
  memory: 2g
  cpus: "1.5"
  pids: 256
  tmpfs_size: 1G
  workspace: /srv/work
  network: host
  persist: none
  idle: 600
  image: docker.io/library/debian:12
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Path: p,
		Approvals: Approvals{Mode: "default", Timeout: 60 * time.Second,
			Allowlist: []string{"git push", "rm -rf ./build"}, Deny: []string{"terraform destroy"}, InContainer: "skip"},
		Terminal: Terminal{Backend: "host", EnvPassthrough: []string{"GITHUB_TOKEN", "NPM_TOKEN"}},
		Container: Container{Memory: "2g", CPUs: 1.5, Pids: 256, TmpfsSize: "1G", Workspace: "/srv/work",
			Network: "host", Persist: "none", Idle: 10 * time.Minute, Image: "docker.io/library/debian:12"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
}

func TestLoadValueSpellings(t *testing.T) {
	cases := []struct {
		yaml  string
		check func(*Config) bool
	}{
		{"approvals:\n  mode: 'off'\n", func(c *Config) bool { return c.Approvals.Mode == ModeOff }},
		{"approvals:\n  mode: off\n", func(c *Config) bool { return c.Approvals.Mode == ModeOff }},
		{"approvals:\n  mode: manual\n", func(c *Config) bool { return c.Approvals.Mode == ModeDefault }},
		{"approvals:\n  mode:\n", func(c *Config) bool { return c.Approvals.Mode == ModeDefault }},
		{"approvals:\n  timeout: 90s\n", func(c *Config) bool { return c.Approvals.Timeout == 90*time.Second }},
		{"approvals:\n  timeout: 5m\n", func(c *Config) bool { return c.Approvals.Timeout == 5*time.Minute }},
		{"approvals:\n  timeout: \"45\"\n", func(c *Config) bool { return c.Approvals.Timeout == 45*time.Second }},
		{"approvals:\n  timeout: 1.5\n", func(c *Config) bool { return c.Approvals.Timeout == 1500*time.Millisecond }},
		{"approvals:\n  in_container: ask\n", func(c *Config) bool { return c.Approvals.InContainer == "ask" }},
		{"terminal:\n  backend: sandbox\n", func(c *Config) bool { return c.Terminal.Backend == "sandbox" }},
		{"container:\n  cpus: 2\n", func(c *Config) bool { return c.Container.CPUs == 2 }},
		{"container:\n  idle: 45m\n", func(c *Config) bool { return c.Container.Idle == 45*time.Minute }},
		{"container:\n  memory: 512MiB\n", func(c *Config) bool { return c.Container.Memory == "512MiB" }},
		{"defaults: &d\n  mode: 'off'\napprovals: *d\n", func(c *Config) bool { return c.Approvals.Mode == ModeOff }},
	}
	for _, tc := range cases {
		c, err := Load(writeFile(t, tc.yaml))
		if err != nil {
			t.Errorf("%q: %v", tc.yaml, err)
			continue
		}
		if !tc.check(c) {
			t.Errorf("%q: wrong result %+v", tc.yaml, c)
		}
	}
}

func TestLoadWorkspaceTilde(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	c, err := Load(writeFile(t, "container:\n  workspace: ~/proj\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Container.Workspace != filepath.Join(home, "proj") {
		t.Fatalf("workspace %q", c.Container.Workspace)
	}
}

// Every error names the file and the line, so the user can fix it; a
// configuration that cannot be read is never replaced by a guess.
func TestLoadErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		yaml, line, msg string
	}{
		{"model: x\napprovals:\n  mode: yolo\n", ":3: ", "approvals.mode"},
		{"approvals:\n  mode: [a]\n", ":2: ", "approvals.mode"},
		{"approvals:\n  timeout: 0\n", ":2: ", "more than zero"},
		{"approvals:\n  timeout: -5\n", ":2: ", "more than zero"},
		{"approvals:\n  timeout: soon\n", ":2: ", "approvals.timeout"},
		{"a: 1\n\napprovals:\n  allowlist: git push\n", ":4: ", "want a list"},
		{"approvals:\n  deny:\n    - ok\n    - {a: b}\n", ":4: ", "non-empty string"},
		{"approvals:\n  deny:\n    - \"\"\n", ":3: ", "non-empty string"},
		{"approvals:\n  in_container: maybe\n", ":2: ", "approvals.in_container"},
		{"terminal:\n  backend: docker\n", ":2: ", "terminal.backend"},
		{"container:\n  memory: lots\n", ":2: ", "container.memory"},
		{"container:\n  cpus: -1\n", ":2: ", "container.cpus"},
		{"container:\n  pids: 0\n", ":2: ", "container.pids"},
		{"container:\n  tmpfs_size: 0\n", ":2: ", "container.tmpfs_size"},
		{"container:\n  network: bridge\n", ":2: ", "container.network"},
		{"container:\n  persist: forever\n", ":2: ", "container.persist"},
		{"container:\n  idle: 0s\n", ":2: ", "container.idle"},
		{"container:\n  spare: maybe\n", ":2: ", "container.spare"},
		{"approvals: 5\n", ":1: ", "cannot unmarshal"},
		{"approvals:\n  mode: smart\n  mode: off\n", ":3: ", "already"},
		// Syntax errors.
		{"model: x\napprovals:\n  mode: [smart\n", ":", ""},
		{"a: b\n  c: d\n", ":2: ", "mapping values"},
		{"approvals:\n\tmode: off\n", ":2: ", "tab"},
	}
	for _, tc := range cases {
		p := writeFile(t, tc.yaml)
		_, err := Load(p)
		if err == nil {
			t.Errorf("%q: no error", tc.yaml)
			continue
		}
		if !strings.HasPrefix(err.Error(), p+tc.line) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %q; want prefix %q and %q in it", tc.yaml, err, p+tc.line, tc.msg)
		}
	}
}

func TestLoadReportsEveryBadValue(t *testing.T) {
	p := writeFile(t, "approvals:\n  mode: yolo\ncontainer:\n  pids: -1\n")
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), p+":2:") || !strings.Contains(err.Error(), p+":4:") {
		t.Fatalf("want both lines reported, got %v", err)
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil {
		t.Fatal("a directory in place of config.yaml must be an error")
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: the permission-denied case cannot be produced (root reads any file); the directory case covers unreadable files")
		return
	}
	f := filepath.Join(dir, "locked.yaml")
	if err := os.WriteFile(f, []byte("a: 1\n"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(f); err == nil {
		t.Fatal("an unreadable config.yaml must be an error")
	}
}

// The files of HERMES_HOME are not trusted blindly (issue 6, item 10): a
// dangling link is an error (it used to read as "no file", dropping the
// deny rules), a link to /dev/zero or a FIFO is refused at once instead of
// eating memory or hanging, and a file writable by others is refused.
func TestLoadRefusesWhatIsNotAPlainFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	cases := []struct {
		name string
		make func() error
		want string
	}{
		{"dangling link", func() error { return os.Symlink(filepath.Join(dir, "gone.yaml"), p) }, "does not exist"},
		{"link to /dev/zero", func() error { return os.Symlink("/dev/zero", p) }, "character device"},
		{"fifo", func() error { return unix.Mkfifo(p, 0o600) }, "FIFO"},
		{"world-writable", func() error {
			if err := os.WriteFile(p, []byte("approvals:\n  mode: off\n"), 0o600); err != nil {
				return err
			}
			return os.Chmod(p, 0o666)
		}, "writable by group or others"},
		{"too big", func() error { return os.WriteFile(p, make([]byte, MaxConfigSize+1), 0o600) }, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(p)
			if err := tc.make(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { _, err := Load(p); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Load: %v, want an error saying %q", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Load hung")
			}
		})
	}
}

// A link the caller made to a file the caller owns (a dotfile manager's)
// is still read.
func TestLoadFollowsOwnLink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "hermes.yaml")
	os.MkdirAll(filepath.Dir(real), 0o700)
	os.WriteFile(real, []byte("approvals:\n  deny: [terraform]\n"), 0o600)
	p := filepath.Join(dir, "config.yaml")
	if err := os.Symlink(real, p); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil || len(c.Approvals.Deny) != 1 {
		t.Fatalf("%+v %v", c, err)
	}
}

// Root never follows a link another user owns: that user could point it at
// anything root can read.
func TestLoadAsRootRefusesAnotherUsersLink(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Require(t, "root, to make a link owned by another user")
		return
	}
	dir := t.TempDir()
	real := filepath.Join(dir, "real.yaml")
	os.WriteFile(real, []byte("approvals:\n  mode: off\n"), 0o600)
	p := filepath.Join(dir, "config.yaml")
	if err := os.Symlink(real, p); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("Load through nobody's link: %v", err)
	}
}

func TestParseBytes(t *testing.T) {
	good := map[string]int64{
		"0": 0, "1024": 1024, "100b": 100, "1k": 1 << 10, "1K": 1 << 10, "1kb": 1 << 10, "1KiB": 1 << 10,
		"512m": 512 << 20, "512M": 512 << 20, "512mb": 512 << 20, "512Mi": 512 << 20, "2g": 2 << 30,
		"2GB": 2 << 30, "2gib": 2 << 30, "1t": 1 << 40, "1.5g": 3 << 29, " 64m ": 64 << 20,
	}
	for in, want := range good {
		got, err := ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "b", "ib", "-1g", "+1g", "1x", "g1", "1e3m", "0x10", "inf", "NaN", "1gg", "99999999999t", "1 g"} {
		if got, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) = %d, want an error", in, got)
		}
	}
}

// benchConfig writes a config of realistic size: Hermes's sections plus
// ours (about 160 lines).
func benchConfig(b *testing.B) string {
	p := filepath.Join(b.TempDir(), "config.yaml")
	var sb strings.Builder
	sb.WriteString("# Hermes Agent configuration\nmodel:\n  default: anthropic/claude-opus-4\n  provider: openrouter\n")
	for i := 0; i < 30; i++ {
		sb.WriteString("# section comment\nsection" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ":\n  enabled: true\n  value: 12\n  list: [a, b, c]\n")
	}
	sb.WriteString("approvals:\n  mode: smart\n  timeout: 120\n  allowlist:\n")
	for i := 0; i < 20; i++ {
		sb.WriteString("    - git push origin branch" + string(rune('a'+i)) + "\n")
	}
	sb.WriteString("  deny:\n    - terraform destroy\nterminal:\n  backend: local\n  env_passthrough: [A, B]\ncontainer:\n  memory: 2g\n  cpus: 2\n")
	if err := os.WriteFile(p, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkLoad is Load as every command runs it: config.yaml unchanged
// since the last command, so the cached decoding is used.
func BenchmarkLoad(b *testing.B) {
	p := benchConfig(b)
	if _, err := Load(p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadParse is the first Load after an edit: read and decode the
// YAML (the cache write is left out).
func BenchmarkLoadParse(b *testing.B) {
	p := benchConfig(b)
	b.ReportAllocs()
	for b.Loop() {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := decode(Defaults(), string(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLoadExecChecks(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ text, want string }{
		{"terminal:\n  exec_checks: on\n", ExecChecksOn},
		{"terminal:\n  exec_checks: off\n", ExecChecksOff},
		{"terminal:\n  exec_checks: true\n", ExecChecksOn},
		{"terminal:\n  backend: host\n", ""},
	} {
		p := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(p, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p)
		if err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		if c.Terminal.ExecChecks != tc.want {
			t.Errorf("%q: exec_checks %q, want %q", tc.text, c.Terminal.ExecChecks, tc.want)
		}
	}
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte("terminal:\n  exec_checks: sometimes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "config.yaml:2: terminal.exec_checks") {
		t.Errorf("a bad value must name the file, line and key, got %v", err)
	}
}
