package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Red-team: on the host backend the environment filter keeps the agent's
// keys out of a command's environment, but the command can read the file
// they come from. Reading the agent's own secrets in HERMES_HOME must ask
// (with nobody to ask: denied), however it is spelled, and nothing of the
// secret may reach the command's output.
func TestRedteamReadingHermesSecretsAsks(t *testing.T) {
	e := newEnv(t)
	const secret = "sk-redteam-0123456789abcdef"
	for name, body := range map[string]string{
		".env":                   "OPENAI_API_KEY=" + secret + "\n",
		"age-identity.txt":       "AGE-SECRET-KEY-1" + strings.ToUpper(secret) + "\n",
		"gateway-key.pem":        "-----BEGIN EC PRIVATE KEY-----\n" + secret + "\n",
		"pairing/web.json":       `{"approved":[{"id":"` + secret + `"}]}`,
		"run/hook-grants/a.json": `{"key":"` + secret + `"}`,
	} {
		p := filepath.Join(e.home, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h := e.home
	out := filepath.Join(e.dir, "copy")
	for _, text := range []string{
		"cat " + h + "/.env",
		"cat /dev/null " + h + "/.e*",
		"cp " + h + "/.env " + out + " && cat " + out,
		"tar cf - " + h + " | cat",
		"grep -r KEY " + h,
		"cat < " + h + "/.env",
		"source " + h + "/.env && echo $OPENAI_API_KEY",
		"cd " + h + " && cat .env",
		"cat " + h + "/age-identity.txt",
		"cat " + h + "/gateway-key.pem",
		"cat " + h + "/pairing/web.json",
		"cat " + h + "/run/hook-grants/*",
		"python3 -c 'print(open(\"" + h + "/.env\").read())'",
	} {
		r := e.run(nil, "-c", text)
		if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied") {
			t.Errorf("%q: exit %d, stderr %q; want a denial (nobody to ask)", text, r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(strings.ToLower(r.stdout), strings.ToLower(secret)) {
			t.Errorf("%q: the secret reached the output", text)
		}
	}
	// The names, the configuration and the audit log stay readable.
	for _, text := range []string{"ls -a " + h, "cat " + h + "/audit.jsonl >/dev/null"} {
		if r := e.run(nil, "-c", text); r.code != 0 {
			t.Errorf("%q: exit %d %s", text, r.code, r.stderr)
		}
	}
}
