package tests

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// A passphrase store, typed at a real terminal: the passphrase is asked on
// the terminal (twice for a new one), no identity file is made, commands
// still lose the names, and a wrong passphrase reads nothing.
func TestSecretsPassphraseOnATerminal(t *testing.T) {
	e := newEnv(t)
	const name, value = "BACKUP_THING", "pp-secret-value-8271"
	s := e.startTTY(false, nil, "secrets", "set", name, "--passphrase")
	s.waitScreen("value for "+name, 10*time.Second)
	s.send(value + "\n")
	s.waitScreen("passphrase for", 10*time.Second)
	s.send("correct horse battery\n")
	s.waitScreen("again:", 10*time.Second)
	s.send("correct horse battery\n")
	if code := s.wait(60 * time.Second); code != 0 {
		t.Fatalf("secrets set --passphrase: exit %d\n%s", code, s.screenText())
	}
	if strings.Contains(s.screenText(), value) || strings.Contains(s.screenText(), "correct horse") {
		t.Fatalf("a typed secret was echoed:\n%s", s.screenText())
	}
	if _, err := os.Stat(filepath.Join(e.home, "age-identity.txt")); err == nil {
		t.Fatal("a passphrase store made an identity file")
	}
	b, _ := os.ReadFile(filepath.Join(e.home, ".env.age"))
	if !bytes.Contains(b, []byte("-> scrypt ")) || bytes.Contains(b, []byte(value)) {
		t.Fatalf(".env.age is not a passphrase-encrypted age file")
	}
	// No key at hand: the names list still keeps the variable from
	// commands, and its value (from the agent's environment) is redacted.
	r := e.run([]string{name + "=" + value}, "-c", "printenv "+name+" || echo not-passed; echo "+value)
	if r.code != 0 || !strings.Contains(r.stdout, "not-passed") {
		t.Fatalf("%+v", r)
	}
	if cmd := e.lastAudit()["command"].(string); strings.Contains(cmd, value) {
		t.Fatalf("not redacted: %q", cmd)
	}
	g := e.startTTY(false, nil, "secrets", "get", name)
	g.waitScreen("passphrase for", 10*time.Second)
	g.send("correct horse battery\n")
	if code := g.wait(60 * time.Second); code != 0 || !strings.Contains(g.screenText(), value) {
		t.Fatalf("get: exit %d\n%s", code, g.screenText())
	}
	w := e.startTTY(false, nil, "secrets", "get", name)
	w.waitScreen("passphrase for", 10*time.Second)
	w.send("wrong\n")
	if code := w.wait(60 * time.Second); code == 0 || strings.Contains(w.screenText(), value) {
		t.Fatalf("wrong passphrase: exit %d\n%s", code, w.screenText())
	}
	// Without a terminal there is no one to ask: refused, not guessed.
	if r := e.run(nil, "secrets", "get", name); r.code == 0 || !strings.Contains(r.stderr, "no terminal") {
		t.Fatalf("get without a terminal: %+v", r)
	}
}

// `secrets edit` runs $EDITOR on the clear text, saves what parses, keeps
// the store when it does not, and leaves no clear text behind.
func TestSecretsEdit(t *testing.T) {
	e := newEnv(t)
	e.setSecret("EDIT_ME", "old-value-1234")
	shmBefore, _ := filepath.Glob("/dev/shm/hermes-secrets-*")
	edit := func(editor string) result {
		return e.run([]string{"EDITOR=" + editor}, "secrets", "edit")
	}
	if r := edit(`sed -i -e s/old-value-1234/new-value-5678/ -e '$a ADDED_ONE="x y z"'`); r.code != 0 {
		t.Fatalf("edit: %+v", r)
	}
	if r := e.run(nil, "secrets", "get", "EDIT_ME"); r.stdout != "new-value-5678\n" {
		t.Fatalf("after edit: %+v", r)
	}
	if r := e.run(nil, "secrets", "get", "ADDED_ONE"); r.stdout != "x y z\n" {
		t.Fatalf("added: %+v", r)
	}
	if r := edit(`sed -i -e '$a this is not an assignment'`); r.code == 0 || !strings.Contains(r.stderr, "nothing saved") {
		t.Fatalf("a broken edit was accepted: %+v", r)
	}
	if r := e.run(nil, "secrets", "get", "EDIT_ME"); r.stdout != "new-value-5678\n" {
		t.Fatalf("the store changed after a broken edit: %+v", r)
	}
	if shmAfter, _ := filepath.Glob("/dev/shm/hermes-secrets-*"); len(shmAfter) != len(shmBefore) {
		t.Fatalf("clear text left behind: %v", shmAfter)
	}
}
