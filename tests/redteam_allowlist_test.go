package tests

import "testing"

// Red-team: "Always" writes the dangerous command's argv into the
// allowlist, and entries match argv prefixes. An entry whose own words are
// dangerous (rm -rf /srv/build) must not let a longer command through that
// is dangerous for another reason (rm -rf /srv/build /): the human said
// yes to the first, not to the second.
func TestRedteamAllowlistEntryCoversOnlyItsOwnDanger(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  allowlist:\n    - rm -rf /srv/build\n    - git push\n")
	cases := []struct {
		cmd  string
		code int // hermes-exec check: 0 allow, 1 ask
	}{
		{"rm -rf /srv/build", 0},
		{"rm -rf /srv/build /", 1},
		{"rm -rf /srv/build ~", 1},
		{"rm -rf /srv/build --no-preserve-root /", 1},
		// An entry that raises nothing itself keeps its documented
		// prefix meaning.
		{"git push --force origin main", 0},
	}
	// Only classified (check), never run: run through a binary with the
	// break, these commands would really delete what they name.
	for _, c := range cases {
		r := e.run(nil, "check", "-c", c.cmd)
		if r.code != c.code {
			t.Errorf("check %q: exit %d, want %d\n%s%s", c.cmd, r.code, c.code, r.stdout, r.stderr)
		}
	}
}
