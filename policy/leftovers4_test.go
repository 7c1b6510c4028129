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
		{`declare -x "$n=1"`, Ask},
		{`export "$n"`, Ask},
		// declare -p only prints (Codex's shell snapshot); export -p and
		// readonly -p still assign.
		{`declare -xp "$n"`, Allow},
		{`declare -p "$n" 2>/dev/null || true`, Allow},
		{`typeset -p "$n"`, Allow},
		{`export -p "$n=1"`, Ask},
		{`readonly -p "$n=1"`, Ask},
		{`export -p HERMES_YOLO=1`, Deny},
		{`export "$n=1"`, Ask},
		{`declare "HERMES_YOLO=$v"`, Deny},
		{`read "BASH_CMDS[$k]" <<< /bin/rm`, Ask},
		{`mapfile -C 'rm -rf /srv/x' -c 1 a < /tmp/f`, Ask},
		// Other extractors over a directory that holds the Hermes home
		// (/home/alice/.hermes) write names from the archive there.
		{"cd ~ && git apply /tmp/p.diff", Ask},
		{"git -C /home/alice apply /tmp/p.diff", Ask},
		{"cd /home/alice/proj && git apply --directory=.. /tmp/p.diff", Ask},
		{"cd ~ && git am /tmp/0001.patch", Ask},
		{"cd ~ && git apply --check /tmp/p.diff", Allow},
		{"cd ~ && git apply --stat /tmp/p.diff", Allow},
		{"cd ~/proj && git apply /tmp/p.diff", Allow},
		{"git apply /tmp/p.diff", Allow},
		{"git am -3 /tmp/0001.patch", Allow},
		{"cd /tmp && cpio -idm < /tmp/a.cpio", Ask},
		{"cpio -idm --no-absolute-filenames -D ~ < /tmp/a.cpio", Ask},
		{"cd ~ && cpio -i --no-absolute-filenames < /tmp/a.cpio", Ask},
		{"cd /tmp/x && cpio -idm --no-absolute-filenames < /tmp/a.cpio", Allow},
		{"cpio -it < /tmp/a.cpio", Allow},
		{"find . | cpio -pdm ~", Ask},
		{"find . | cpio -pdm /tmp/copy", Allow},
		{"find . | cpio -o > /tmp/a.cpio", Allow},
		{"7z x /tmp/a.7z -o/home/alice", Ask},
		{"7z x /tmp/a.7z -o$HOME", Ask},
		{"cd ~ && 7za x /tmp/a.7z", Ask},
		{"7z x -spf /tmp/a.7z -o/tmp/x", Ask},
		{"7z x /tmp/a.7z -o/tmp/x", Allow},
		{"7z l /tmp/a.7z", Allow},
		{"cd ~ && 7z a /tmp/a.7z proj", Allow},
		{"python3 -m tarfile -e /tmp/a.tar ~", Ask},
		{"python3 -m tarfile -e /tmp/a.tar /tmp/x", Ask},
		{"python3 -m tarfile --filter data -e /tmp/a.tar /tmp/x", Allow},
		{"python3 -m tarfile --filter=data -e /tmp/a.tar ~", Ask},
		{"python3 -m zipfile -e /tmp/a.zip ~", Ask},
		{"python3 -m zipfile -e /tmp/a.zip /tmp/x", Allow},
		{"python3 -m tarfile -l /tmp/a.tar", Allow},
		{"python3 -m zipfile -c /tmp/a.zip src", Allow},
		{"cd ~ && jar xf /tmp/a.zip", Ask},
		{"cd ~ && jar -xf /tmp/a.jar", Ask},
		{"jar --extract --file /tmp/a.jar --dir /home/alice", Ask},
		{"cd /tmp/x && jar xf /tmp/a.jar", Allow},
		{"cd ~ && jar tf /tmp/a.jar", Allow},
		{"cd ~ && jar cf /tmp/a.jar proj", Allow},
		{"cd ~ && ar x /tmp/lib.a", Ask},
		{"ar x /tmp/lib.a --output /home/alice", Ask},
		{"cd /tmp/x && ar x /tmp/lib.a", Allow},
		{"cd ~ && ar t /tmp/lib.a", Allow},
		{"cd ~ && ar rcs /tmp/lib.a a.o", Allow},
		{"cd ~ && pax -r -f /tmp/a.pax", Ask},
		{"cd /tmp && pax -rw src /home/alice", Ask},
		{"cd /tmp/x && pax -r -f /tmp/a.pax", Allow},
		{"cd ~ && pax -w -f /tmp/a.pax proj", Allow},
		{"cd ~ && bsdtar -xf /tmp/a.tar", Ask},
		{"bsdtar -xf /tmp/a.tar -C /tmp/x", Allow},
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
