package policy

import "testing"

// tar -C DIR, however it is spelled, is judged as `cd DIR && tar ...`:
// what it extracts into DIR, and the names after it as DIR/NAME, read or
// written. Each case here was allowed before (or judged against the
// wrong directory), except where marked as a control.
func TestTarDirectory(t *testing.T) {
	c := srvHermesClassifier(t)
	for _, tc := range []struct {
		cmd  string
		want Decision
		rule RuleID
	}{
		// Extracting into a system directory, each spelling of -C.
		{"tar -C/etc -xf /tmp/a.tar", Ask, RuleSysconfigWrite},
		{"tar -xC /etc -f /tmp/a.tar", Ask, RuleSysconfigWrite},
		{"tar -xC/etc -f /tmp/a.tar", Ask, RuleSysconfigWrite},
		{"tar xfC /tmp/a.tar /etc", Ask, RuleSysconfigWrite},
		{"tar --dir /etc -xf /tmp/a.tar", Ask, RuleSysconfigWrite},
		{"tar --cd=/usr/bin -xf /tmp/a.tar", Ask, RuleSysconfigWrite},
		{"tar xf a.tar -C /etc", Ask, RuleSysconfigWrite},                // control
		{"tar --directory=/etc -xf /tmp/a.tar", Ask, RuleSysconfigWrite}, // control
		{"tar -C /usr -C bin -xf /tmp/a.tar", Ask, RuleSysconfigWrite},   // -C is relative to the -C before it
		// Names after -C are DIR/NAME: extracted (written) ...
		{"tar -C ~ -xf /tmp/a.tar .hermes/config.yaml", Deny, RuleSelfDisableWrite},
		{"tar -C /srv -xf /tmp/a.tar hermes/config.yaml", Deny, RuleSelfDisableWrite},
		{"tar -C /srv -C hermes -xf /tmp/a.tar config.yaml", Deny, RuleSelfDisableWrite},
		{"cd ~ && tar xf /tmp/a.tar .hermes/config.yaml", Deny, RuleSelfDisableWrite},
		{"tar -xf /tmp/a.tar -C ~ .bashrc", Ask, RuleSysconfigShellStartup},
		// ... or archived (read).
		{"tar -C /srv -czf - hermes", Ask, RuleSelfSecretRead},
		{"tar -C ~ -cf - .hermes/.env", Ask, RuleSelfSecretRead},
		{"tar -C /srv/hermes -cf - .env", Ask, RuleSelfSecretRead},
		{"tar --directory /srv -cf /tmp/h.tar hermes/run/state.key", Ask, RuleSelfSecretRead},
		{"tar cfC /tmp/h.tar /srv hermes", Ask, RuleSelfSecretRead},
		{"tar -C /tmp -C /srv/hermes -cf - .", Ask, RuleSelfSecretRead},
		// The archive is written where tar started, not below -C.
		{"tar -C /tmp -cf /etc/x.tar foo", Ask, RuleSysconfigWrite},
		// Controls: everyday use stays allowed.
		{"tar -C ~ -czf - proj", Allow, ""},
		// A whole archive extracted over a directory that holds a Hermes
		// home may carry .hermes/config.yaml (redteam F3): asked, as
		// `cp -r DIR/. ~/` is. A named member, another directory, a
		// listing and an extraction onto stdout stay allowed.
		{"tar xzf b.tgz -C ~", Ask, RuleSysconfigWrite},
		{"tar -xf /tmp/a.tar -C ~", Ask, RuleSysconfigWrite},
		{"cd ~ && tar xf /tmp/a.tar", Ask, RuleSysconfigWrite},
		{"tar -C ~ -xf /tmp/a.tar .", Ask, RuleSysconfigWrite},
		{"tar -C / -xf /tmp/a.tar home", Ask, RuleSysconfigWrite},
		{"tar -C /srv -xf /tmp/a.tar", Ask, RuleSysconfigWrite},
		{"unzip -o /tmp/a.zip -d ~", Ask, RuleSysconfigWrite},
		{"cd ~ && unzip /tmp/a.zip", Ask, RuleSysconfigWrite},
		{"tar -C ~ -xf /tmp/a.tar docs", Allow, ""},
		{"tar xzf b.tgz -C /tmp/out", Allow, ""},
		{"tar xzf b.tgz", Allow, ""},
		{"cd /tmp && tar xf a.tar", Allow, ""},
		{"tar -tf /tmp/a.tar -C ~", Allow, ""},
		{"tar -xOf /tmp/a.tar -C ~", Allow, ""},
		{"unzip /tmp/a.zip", Allow, ""},
		{"unzip -l /tmp/a.zip -d ~", Allow, ""},
		{"unzip /tmp/a.zip -d /tmp/out", Allow, ""},
		{"tar -C build -czf dist.tgz .", Allow, ""},
		{"tar -xzf release.tar.gz -C /tmp/x", Allow, ""},
		{"tar -C /srv/hermes -cf - config.yaml", Allow, ""},
		{"tar -C /etc -cf /tmp/etc.tar hosts", Allow, ""},
		{"tar -tvf a.tar -C /etc", Allow, ""},
	} {
		v := c.Classify(tc.cmd)
		found := tc.rule == ""
		for _, f := range v.Findings {
			found = found || RuleID(f.Rule) == tc.rule
		}
		if tc.want == Allow && v.Decision != Allow || v.Decision < tc.want || !found {
			t.Errorf("%q: %v %v, want %v %s", tc.cmd, v.Decision, rulesOf(v), tc.want, tc.rule)
		}
	}
}

// An extraction in a working directory that holds the Hermes home is
// judged there, though the directory is not one the classifier makes
// absolute (/srv/x is neither the home nor a top-level directory).
func TestTarOverHermesFromCwd(t *testing.T) {
	ctx := aliceContext()
	ctx.HermesHome, ctx.Cwd = "/srv/x/hermes", "/srv/x"
	c := mustClassifier(t, Rules{Context: ctx})
	for cmd, want := range map[string]Decision{
		"tar xf /tmp/a.tar":           Ask,
		"unzip /tmp/a.zip":            Ask,
		"tar xf /tmp/a.tar -C sub":    Allow,
		"cd sub && tar xf /tmp/a.tar": Allow,
		"tar xf /tmp/a.tar docs":      Allow,
		"cd .. && tar xf /tmp/a.tar":  Ask, // /srv holds it too
	} {
		if v := c.Classify(cmd); v.Decision != want {
			t.Errorf("%q: %v %v, want %v", cmd, v.Decision, rulesOf(v), want)
		}
	}
}
