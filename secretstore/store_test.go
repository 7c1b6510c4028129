package secretstore

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDotenvRoundTrip(t *testing.T) {
	in := []Entry{
		{"PLAIN", "abc123"},
		{"SPACES", "  two words  "},
		{"QUOTES", `it's "quoted" \ back`},
		{"MULTI", "line1\nline2\ttab"},
		{"HASH", "a #not a comment"},
		{"EMPTY", ""},
	}
	out, err := ParseDotenv(FormatDotenv(in))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in, out) {
		t.Fatalf("round trip:\n%q\n%q", in, out)
	}
	got, err := ParseDotenv("# c\nexport A=1 # note\nB='lit\\n'\nC=\"x\ny\"\nA=2\n\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"A", "2"}, {"B", `lit\n`}, {"C", "x\ny"}}
	if !slices.Equal(got, want) {
		t.Fatalf("parse: %q", got)
	}
	for _, bad := range []string{"not an assignment\n", "1X=2\n", "A=\"open\n", "A='x' y\n"} {
		if _, err := ParseDotenv(bad); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ParseDotenv(%q): %v", bad, err)
		}
	}
}

func newStore(t *testing.T) (Store, string) {
	home := t.TempDir()
	t.Setenv("HERMES_AGE_IDENTITY", "")
	return ForHome(home), home
}

func set(t *testing.T, s Store, m Mode, name, value string) {
	t.Helper()
	err := s.Update(m, func(es []Entry) ([]Entry, error) {
		return append(es, Entry{name, value}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIdentityStore(t *testing.T) {
	s, home := newStore(t)
	const secret = "sk-live-0123456789abcdef"
	set(t, s, ModeIdentity, "OPENAI_API_KEY", secret)
	set(t, s, ModeIdentity, "MY_VALUE", "second-value-42")
	// Nothing under HERMES_HOME holds a value in clear.
	filepath.WalkDir(home, func(p string, d os.DirEntry, err error) error {
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte("second-value-42")) {
				t.Errorf("%s holds a secret in clear", p)
			}
			if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v", p, st.Mode().Perm())
			}
		}
		return nil
	})
	es, m, err := s.Load()
	if err != nil || m != ModeIdentity || len(es) != 2 || es[0].Value != secret {
		t.Fatalf("load: %v %v %v", es, m, err)
	}
	names, values, err := Gather(home)
	if err != nil || !slices.Equal(names, []string{"MY_VALUE", "OPENAI_API_KEY"}) || !slices.Contains(values, secret) {
		t.Fatalf("gather: %v %v %v", names, values, err)
	}
	// The identity is gone (held elsewhere): the names still filter.
	os.Rename(s.Identity, s.Identity+".moved")
	names, values, err = Gather(home)
	if err != nil || len(names) != 2 || values != nil {
		t.Fatalf("gather without identity: %v %v %v", names, values, err)
	}
	// ... and with no names list either, nothing can tell the names:
	// an error, so the caller refuses to run.
	os.Remove(s.NamesPath)
	if _, _, err := Gather(home); err == nil {
		t.Fatal("gather without names or key succeeded")
	}
}

func TestPassphraseStore(t *testing.T) {
	s, home := newStore(t)
	s.WorkFactor = 10
	asked := 0
	s.Passphrase = func(confirm bool) (string, error) { asked++; return "correct horse", nil }
	set(t, s, ModePassphrase, "DB_PASSWORD", "hunter2-but-longer")
	if asked != 1 {
		t.Fatalf("asked %d times for a new passphrase", asked)
	}
	if _, err := os.Stat(s.Identity); err == nil {
		t.Fatal("a passphrase store made an identity file")
	}
	if m, _ := s.Mode(); m != ModePassphrase {
		t.Fatalf("mode %v", m)
	}
	names, values, err := Gather(home)
	if err != nil || !slices.Equal(names, []string{"DB_PASSWORD"}) || values != nil {
		t.Fatalf("gather: %v %v %v", names, values, err)
	}
	s.Passphrase = func(bool) (string, error) { return "wrong", nil }
	if _, _, err := s.Load(); err == nil {
		t.Fatal("wrong passphrase decrypted")
	}
	s.Passphrase = func(bool) (string, error) { return "correct horse", nil }
	es, _, err := s.Load()
	if err != nil || es[0].Value != "hunter2-but-longer" {
		t.Fatalf("%v %v", es, err)
	}
}

func TestRefusesSymlinks(t *testing.T) {
	s, home := newStore(t)
	set(t, s, ModeIdentity, "A_TOKEN", "value-123456")
	other := filepath.Join(t.TempDir(), "elsewhere")
	os.Rename(s.Path, other)
	os.Symlink(other, s.Path)
	if _, _, err := Gather(home); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("gather through a symlink: %v", err)
	}
}

func TestGatherWithoutStore(t *testing.T) {
	_, home := newStore(t)
	names, values, err := Gather(home)
	if names != nil || values != nil || err != nil {
		t.Fatal(names, values, err)
	}
}
