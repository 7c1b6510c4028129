package policy

import "testing"

// Red team 3's findings in the classifier, each allowed before its fix
// and reproduced end to end with the real binaries (tests/redteam3_test.go).
func TestRedteam3(t *testing.T) {
	c := mustClassifier(t, Rules{Context: selfContext()})
	for _, tc := range []struct {
		cmd  string
		want Decision
	}{
		// G3: bash's command table runs any file under any name: `hash -p
		// /bin/rm ls; ls -rf DIR` ran rm -rf, and with `exec -a
		// hermes-exec` a name mapped to hermes-exec-admin passed its own
		// name check. The name is judged as the program it maps to.
		{"hash -p /bin/rm ls; ls -rf /srv/x", Ask},
		{"hash -p/bin/rm ls; ls -rf /srv/x", Ask},
		{"hash -rp /bin/rm ls; ls -rf /srv/x", Ask},
		{"hash -p /usr/bin/git st; st reset --hard", Ask},
		{"hash -p /usr/local/bin/hermes-exec-admin foo; exec -a hermes-exec foo yolo on", Deny},
		{"hash -p ./tools/rm ls; ls -rf /srv/x", Ask},
		{`hash -p "$p" ls`, Ask},
		{"hash -p /bin/rm $n", Ask},
		{"BASH_CMDS[ls]=/bin/rm; ls -rf /srv/x", Ask},
		{"BASH_CMDS=([ls]=/bin/rm); ls -rf /srv/x", Ask},
		{"declare -A BASH_CMDS=([ls]=/bin/rm)", Ask},
		{"BASH_CMDS+=([ls]=/bin/rm)", Ask},
		{"printf -v 'BASH_CMDS[ls]' /bin/rm", Ask},
		{"read 'BASH_CMDS[ls]' <<< /bin/rm", Ask},
		{"declare -n t=BASH_CMDS; t[ls]=/bin/rm", Ask},
		// The alias table likewise: with expand_aliases, BASH_ALIASES[ls]
		// makes ls an alias the walk never saw.
		{"BASH_ALIASES[ls]='rm -rf'", Ask},
		{"printf -v 'BASH_ALIASES[ls]' 'rm -rf'", Ask},
		// Controls.
		{"hash", Allow},
		{"hash -r", Allow},
		{"hash ls git", Allow},
		{"hash -p /usr/bin/ls l; l -la", Allow},
		{"hash -t ls", Allow},
		{"echo BASH_CMDS", Allow},

		// G5: tar -P keeps the archive's absolute names: it writes
		// wherever they say, the Hermes home included, from any
		// directory.
		{"cd /tmp && tar -xPf /tmp/a.tar", Ask},
		{"tar -xf /tmp/a.tar -P -C /tmp/out", Ask},
		{"tar --absolute-names -xf /tmp/a.tar", Ask},
		{"tar xPf /tmp/a.tar", Ask},
		{"tar -xPf /tmp/a.tar docs/", Ask},
		{"tar -cPf /tmp/a.tar /srv/app", Allow},
		{"tar -tPf /tmp/a.tar", Allow},
		{"tar -xf /tmp/a.tar -C /tmp/out", Allow},

		// G9: patch writes the files its diff names: run over a
		// directory that holds the Hermes home it may create
		// .hermes/config.yaml.
		{"patch -d /home/alice -p1 < /tmp/p.diff", Ask},
		{"cd ~ && patch -p1 < /tmp/p.diff", Ask},
		{"patch --directory=/home/alice -p0 -i /tmp/p.diff", Ask},
		{"patch -p1 < /tmp/p.diff", Allow},
		{"patch -d /tmp/src -p1 < /tmp/p.diff", Allow},
		{"cd ~ && patch notes.txt < /tmp/p.diff", Allow},

		// unzip -: keeps ../ in names.
		{"unzip -: /tmp/a.zip -d /tmp/x", Ask},
		{"unzip -o: /tmp/a.zip", Ask},
		{"unzip -o /tmp/a.zip -d /tmp/x", Allow},

		// G6: a hard link to one of hermes-exec's programs is the
		// program under a second name: `ln ~/.local/bin/hermes-exec-admin
		// ~/h; cp x ~/h` rewrote hermes-exec-admin itself.
		{"ln ~/.local/bin/hermes-exec-admin ~/h", Deny},
		{"ln /home/alice/.local/bin/hermes-exec ~/h", Deny},
		{"ln -f ~/.local/lib/hermes-exec/bash /tmp/b", Deny},
		{"ln ~/.local/bin/hermes-exec-admin -t /tmp/d", Deny},
		{"cd ~/.local/bin && ln hermes-exec-admin /tmp/h", Deny},
		{"cp -l ~/.local/bin/hermes-exec-admin /tmp/h", Deny},
		{"cp --link ~/.local/bin/hermes-exec /tmp/h", Deny},
		{"ln ~/.local/bin/hermes-ex* /tmp/d/", Deny},
		// Controls: a symbolic link to it (writing through one is a
		// write of the link's target name, which cp resolves to the
		// link itself: the classifier sees the link), a copy.
		{"ln -s ~/.local/bin/hermes-exec-admin /tmp/a", Allow},
		{"cp ~/.local/bin/hermes-exec /tmp/he", Allow},
		{"ln ~/.local/bin/jq /tmp/jq", Allow},
	} {
		if v := c.Classify(tc.cmd); v.Decision != tc.want {
			t.Errorf("%s: got %s %v, want %s", tc.cmd, v.Decision, rulesOf(v), tc.want)
		}
	}
}

// A text that sets HOME moves ~ and $HOME, which the classifier judges as
// the caller's home: `HOME=/srv; rm -rf ~/data` deleted /srv/data.
func TestRedteam3HomeSetInTheText(t *testing.T) {
	c := mustClassifier(t, Rules{Context: aliceContext()})
	for _, tc := range []struct {
		cmd  string
		want Decision
	}{
		{"HOME=/srv; rm -rf ~/data", Ask},
		{`HOME=/srv; rm -rf "$HOME"/data`, Ask},
		{`HOME=/srv; rm -rf "${HOME}/data"`, Ask},
		{"export HOME=/; rm -rf ~/srv", Ask},
		{"read HOME <<< /srv; rm -rf ~/data", Ask},
		{"printf -v HOME /srv; rm -rf ~/data", Ask},
		{"for HOME in /srv; do rm -rf ~/data; done", Ask},
		{"echo 'HOME=/srv' > /tmp/h; . /tmp/h; rm -rf ~/data", Ask},
		{"bash -c 'HOME=/srv; rm -rf ~/data'", Ask},
		// The home's own protections hold as before.
		{"HOME=/tmp/x; echo x > ~/.hermes/config.yaml", Deny},
		// Controls.
		{"rm -rf ~/data", Allow},
		{`rm -rf "$HOME/build"`, Allow},
		{"JAVA_HOME=/opt/jdk; rm -rf ~/build", Allow},
		{"HOME=/tmp/h npm test", Allow},
		{"cd $HOME && rm -rf build", Allow},
		{`echo "HOME is $HOME"`, Allow},
		{"grep HOME ~/.bashrc", Allow},
		{"printenv HOME; ls ~", Allow},
	} {
		if v := c.Classify(tc.cmd); v.Decision != tc.want {
			t.Errorf("%s: got %s %v, want %s", tc.cmd, v.Decision, rulesOf(v), tc.want)
		}
	}
}
