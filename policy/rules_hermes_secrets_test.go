package policy

import (
	"strings"
	"testing"

	"hermes-exec/internal/hermeshome"
)

// srvHermesClassifier classifies for alice with HERMES_HOME=/srv/hermes
// (besides her ~/.hermes).
func srvHermesClassifier(t *testing.T) *Classifier {
	t.Helper()
	custom := aliceContext()
	custom.HermesHome = "/srv/hermes"
	return mustClassifier(t, Rules{Context: custom})
}

// The agent's own secrets in HERMES_HOME (hermeshome.Secrets): reading one
// asks (or is denied), however it is spelled; names, the configuration and the audit log
// stay readable; writing any of them is denied.
func TestHermesSecretsReadAsks(t *testing.T) {
	c := srvHermesClassifier(t)
	for _, tc := range []struct {
		cmd  string
		want Decision
	}{
		{"cat ~/.hermes/.env", Ask},
		{"cat /srv/hermes/.env", Ask},
		{"cp /srv/hermes/age-identity.txt /tmp/x", Ask},
		{"tar czf /tmp/h.tgz /srv/hermes", Ask},
		{"grep -r KEY ~/.hermes", Ask},
		{"wc -c < /srv/hermes/.env", Ask},
		{"x=$(< ~/.hermes/.env)", Ask},
		{"source /srv/hermes/.env", Ask},
		{". ~/.hermes/.env", Ask},
		{"cat /srv/hermes/gateway-key.pem", Ask},
		{"cat /srv/hermes/pairing/web.json", Ask},
		{"cat /srv/hermes/run/hook-grants/*", Ask},
		{"cat /srv/hermes/run/state.key", Ask},
		{"cat /srv/hermes/.e*", Ask},
		{"cd /srv/hermes && cat .env", Ask},
		{"cd /srv/hermes/run && tar cf - .", Ask},
		{"base64 --input=/srv/hermes/.env", Ask},
		{"hermes-exec secrets get OPENAI_API_KEY", Ask},
		{"python3 -c 'print(open(\"/srv/hermes/\" + \".env\").read())'", Ask},
		{"ls /srv/hermes", Allow},
		{"ls -la ~/.hermes/.env", Allow},
		{"cat /srv/hermes/config.yaml", Allow},
		{"cat /srv/hermes/audit.jsonl", Allow},
		{"cat /srv/hermes/.env.age.names", Allow},
		{"cat .env.example", Allow},
		{"hermes-exec audit --tail 5", Allow},
		{"hermes-exec secrets list", Allow},
		// Writes: denied outright.
		{"echo '{}' > /srv/hermes/run/hook-grants/x.json", Deny},
		{"touch /srv/hermes/pairing/web.json", Deny},
		{"cp /tmp/p.json ~/.hermes/pairing/web.json", Deny},
		{"hermes-exec secrets set X", Deny},
		{"hermes-exec audit verify --reanchor", Deny},
		{"hermes-exec audit verify", Allow},
		// The shell expands globs, in redirections too: a glob that can
		// name a Hermes home names it (the review found ~/.herm*/...
		// passing both the write denial and the read rule). A directory
		// above the home, given to a program that reads everything below
		// it, reads the secrets.
		{"echo x > ~/.herm*/config.yaml", Deny},
		{"cp /tmp/c ~/.h?rmes/config.yaml", Deny},
		{"sed -i s/a/b/ ~/.herm?s/config.yaml", Deny},
		{": > ~/.herm*/audit.jsonl", Deny},
		{"cp /dev/null /srv/h*/audit.anchor", Deny},
		{"echo x > /home/*/.hermes/config.yaml", Deny},
		{"base64 ~/.h*/run/state.key", Ask},
		{"cat ~/.herm*/.env", Ask},
		{"cat ~/.herm[!x]s/.env", Ask},
		{"cat /s?v/hermes/.env", Ask},
		{"cat ~/.@(hermes)/.env", Ask},
		{"tar c ~", Ask},
		{"tar czf /tmp/all.tgz /", Ask},
		{"grep -r KEY ~", Ask},
		{"rsync -a /srv /backup", Ask},
		{"cp -r ~ /tmp/copy", Ask},
		// Not the home: a pattern without a leading dot names no
		// dot-file, and these programs read only names or one file.
		{"cat ~/*.txt", Allow},
		{"ls ~/*", Allow},
		{"du -sh ~/*", Allow},
		{"find ~ -name '*.go'", Allow},
		{"grep -rn TODO .", Allow},
		{"cp -r ~/proj /tmp/p", Allow},
		// An extraction into ~ reads nothing there. (A whole archive
		// extracted over ~ asks as a write that may replace the Hermes
		// config: TestTarDirectory; a named member does not.)
		{"tar xzf b.tgz -C ~ docs", Allow},
		{"cat ~/.herx*/x", Allow},
	} {
		v := c.Classify(tc.cmd)
		if tc.want == Allow && v.Decision != Allow || v.Decision < tc.want {
			t.Errorf("%q: %v %v, want %v", tc.cmd, v.Decision, rulesOf(v), tc.want)
		}
	}
}

// Every entry of the one list (hermeshome.Controls, hermeshome.Secrets) is
// covered: a write, delete or rename of a control file is denied, a read
// of a secret asks, in the default home and in a HERMES_HOME elsewhere.
func TestHermesControlListCovered(t *testing.T) {
	c := srvHermesClassifier(t)
	for _, home := range []string{"~/.hermes", "/srv/hermes"} {
		for _, f := range hermeshome.Controls {
			p := home + "/" + strings.ReplaceAll(f, "*", "20261201T000000Z")
			for _, text := range []string{"echo x > " + p, "rm -f " + p, "mv " + p + " /tmp/x", "cp /tmp/x " + p, "ln -sf /tmp/x " + p} {
				if v := c.Classify(text); v.Decision != Deny {
					t.Errorf("%q: %v %v, want deny", text, v.Decision, rulesOf(v))
				}
			}
		}
		for _, f := range hermeshome.Secrets {
			text := "cat " + home + "/" + f
			if v := c.Classify(text); v.Decision < Ask {
				t.Errorf("%q: %v, want ask", text, v.Decision)
			}
		}
	}
}
