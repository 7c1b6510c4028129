package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// The texts agents wrap every command in (captured from the real CLIs)
// must stay allowed: a rule that asks about one of them stops every
// command of that agent. Codex 0.171's shell snapshot runs `declare -xp
// "$name"` for each exported variable.
func TestAgentWrapperTextsAreAllowed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "agents", "*.sh"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no agent texts in testdata/agents: %v", err)
	}
	c := mustClassifier(t, Rules{Context: selfContext()})
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if v := c.Classify(string(b)); v.Decision != Allow {
			t.Errorf("%s: %v %+v", filepath.Base(f), v.Decision, v.Findings)
		}
	}
}
