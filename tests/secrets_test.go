package tests

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func (e *env) setSecret(name, value string) {
	e.t.Helper()
	c := e.cmd(nil, "secrets", "set", name)
	c.Stdin = strings.NewReader(value + "\n")
	if r := runCmd(e.t, c); r.code != 0 {
		e.t.Fatalf("secrets set %s: %+v", name, r)
	}
}

// A value set with `secrets set` reaches no command that env_passthrough
// does not allow, is redacted in the audit log, and is not on disk in
// clear.
func TestSecretsAtRest(t *testing.T) {
	e := newEnv(t)
	const plainName, plainValue = "DEPLOY_TARGET_URL", "zz-plain-looking-4417"
	const keyName, keyValue = "SERVICE_TOKEN", "tok-9f8e7d6c5b4a3210"
	e.setSecret(plainName, plainValue)
	e.setSecret(keyName, keyValue)

	// The agent loaded them into its environment, as it does with .env.
	agentEnv := []string{plainName + "=" + plainValue, keyName + "=" + keyValue}
	r := e.run(agentEnv, "-c", "env; printenv "+plainName+" || echo not-passed")
	if r.code != 0 || strings.Contains(r.stdout, plainValue) || strings.Contains(r.stdout, keyValue) || !strings.Contains(r.stdout, "not-passed") {
		t.Fatalf("a secret reached the command:\n%s", r.stdout)
	}
	// Redacted in the audit log even when the caller's environment does
	// not hold the value: it is decrypted from .env.age.
	if r := e.run(nil, "-c", "echo "+plainValue+" "+keyValue); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	rec := e.lastAudit()
	if cmd := rec["command"].(string); strings.Contains(cmd, plainValue) || strings.Contains(cmd, keyValue) || !strings.Contains(cmd, "***") {
		t.Fatalf("audit command not redacted: %q", cmd)
	}
	// Nothing under HERMES_HOME (or the work directory) holds a value in
	// clear.
	for _, root := range []string{e.home, e.dir} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				b, _ := os.ReadFile(p)
				if bytes.Contains(b, []byte(plainValue)) || bytes.Contains(b, []byte(keyValue)) {
					t.Errorf("%s holds a secret in clear", p)
				}
			}
			return nil
		})
	}
	// env_passthrough lets exactly the listed one through, still redacted.
	e.writeConfig("terminal:\n  env_passthrough: [" + plainName + "]\n")
	r = e.run(agentEnv, "-c", "printenv "+plainName+"; printenv "+keyName+" || echo key-not-passed")
	if !strings.Contains(r.stdout, plainValue) || strings.Contains(r.stdout, keyValue) || !strings.Contains(r.stdout, "key-not-passed") {
		t.Fatalf("passthrough:\n%s", r.stdout)
	}
	// list, get, rm.
	if r := e.run(nil, "secrets", "list"); r.stdout != plainName+"\n"+keyName+"\n" {
		t.Fatalf("list: %q", r.stdout)
	}
	if r := e.run(nil, "secrets", "get", keyName); r.code != 0 || r.stdout != keyValue+"\n" {
		t.Fatalf("get: %+v", r)
	}
	if r := e.run(nil, "secrets", "rm", keyName); r.code != 0 {
		t.Fatalf("rm: %+v", r)
	}
	if r := e.run(nil, "secrets", "get", keyName); r.code == 0 {
		t.Fatalf("get after rm: %+v", r)
	}
	// doctor sees the store and finds no error in it.
	if rep, _ := e.doctor(); !rep.find("secrets", "ok", "1 names in .env.age") {
		t.Fatalf("doctor: %+v", rep.Results)
	}
}

// When nothing can tell which names .env.age defines (no names list, no
// key), commands are denied rather than run with those names unfiltered.
func TestSecretsFailClosed(t *testing.T) {
	e := newEnv(t)
	e.setSecret("SOME_NAME", "value-1234567")
	os.Remove(filepath.Join(e.home, ".env.age.names"))
	os.Rename(filepath.Join(e.home, "age-identity.txt"), filepath.Join(t.TempDir(), "moved"))
	r := e.run(nil, "-c", "echo hi")
	if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied: secrets:") || strings.Contains(r.stdout, "hi") {
		t.Fatalf("%+v", r)
	}
	if rep, r := e.doctor(); r.code != 1 || !rep.find("secrets", "error", "every command is denied") {
		t.Fatalf("doctor: %+v", rep.Results)
	}
}
