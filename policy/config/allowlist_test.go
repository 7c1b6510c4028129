package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// TestMain lets the test binary act as a separate writer process for the
// cross-process locking test.
func TestMain(m *testing.M) {
	if p := os.Getenv("HERMES_CONFIG_TEST_HELPER_PATH"); p != "" {
		entries := strings.Split(os.Getenv("HERMES_CONFIG_TEST_HELPER_ENTRIES"), "\x1f")
		if _, err := AddAllowlist(p, entries...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func readText(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func allowlistOf(t *testing.T, p string) []string {
	t.Helper()
	c, err := Load(p)
	if err != nil {
		t.Fatalf("edited file does not load: %v\n%s", err, readText(t, p))
	}
	return c.Approvals.Allowlist
}

const handWritten = `# Hermes Agent config — edited by hand
model:
  default: anthropic/claude-opus-4   # the big one

# Approvals: ask me before anything scary.
approvals:
  mode: smart   # manual | smart | off

  # Things I trust.
  allowlist:
    - git push      # my own repos only
    - 'rm -rf ./build'
  # end of trusted things

  deny:
    - terraform destroy

terminal:
  backend: local
# trailing comment
`

func TestAddPreservesEverythingElseByteForByte(t *testing.T) {
	p := writeFile(t, handWritten)
	added, err := AddAllowlist(p, "make deploy", "npm publish")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(added, []string{"make deploy", "npm publish"}) {
		t.Fatalf("added %q", added)
	}
	want := strings.Replace(handWritten, "    - 'rm -rf ./build'\n",
		"    - 'rm -rf ./build'\n    - make deploy\n    - npm publish\n", 1)
	if got := readText(t, p); got != want {
		t.Fatalf("file changed beyond the two new lines:\n--- got\n%s\n--- want\n%s", got, want)
	}
	if got := allowlistOf(t, p); !reflect.DeepEqual(got, []string{"git push", "rm -rf ./build", "make deploy", "npm publish"}) {
		t.Fatalf("allowlist %q", got)
	}
}

func TestAddIsIdempotent(t *testing.T) {
	p := writeFile(t, handWritten)
	if _, err := AddAllowlist(p, "make deploy"); err != nil {
		t.Fatal(err)
	}
	before := readText(t, p)
	added, err := AddAllowlist(p, "make deploy", "git push", "  git push  ")
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 0 {
		t.Fatalf("re-adding present entries added %q", added)
	}
	if readText(t, p) != before {
		t.Fatal("a no-op add rewrote the file")
	}
	// Duplicates within one call are added once.
	added, err = AddAllowlist(p, "cargo publish", "cargo publish")
	if err != nil || !reflect.DeepEqual(added, []string{"cargo publish"}) {
		t.Fatalf("added %q, %v", added, err)
	}
	if got := allowlistOf(t, p); len(got) != 4 {
		t.Fatalf("allowlist %q", got)
	}
}

func TestRemove(t *testing.T) {
	p := writeFile(t, handWritten)
	removed, err := RemoveAllowlist(p, "git push", "not there")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(removed, []string{"git push"}) {
		t.Fatalf("removed %q", removed)
	}
	want := strings.Replace(handWritten, "    - git push      # my own repos only\n", "", 1)
	if got := readText(t, p); got != want {
		t.Fatalf("remove changed more than the entry's line:\n%s", got)
	}
	removed, err = RemoveAllowlist(p, "rm -rf ./build")
	if err != nil || len(removed) != 1 {
		t.Fatalf("removed %q, %v", removed, err)
	}
	if got := allowlistOf(t, p); len(got) != 0 {
		t.Fatalf("allowlist should be empty: %q", got)
	}
	if !strings.Contains(readText(t, p), "# end of trusted things") {
		t.Fatal("comment lost")
	}
	// Removing from a missing file neither fails nor creates it.
	missing := filepath.Join(t.TempDir(), "config.yaml")
	if removed, err := RemoveAllowlist(missing, "x"); err != nil || removed != nil {
		t.Fatalf("%q %v", removed, err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("remove created the file")
	}
}

func TestAddCreatesMissingFileAndDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hermes")
	p := filepath.Join(dir, "config.yaml")
	if _, err := AddAllowlist(p, "git push"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("config.yaml mode %v, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(dir); dst.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v, want 0700", dst.Mode().Perm())
	}
	if got := allowlistOf(t, p); !reflect.DeepEqual(got, []string{"git push"}) {
		t.Fatalf("allowlist %q", got)
	}
}

func TestEditedFileIsMode0600(t *testing.T) {
	p := writeFile(t, handWritten)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AddAllowlist(p, "make"); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	// No temp files are left beside it.
	ents, _ := os.ReadDir(filepath.Dir(p))
	for _, e := range ents {
		if e.Name() != "config.yaml" && e.Name() != "config.yaml.lock" {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

func TestBrokenFileIsLeftUntouched(t *testing.T) {
	broken := "model: x\napprovals:\n  allowlist: [unclosed\n"
	p := writeFile(t, broken)
	_, err := AddAllowlist(p, "git push")
	if err == nil || !strings.HasPrefix(err.Error(), p+":") {
		t.Fatalf("want an error naming %s and the line, got %v", p, err)
	}
	if readText(t, p) != broken {
		t.Fatal("a broken file was modified")
	}
	notAList := "approvals:\n  allowlist: git push\n"
	p = writeFile(t, notAList)
	if _, err := AddAllowlist(p, "x"); err == nil || !strings.HasPrefix(err.Error(), p+":2:") {
		t.Fatalf("allowlist that is not a list: %v", err)
	}
	if readText(t, p) != notAList {
		t.Fatal("file modified")
	}
}

func TestRejectsBadEntries(t *testing.T) {
	p := writeFile(t, handWritten)
	for _, e := range []string{"", "   ", "ls\nrm -rf /", "echo \x1b[2J"} {
		if _, err := AddAllowlist(p, e); err == nil {
			t.Errorf("entry %q accepted", e)
		}
	}
	if readText(t, p) != handWritten {
		t.Fatal("file modified by a rejected entry")
	}
}

// Each layout a user might have written gets the entries appended, keeps
// its comments and loads with the expected list.
func TestAddLayouts(t *testing.T) {
	cases := []struct {
		name, in, out string
	}{
		{"no approvals section", "model: x # m\n", "model: x # m\napprovals:\n  allowlist:\n    - a b\n"},
		{"no trailing newline", "model: x", "model: x\napprovals:\n  allowlist:\n    - a b\n"},
		{"empty file", "", "approvals:\n  allowlist:\n    - a b\n"},
		{"comments only", "# hi\n", "# hi\napprovals:\n  allowlist:\n    - a b\n"},
		{"approvals without allowlist", "approvals:\n  mode: smart # c\nx: 1\n",
			"approvals:\n  allowlist:\n    - a b\n  mode: smart # c\nx: 1\n"},
		{"empty approvals", "approvals: # mine\nx: 1\n", "approvals: # mine\n  allowlist:\n    - a b\nx: 1\n"},
		{"null allowlist", "approvals:\n  allowlist:   # none yet\n  mode: off\n",
			"approvals:\n  allowlist:   # none yet\n    - a b\n  mode: off\n"},
		{"compact sequence", "approvals:\n  allowlist:\n  - git push\n  mode: off\n",
			"approvals:\n  allowlist:\n  - git push\n  - a b\n  mode: off\n"},
		{"flow sequence", "approvals:\n  allowlist: [git push] # flow\n", "approvals:\n  allowlist: [git push, a b] # flow\n"},
		{"empty flow sequence", "approvals:\n  allowlist: []\n", "approvals:\n  allowlist: [a b]\n"},
		{"four-space indent", "approvals:\n    allowlist:\n        - x\n", "approvals:\n    allowlist:\n        - x\n        - a b\n"},
		{"last item at end of file", "approvals:\n  allowlist:\n    - x", "approvals:\n  allowlist:\n    - x\n    - a b\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.in)
			if _, err := AddAllowlist(p, "a b"); err != nil {
				t.Fatal(err)
			}
			if got := readText(t, p); got != tc.out {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.out)
			}
			if got := allowlistOf(t, p); got[len(got)-1] != "a b" {
				t.Fatalf("allowlist %q", got)
			}
		})
	}
}

// Layouts the splice does not handle fall back to re-encoding: the meaning
// and the comments survive, and nothing else of the document changes.
func TestAddFallsBackToReencoding(t *testing.T) {
	cases := []string{
		"approvals: {mode: smart} # flow\nmodel: x # keep\n",
		"approvals:\n  allowlist: ~\n  mode: smart\n",
		"approvals:\n  allowlist: [a,\n    b]\n",
		"{approvals: {allowlist: [x]}, model: y}\n",
	}
	for _, in := range cases {
		p := writeFile(t, in)
		before, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := AddAllowlist(p, "new entry", "needs: quoting"); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		after, err := Load(p)
		if err != nil {
			t.Fatalf("%q: %v\n%s", in, err, readText(t, p))
		}
		want := append(before.Approvals.Allowlist, "new entry", "needs: quoting")
		if !reflect.DeepEqual(after.Approvals.Allowlist, want) || after.Approvals.Mode != before.Approvals.Mode {
			t.Fatalf("%q: allowlist %q mode %q\n%s", in, after.Approvals.Allowlist, after.Approvals.Mode, readText(t, p))
		}
		if strings.Contains(in, "# keep") && !strings.Contains(readText(t, p), "# keep") {
			t.Fatalf("%q: comment lost:\n%s", in, readText(t, p))
		}
	}
}

func TestEntriesNeedingQuotesRoundTrip(t *testing.T) {
	p := writeFile(t, handWritten)
	entries := []string{"echo 'a: b'", "- dash", "# hash", "yes", "git commit -m \"x\"", "ls [abc]", "x, y", "@at", "100", strings.Repeat("long ", 60) + "end"}
	if _, err := AddAllowlist(p, entries...); err != nil {
		t.Fatal(err)
	}
	got := allowlistOf(t, p)
	if !reflect.DeepEqual(got[2:], entries) {
		t.Fatalf("got %q", got[2:])
	}
	// And in a flow sequence.
	p = writeFile(t, "approvals:\n  allowlist: []\n")
	if _, err := AddAllowlist(p, entries...); err != nil {
		t.Fatal(err)
	}
	if got := allowlistOf(t, p); !reflect.DeepEqual(got, entries) {
		t.Fatalf("flow: got %q\n%s", got, readText(t, p))
	}
}

func TestSymlinkedConfigStaysALink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "hermes.yaml")
	if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("model: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := AddAllowlist(link, "make"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced by a file")
	}
	if !strings.Contains(readText(t, real), "- make") {
		t.Fatal("the link's target was not edited")
	}
}

func TestConcurrentGoroutinesLoseNothing(t *testing.T) {
	p := writeFile(t, handWritten)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := AddAllowlist(p, fmt.Sprintf("tool-%02d run", i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkAllPresent(t, p, "tool-%02d run", 20)
}

func TestConcurrentProcessesLoseNothing(t *testing.T) {
	p := writeFile(t, handWritten)
	var cmds []*exec.Cmd
	for i := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			"HERMES_CONFIG_TEST_HELPER_PATH="+p,
			"HERMES_CONFIG_TEST_HELPER_ENTRIES="+fmt.Sprintf("proc-%02d a", i)+"\x1f"+fmt.Sprintf("proc-%02d b", i))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	// This process writes at the same time.
	for i := range 8 {
		if _, err := AddAllowlist(p, fmt.Sprintf("self-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	}
	checkAllPresent(t, p, "proc-%02d a", 8)
	checkAllPresent(t, p, "proc-%02d b", 8)
	checkAllPresent(t, p, "self-%02d", 8)
	if n := len(allowlistOf(t, p)); n != 2+24 {
		t.Fatalf("allowlist has %d entries, want 26", n)
	}
}

func checkAllPresent(t *testing.T, p, format string, n int) {
	t.Helper()
	got := allowlistOf(t, p)
	have := map[string]bool{}
	for _, e := range got {
		have[e] = true
	}
	for i := range n {
		if !have[fmt.Sprintf(format, i)] {
			t.Fatalf("lost entry %q; file:\n%s", fmt.Sprintf(format, i), readText(t, p))
		}
	}
	text := readText(t, p)
	for _, c := range []string{"# Hermes Agent config — edited by hand", "# the big one", "# my own repos only", "# end of trusted things", "# trailing comment"} {
		if !strings.Contains(text, c) {
			t.Fatalf("comment %q lost", c)
		}
	}
}
