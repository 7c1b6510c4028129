package tests

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Red-team: a secret reaches the audit log in a form the masking did not
// know: percent-encoded in a URL, base64-encoded, or as a JSON body's
// "token" field.
func TestRedteamSecretsMaskedInEncodedForms(t *testing.T) {
	e := newEnv(t)
	const secret = "s3cr3tV@lue/with+chars"
	cmds := []string{
		"echo https://x.example/?t=" + url.QueryEscape(secret) + " >/dev/null",
		"echo https://x.example/" + url.PathEscape(secret) + " >/dev/null",
		"echo " + base64.StdEncoding.EncodeToString([]byte(secret)) + " >/dev/null",
		"echo " + base64.RawURLEncoding.EncodeToString([]byte(secret)) + " >/dev/null",
		`echo "{\"token\": \"zq8Xw2Lp0vN4\"}" >/dev/null`,
		`echo '{"api_key":"zq8Xw2Lp0vN4"}' >/dev/null`,
	}
	for _, c := range cmds {
		if r := e.run([]string{"MY_API_TOKEN=" + secret}, "-c", c); r.code != 0 {
			t.Fatalf("%q: exit %d %s", c, r.code, r.stderr)
		}
	}
	b, err := os.ReadFile(filepath.Join(e.home, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	for _, leak := range []string{
		url.QueryEscape(secret), url.PathEscape(secret),
		base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"zq8Xw2Lp0vN4",
	} {
		if strings.Contains(log, leak) {
			t.Errorf("the audit log holds %q", leak)
		}
	}
	if n := strings.Count(log, "***"); n < len(cmds) {
		t.Errorf("%d masks in the log, want at least %d:\n%s", n, len(cmds), log)
	}
}
