package sandbox

import (
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

func TestProcessEnvIsBaselineOnly(t *testing.T) {
	b := &backend{o: Options{Passthrough: []string{"KEEP_*"}}, tmpl: &template{}}
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
