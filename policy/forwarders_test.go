package policy

import "testing"

// A shell snapshot like Codex's: a helper that runs its arguments, called
// with everyday programs.
const snapshotLike = `snap_cmd() {
  if command -v "$1" >/dev/null 2>&1; then
    "$@"
  else
    command -p "$@"
  fi
}
opts=$(set -o | snap_cmd awk '$2=="on"{print $1}')
count=$(printf '%s\n' "$opts" | snap_cmd sed '/^$/d' | snap_cmd wc -l | snap_cmd tr -d ' ')
echo "# setopts $count"
`

func TestForwardingFunctions(t *testing.T) {
	plain := mustClassifier(t, Rules{})
	withDeny := mustClassifier(t, Rules{Deny: []string{"terraform destroy"}})
	cases := []struct {
		text string
		want Decision
		rule string // a finding that must be there ("" for none)
	}{
		{snapshotLike, Allow, ""},
		{`f() { "$@"; }; f ls -la`, Allow, ""},
		{`f() { exec "$@"; }; f make test`, Allow, ""},
		// The call's arguments are what runs.
		{`f() { "$@"; }; f rm -rf /`, Ask, "delete-root"},
		{`f() { command -p "$@"; }; f git push --force`, Ask, "git-destructive"},
		{`f() { "$@"; }; f f git push --force`, Ask, "git-destructive"},
		{`f() { "$@"; }; f terraform destroy`, Deny, "user-deny"},
		{`f() { "$@"; }; f "$x"`, Ask, "dynamic-command-name"},
		// Not a plain "$@": still reported where it is defined.
		{`f() { "${@:2}"; }; f x ls`, Ask, "dynamic-command-name"},
		{`f() { $@; }; f ls`, Ask, "dynamic-command-name"},
		// A function that forwards to a forwarder is not followed.
		{`f() { "$@"; }; g() { f "$@"; }; g ls`, Ask, "dynamic-command-name"},
		// Exported functions reach child shells, which do not know them.
		{`f() { "$@"; }; export -f f; bash -c 'f rm -rf /'`, Ask, "dynamic-command-name"},
		{`f() { "$@"; }; declare -fx f; bash -c 'f ls'`, Ask, "dynamic-command-name"},
		{`set -a; f() { "$@"; }; bash -c 'f ls'`, Ask, "dynamic-command-name"},
		{`set -o allexport; f() { "$@"; }; f ls`, Ask, "dynamic-command-name"},
	}
	for _, tc := range cases {
		c := plain
		if tc.rule == "user-deny" {
			c = withDeny
		}
		v := c.Classify(tc.text)
		if v.Decision != tc.want {
			t.Errorf("%q: %v, want %v (%+v)", tc.text, v.Decision, tc.want, v.Findings)
			continue
		}
		if tc.rule == "" {
			continue
		}
		found := false
		for _, f := range v.Findings {
			found = found || f.Rule == tc.rule
		}
		if !found {
			t.Errorf("%q: no %s finding in %+v", tc.text, tc.rule, v.Findings)
		}
	}
}

func TestExportsFunctions(t *testing.T) {
	yes := []string{"export -f f", "export -fn f", "declare -fx f", "declare -x -f f", "typeset -xf f", "local -fx f", "set -a", "set -euao pipefail", "set -o allexport", "x; export -f f"}
	no := []string{"declare -f", "declare -xp NAME", "declare -f f", "export PATH", "set -o", "set -eu", "printf 'set -o %s\\n' x", "set -o | awk '{print}'"}
	for _, s := range yes {
		if !exportsFunctions(s) {
			t.Errorf("exportsFunctions(%q) = false", s)
		}
	}
	for _, s := range no {
		if exportsFunctions(s) {
			t.Errorf("exportsFunctions(%q) = true", s)
		}
	}
}
