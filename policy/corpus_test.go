package policy

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"
	"testing"
)

// corpusEntry is one line of the shared corpus format.
type corpusEntry struct {
	ID     string `json:"id"`
	Cmd    string `json:"cmd"`
	Expect string `json:"expect"`
	// Decision is what a dangerous command must get: "ask" or "deny"
	// (self-disabling is denied; asking for it would let --yolo through).
	Decision string `json:"decision"`
	Class    string `json:"class"`
	Evasion  bool   `json:"evasion"`
	Note     string `json:"note"`
}

func loadCorpus(t testing.TB, path string) []corpusEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open corpus: %v", err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e corpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		if e.Expect != "dangerous" && e.Expect != "safe" {
			t.Fatalf("%s:%d: expect must be dangerous or safe, got %q", path, n, e.Expect)
		}
		if e.Decision != "" && (e.Expect != "dangerous" || e.Decision != "ask" && e.Decision != "deny") {
			t.Fatalf("%s:%d: decision %q: only dangerous entries carry one, ask or deny", path, n, e.Decision)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: empty corpus", path)
	}
	return out
}

// runCorpus checks every entry and reports per-class and overall rates.
// A dangerous entry's decision (ask or deny) is checked too: its own, or
// for a copy without one (the shared sample), the one testdata gives the
// same command. requireDecision makes a dangerous entry without any fail.
func runCorpus(t *testing.T, path string, requireDecision bool) {
	entries := loadCorpus(t, path)
	known := testdataDecisions(t)
	c, err := NewClassifier(Rules{})
	if err != nil {
		t.Fatal(err)
	}
	type tally struct{ ok, total int }
	perClass := map[string]*tally{}
	var dangerOK, dangerN, safeOK, safeN int
	for _, e := range entries {
		v := c.Classify(e.Cmd)
		ok := (e.Expect == "dangerous") == (v.Decision != Allow)
		if perClass[e.Class] == nil {
			perClass[e.Class] = &tally{}
		}
		perClass[e.Class].total++
		if ok {
			perClass[e.Class].ok++
		}
		if e.Expect == "dangerous" {
			dangerN++
			if ok {
				dangerOK++
			}
		} else {
			safeN++
			if ok {
				safeOK++
			}
		}
		if !ok {
			t.Errorf("%s (%s): %q expected %s, got %s %v", e.ID, e.Class, e.Cmd, e.Expect, v.Decision, v.Findings)
		}
		if e.Expect == "dangerous" {
			want := e.Decision
			if want == "" {
				want = known[e.Cmd]
			}
			switch {
			case want == "" && requireDecision:
				t.Errorf("%s: a dangerous entry must say its decision (ask or deny)", e.ID)
			case want != "" && ok && v.Decision.String() != want:
				t.Errorf("%s (%s): %q must %s, got %s %v", e.ID, e.Class, e.Cmd, want, v.Decision, rulesOf(v))
			}
		}
		if v.Findings == nil {
			t.Errorf("%s: Findings is nil", e.ID)
		}
	}
	classes := make([]string, 0, len(perClass))
	for k := range perClass {
		classes = append(classes, k)
	}
	sort.Strings(classes)
	for _, k := range classes {
		t.Logf("%-28s %3d/%-3d", k, perClass[k].ok, perClass[k].total)
	}
	if dangerN > 0 {
		t.Logf("dangerous caught: %d/%d (%.1f%%)", dangerOK, dangerN, 100*float64(dangerOK)/float64(dangerN))
	}
	if safeN > 0 {
		t.Logf("safe allowed:     %d/%d (%.1f%%); false-positive rate %.1f%%", safeOK, safeN,
			100*float64(safeOK)/float64(safeN), 100*float64(safeN-safeOK)/float64(safeN))
	}
}

func TestCorpusSample(t *testing.T) { runCorpus(t, "testdata/corpus-sample.jsonl", true) }

// testdataFiles are the committed corpora; each dangerous entry carries
// its decision.
var testdataFiles = []string{"testdata/corpus-sample.jsonl", "testdata/extra.jsonl", "testdata/round2.jsonl"}

// testdataDecisions maps each committed dangerous command to its decision.
func testdataDecisions(t testing.TB) map[string]string {
	m := map[string]string{}
	for _, p := range testdataFiles {
		for _, e := range loadCorpus(t, p) {
			if e.Decision != "" {
				m[e.Cmd] = e.Decision
			}
		}
	}
	return m
}

// sharedCorpus finds the team's shared sample beside the repository (or
// beside the directory holding its worktrees); testdata holds the copy
// taken when it was written.
func sharedCorpus() (string, bool) {
	for _, p := range []string{"../../shared/corpus-sample.jsonl", "../../../shared/corpus-sample.jsonl"} {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// TestCorpusShared runs the shared sample as it is now, so that a newer
// sample is checked without waiting for the copy to be refreshed.
func TestCorpusShared(t *testing.T) {
	p, ok := sharedCorpus()
	if !ok {
		t.Skip("no shared corpus beside the repository; testdata's copy is checked by TestCorpusSample")
	}
	runCorpus(t, p, false)
}

func TestCorpusExtra(t *testing.T) {
	entries := loadCorpus(t, "testdata/extra.jsonl")
	safe := 0
	for _, e := range entries {
		if e.Expect == "safe" {
			safe++
		}
	}
	if len(entries) < 200 || safe < 100 {
		t.Fatalf("extra corpus too small: %d entries, %d safe", len(entries), safe)
	}
	runCorpus(t, "testdata/extra.jsonl", true)
}

// TestCorpusFindingsAreCatalogued: every rule a finding names is in the
// catalog, so its decision is deliberate and `hermes-exec rules` lists it.
func TestCorpusFindingsAreCatalogued(t *testing.T) {
	c, _ := NewClassifier(Rules{Deny: []string{"git push"}})
	for _, path := range testdataFiles {
		for _, e := range loadCorpus(t, path) {
			for _, f := range c.Classify(e.Cmd).Findings {
				if _, ok := catalogIndex()[RuleID(f.Rule)]; !ok {
					t.Errorf("%s: finding rule %q is not in the catalog", e.ID, f.Rule)
				}
				if f.Description == "" || f.Command == "" || f.Pos == "" {
					t.Errorf("%s: finding %q lacks description, command or pos: %+v", e.ID, f.Rule, f)
				}
			}
		}
	}
}

// TestCorpusRound2: issue 15's classes (service CLIs, option spellings,
// paths, identities), dangerous and everyday look-alikes.
func TestCorpusRound2(t *testing.T) { runCorpus(t, "testdata/round2.jsonl", true) }
