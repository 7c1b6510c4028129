package tests

import (
	"encoding/base64"
	"encoding/hex"
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

// Red-team: the secret is written so that no substring of the command is
// the secret: split by quotes ("sk-ab""cd..."), glued from quoted pieces,
// $'...' escapes, or inside a base64 blob (user:secret in a Basic
// header) or a hex dump. The audit log must hold none of it.
func TestRedteamSplitAndBlobSecretsMasked(t *testing.T) {
	e := newEnv(t)
	const secret = "sk-proj-Zq8Xw2Lp0vN4Tt7Y"
	half := len(secret) / 2
	cmds := []string{
		`echo "` + secret[:half] + `""` + secret[half:] + `" >/dev/null`,
		`echo ` + secret[:3] + `'` + secret[3:half] + `'"` + secret[half:] + `" >/dev/null`,
		`echo $'\x73` + secret[1:] + `' >/dev/null`,
		`echo "Authorization: Basic ` + base64.StdEncoding.EncodeToString([]byte("alice:"+secret)) + `" >/dev/null`,
		`echo "Authorization: Basic ` + base64.StdEncoding.EncodeToString([]byte("bo:"+secret)) + `" >/dev/null`,
		`echo ` + hex.EncodeToString([]byte("key="+secret)) + ` >/dev/null`,
	}
	for _, c := range cmds {
		if r := e.run([]string{"OPENAI_API_KEY=" + secret}, "-c", c); r.code != 0 {
			t.Fatalf("%q: exit %d %s", c, r.code, r.stderr)
		}
	}
	b, err := os.ReadFile(filepath.Join(e.home, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	for _, leak := range []string{secret, secret[half:], secret[3:half] + secret[half:], hex.EncodeToString([]byte(secret)),
		base64.StdEncoding.EncodeToString([]byte("alice:" + secret))[8:], base64.StdEncoding.EncodeToString([]byte("bo:" + secret))[8:]} {
		if strings.Contains(log, leak) {
			t.Errorf("the audit log holds %q", leak)
		}
	}
	if n := strings.Count(log, "***"); n < len(cmds) {
		t.Errorf("%d masks in the log, want at least %d:\n%s", n, len(cmds), log)
	}
}
