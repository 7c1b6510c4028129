package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"hermes-exec/isolate"
)

func TestOptionsRejectWhatCannotBeHonoured(t *testing.T) {
	ws := t.TempDir()
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"root workspace", Options{Workspace: "/"}, "whole filesystem"},
		{"bad network", Options{Workspace: ws, Network: "bridge"}, "container.network"},
		{"bad persist", Options{Workspace: ws, Persist: "forever"}, "container.persist"},
		{"negative memory", Options{Workspace: ws, Memory: -1}, "container.memory"},
		{"tiny memory", Options{Workspace: ws, Memory: 1000}, "too small"},
		{"negative pids", Options{Workspace: ws, Pids: -5}, "container.pids"},
		{"missing workspace", Options{Workspace: filepath.Join(ws, "nope")}, "container.workspace"},
	} {
		if _, err := tc.o.WithDefaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	o, err := Options{Workspace: ws}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Network != "none" || o.Persist != "session" || o.Pids != 1024 || o.TmpfsSize != 512<<20 || o.Idle.Minutes() != 30 {
		t.Errorf("defaults: %+v", o)
	}
}

func TestWorkspaceInsideASecretIsRefused(t *testing.T) {
	home := t.TempDir()
	ws := filepath.Join(home, "project")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	o, err := Options{Workspace: ws, HermesHome: home, StateDir: t.TempDir()}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hiddenPaths(o, ""); err == nil {
		t.Error("a workspace inside HERMES_HOME was accepted: HERMES_HOME would be visible")
	}
}

func TestHiddenPathsCoverSecretsInsideTheWorkspace(t *testing.T) {
	home := t.TempDir()
	for _, d := range []string{".ssh", ".aws", ".config/gcloud", ".hermes"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The workspace is the home itself: its secrets are still masked.
	o, err := Options{Workspace: home, HermesHome: filepath.Join(home, ".hermes"), StateDir: t.TempDir()}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	got, err := hiddenPaths(o, home)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".ssh", ".aws", ".config/gcloud", ".hermes"} {
		p := filepath.Join(home, want)
		found := false
		for _, g := range got {
			if g == p {
				found = true
			}
		}
		if !found {
			t.Errorf("%s is not hidden: %v", p, got)
		}
	}
	for _, g := range got {
		if g == home {
			t.Errorf("the workspace itself is hidden: %v", got)
		}
	}
}

func TestProcessEnvIsBaselineOnly(t *testing.T) {
	b := &backend{o: Options{Passthrough: []string{"KEEP_*"}}}
	got := b.processEnv([]string{
		"PATH=/bin", "HOME=/h", "LANG=C", "LC_ALL=C", "TERM=xterm",
		"AWS_SECRET_ACCESS_KEY=x", "RANDOM_VAR=y", "KEEP_ME=1",
		"HERMES_SKILL_ENV=SKILL_A, SKILL_B", "SKILL_A=a", "SKILL_B=b", "SKILL_C=c", "HERMES_YOLO=1",
	})
	want := []string{"PATH=/bin", "HOME=/h", "LANG=C", "LC_ALL=C", "TERM=xterm", "KEEP_ME=1", "SKILL_A=a", "SKILL_B=b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("env = %q, want %q", got, want)
	}
}

func TestReaperStatusIsExact(t *testing.T) {
	fb := isolate.Status{Code: 1}
	for msg, want := range map[string]isolate.Status{
		"exit 0":    {Code: 0},
		"exit 42":   {Code: 42},
		"signal 15": {Code: 143, Signal: 15},
		"signal 9":  {Code: 137, Signal: 9},
		"garbage":   fb,
		"":          fb,
	} {
		if got := parseReaperStatus(msg, fb); got != want {
			t.Errorf("%q: %+v, want %+v", msg, got, want)
		}
	}
}

func TestOOMReason(t *testing.T) {
	st := oomStatus(isolate.Status{Code: 137, Signal: 9}, 64<<20)
	if st.Code != 137 || st.Reason != "killed: out of memory (container.memory 64MiB)" {
		t.Errorf("%+v", st)
	}
	// A command that survived its killed child keeps its status.
	st = oomStatus(isolate.Status{Code: 2}, 64<<20)
	if st.Code != 2 || !strings.Contains(st.Reason, "out of memory") {
		t.Errorf("%+v", st)
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
		if m.Destination == "/tmp" || m.Destination == "/proc" || m.Destination == "/dev" || m.Destination == "/sys" {
			t.Errorf("the host's %s is bound in; the sandbox must replace it", m.Destination)
		}
		if !strings.Contains(strings.Join(m.Options, ","), "rro") {
			t.Errorf("%s is not recursively read-only: %v", m.Destination, m.Options)
		}
	}
}
