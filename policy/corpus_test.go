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
	ID      string `json:"id"`
	Cmd     string `json:"cmd"`
	Expect  string `json:"expect"`
	Class   string `json:"class"`
	Evasion bool   `json:"evasion"`
	Note    string `json:"note"`
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
func runCorpus(t *testing.T, path string) {
	entries := loadCorpus(t, path)
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

func TestCorpusSample(t *testing.T) { runCorpus(t, "testdata/corpus-sample.jsonl") }

// sharedCorpus is the team's shared sample, beside the repository in
// checkouts and in CI; testdata holds the copy taken when it was written.
const sharedCorpus = "../../shared/corpus-sample.jsonl"

// TestCorpusShared runs the shared sample as it is now, so that a newer
// sample is checked without waiting for the copy to be refreshed.
func TestCorpusShared(t *testing.T) {
	if _, err := os.Stat(sharedCorpus); err != nil {
		t.Skipf("no shared corpus beside the repository (%v); testdata's copy is checked by TestCorpusSample", err)
	}
	runCorpus(t, sharedCorpus)
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
	runCorpus(t, "testdata/extra.jsonl")
}

// TestCorpusFindingsAreCatalogued: every rule a finding names is in the
// catalog, so its decision is deliberate and `check --rules` lists it.
func TestCorpusFindingsAreCatalogued(t *testing.T) {
	c, _ := NewClassifier(Rules{Deny: []string{"git push"}})
	for _, path := range []string{"testdata/corpus-sample.jsonl", "testdata/extra.jsonl"} {
		for _, e := range loadCorpus(t, path) {
			for _, f := range c.Classify(e.Cmd).Findings {
				if _, ok := catalogIndex[RuleID(f.Rule)]; !ok {
					t.Errorf("%s: finding rule %q is not in the catalog", e.ID, f.Rule)
				}
				if f.Description == "" || f.Command == "" || f.Pos == "" {
					t.Errorf("%s: finding %q lacks description, command or pos: %+v", e.ID, f.Rule, f)
				}
			}
		}
	}
}
