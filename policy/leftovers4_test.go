package policy

import "testing"

// Red team 3's residuals: variables set by read/printf -v/mapfile, names
// built at run time, other extractors over the Hermes home.
func TestLeftovers4(t *testing.T) {
	c := mustClassifier(t, Rules{Context: selfContext()})
	for _, tc := range []struct {
		cmd  string
		want Decision
	}{
		// read/printf -v/mapfile set a variable as NAME=value does (and
		// under set -a export it): judged as the assignment.
		{"set -a; read HERMES_YOLO <<< 1; hermes-exec ./x.sh", Deny},
		{"HERMES_YOLO=1", Deny},
		{"read -r HERMES_YOLO <<< 1", Deny},
		{"read -a HERMES_APPROVALS <<< 1", Deny},
		{"read x HERMES_HOME <<< 'a /tmp/h'", Deny},
		{"set -o allexport; printf -v HERMES_YOLO 1; hermes-exec ./x.sh", Deny},
		{"printf -v HERMES_SESSION_ID %s abc", Deny},
		{"mapfile -t HERMES_YOLO <<< 1", Deny},
		{"readarray HERMES_YOLO < /tmp/f", Deny},
		{"read LD_PRELOAD < /tmp/f", Ask},
		{"read HISTFILE <<< /dev/null", Ask},
		// Names built at run time may be any of them.
		{`printf -v "$n" %s /bin/rm`, Ask},
		{`read "$n" <<< 1`, Ask},
		{`read -r x "$n" <<< 'a b'`, Ask},
		{`declare "$n=1"`, Ask},
		{`export "$n=1"`, Ask},
		{`declare "HERMES_YOLO=$v"`, Deny},
		{`read "BASH_CMDS[$k]" <<< /bin/rm`, Ask},
		{`mapfile -C 'rm -rf /srv/x' -c 1 a < /tmp/f`, Ask},
		// Controls.
		{"read -r line", Allow},
		{"while IFS= read -r line; do echo \"$line\"; done < /tmp/f", Allow},
		{"read -p 'name? ' name", Allow},
		{"read -a parts <<< 'a b'", Allow},
		{`read -r "arr[$i]" <<< x`, Allow},
		{"printf -v x %s HERMES_YOLO", Allow},
		{"printf '%s\\n' HERMES_YOLO", Allow},
		{`printf -v "x_y" %s 1`, Allow},
		{"mapfile -t lines < /tmp/f", Allow},
		{`declare "x=$v"`, Allow},
		{`printf -v now '%(%s)T' -1`, Allow},
		{`printf "$fmt" a`, Allow},
	} {
		if got := c.Classify(tc.cmd); got.Decision != tc.want {
			t.Errorf("%q: %v, want %v (%v)", tc.cmd, got.Decision, tc.want, got.Findings)
		}
	}
}
