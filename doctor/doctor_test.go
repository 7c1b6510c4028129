package doctor

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hermes-exec/shim"
)

func opts(t *testing.T, cfg string) Options {
	t.Helper()
	home := t.TempDir()
	if cfg != "" {
		os.WriteFile(filepath.Join(home, "config.yaml"), []byte(cfg), 0o600)
	}
	env := map[string]string{}
	return Options{Home: home, ConfigPath: filepath.Join(home, "config.yaml"), UID: os.Geteuid(), GID: os.Getegid(),
		Getenv: func(k string) string { return env[k] }}
}

func has(rs []Result, check string, st Status, substr string) bool {
	for _, r := range rs {
		if r.Check == check && r.Status == st && strings.Contains(r.Message, substr) {
			return true
		}
	}
	return false
}

func dump(rs []Result) string {
	var b strings.Builder
	Print(&b, rs)
	return b.String()
}

func TestAllowlistAndDenyAnalysis(t *testing.T) {
	o := opts(t, `approvals:
  allowlist:
    - bash
    - rm -rf
    - python3 -c
    - sudo apt-get update
    - git
    - git push
    - git push
    - no-such-program-xyz run
    - terraform plan
    - make test
  deny:
    - terraform
    - terraform destroy
    - git push --force
`)
	rs := checkConfig(&o)
	for _, c := range []struct {
		check string
		st    Status
		sub   string
	}{
		{"allowlist", Error, `"bash" is too broad`},
		{"allowlist", Error, `"rm -rf" is too broad`},
		{"allowlist", Error, `"python3 -c" is too broad`},
		{"allowlist", Warn, `"sudo apt-get update" runs apt-get update as root`},
		{"allowlist", Error, `"git" is too broad`},
		{"allowlist", Warn, `"git push" is listed twice`},
		{"allowlist", Warn, `"no-such-program-xyz run" never matches here`},
		{"allowlist", Warn, `"terraform plan" never takes effect: the deny rule "terraform" covers it`},
		{"deny", Warn, `"terraform destroy" shadows nothing: the deny rule "terraform" already covers it`},
	} {
		if !has(rs, c.check, c.st, c.sub) {
			t.Errorf("missing %s %s %q in:\n%s", c.st, c.check, c.sub, dump(rs))
		}
	}
	if has(rs, "allowlist", Error, `"make test"`) || has(rs, "allowlist", Warn, `"make test"`) {
		t.Errorf("a narrow entry was flagged:\n%s", dump(rs))
	}
	if has(rs, "deny", Warn, `"git push --force"`) {
		t.Errorf("a useful deny rule was flagged:\n%s", dump(rs))
	}
}

func TestConfigErrorsNameTheLine(t *testing.T) {
	o := opts(t, "approvals:\n  mode: sometimes\n")
	rs := checkConfig(&o)
	if !has(rs, "config", Error, "config.yaml:2:") {
		t.Fatalf("%s", dump(rs))
	}
	o = opts(t, "approvals:\n  allowlist:\n    - 'git push; rm -rf /'\n")
	if rs := checkConfig(&o); !has(rs, "allowlist", Error, "allowlist entry") {
		t.Fatalf("%s", dump(rs))
	}
}

func TestApprovalsAndYolo(t *testing.T) {
	o := opts(t, "approvals:\n  mode: off\n")
	s := shim.Sessions{Dir: filepath.Join(o.Home, "sessions")}
	s.SetYolo("agent-7", true)
	s.SetYolo("agent-8", false)
	env := map[string]string{"HERMES_YOLO": "1", "GATEWAY_ALLOW_ALL_USERS": "true"}
	o.Getenv = func(k string) string { return env[k] }
	rs := checkConfig(&o)
	if !has(rs, "approvals", Error, "approvals.mode is off") || !has(rs, "yolo", Warn, "agent-7") || has(rs, "yolo", Warn, "agent-8") ||
		!has(rs, "yolo", Warn, "HERMES_YOLO=1") || !has(rs, "gateway-users", Error, "the environment") {
		t.Fatalf("%s", dump(rs))
	}
}

func TestAllowAllUsersInDotenvAndConfig(t *testing.T) {
	o := opts(t, "gateway:\n  allow_all_users: true\n")
	os.WriteFile(filepath.Join(o.Home, ".env"), []byte("export GATEWAY_ALLOW_ALL_USERS=\"yes\"\n"), 0o600)
	rs := checkConfig(&o)
	if !has(rs, "gateway-users", Error, ".env") || !has(rs, "gateway-users", Error, "config.yaml") {
		t.Fatalf("%s", dump(rs))
	}
}

func TestGitIgnore(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	repo := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	home := filepath.Join(repo, "agent", ".hermes")
	os.MkdirAll(home, 0o700)
	os.WriteFile(filepath.Join(home, ".env"), []byte("A=1\n"), 0o600)
	o := Options{Home: home, UID: os.Geteuid()}
	if rs := checkGit(&o); !has(rs, "git", Error, "not ignored") {
		t.Fatalf("%s", dump(rs))
	}
	os.WriteFile(filepath.Join(repo, ".gitignore"), []byte(".env\n"), 0o644)
	if rs := checkGit(&o); !has(rs, "git", OK, "ignored") {
		t.Fatalf("%s", dump(rs))
	}
}

// A stand-in gateway on the unix socket, answering GET /v1/status in the
// gateway's wire shape.
func TestGatewayStatus(t *testing.T) {
	o := opts(t, "")
	if rs := checkGateway(&o); !has(rs, "gateway", Warn, "gateway not running") || Errors(rs) != 0 {
		t.Fatalf("absent socket: %s", dump(rs))
	}
	der := selfSigned(t)
	os.WriteFile(filepath.Join(o.Home, "gateway-cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	sum := sha256.Sum256(der)
	var colons []string
	for _, b := range sum {
		colons = append(colons, fmt.Sprintf("%02X", b))
	}
	fp := "sha256:" + strings.Join(colons, ":")
	os.MkdirAll(filepath.Join(o.Home, "run"), 0o700)
	sock := filepath.Join(o.Home, "run", "gateway.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	status := `{"running":true,"listen":"127.0.0.1:8443","tls":true,"tls_fingerprint":"%s","pending":2,"approvers":%s,"bridges":[],"pid":1}`
	body := fmt.Sprintf(status, fp, `[{"platform":"telegram","id":"42","source":"pairing"}]`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/status" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	rs := checkGateway(&o)
	if !has(rs, "gateway", OK, "127.0.0.1:8443, 2 pending") || !has(rs, "approvers", OK, "1 approver") || !has(rs, "gateway-tls", OK, "valid until") || Errors(rs) != 0 {
		t.Fatalf("%s", dump(rs))
	}
	body = fmt.Sprintf(status, "sha256:"+hex.EncodeToString(make([]byte, 32)), `[]`)
	rs = checkGateway(&o)
	if !has(rs, "gateway-tls", Error, "not the certificate in") || !has(rs, "approvers", Warn, "no approver") {
		t.Fatalf("%s", dump(rs))
	}
}

func selfSigned(t *testing.T) []byte {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hermes"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestFilesAndFix(t *testing.T) {
	o := opts(t, "approvals:\n  mode: default\n")
	os.WriteFile(filepath.Join(o.Home, ".env"), []byte("A=1\n"), 0o640)
	os.MkdirAll(filepath.Join(o.Home, "sessions"), 0o755)
	os.WriteFile(filepath.Join(o.Home, "sessions", "s1.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(o.Home, "sessions", "s2.json"), []byte("{}"), 0o600)
	os.Symlink("/etc/hostname", filepath.Join(o.Home, "audit.jsonl"))
	rs := checkFiles(&o)
	for _, c := range []struct{ check, sub string }{
		{".env", "mode 0640"}, {"sessions", "mode 0755"}, {"sessions/s1.json", "mode 0644"}, {"audit.jsonl", "is a symlink to /etc/hostname"},
	} {
		if !has(rs, c.check, Error, c.sub) {
			t.Errorf("missing %s %q:\n%s", c.check, c.sub, dump(rs))
		}
	}
	if !has(rs, "sessions/*", OK, "1 files") {
		t.Errorf("healthy state files not summed up:\n%s", dump(rs))
	}
	o.Fix = true
	rs = checkFiles(&o)
	if Errors(rs) != 1 || !has(rs, "audit.jsonl", Error, "symlink") {
		t.Fatalf("after fix:\n%s", dump(rs))
	}
	for p, want := range map[string]os.FileMode{".env": 0o600, "sessions": 0o700, "sessions/s1.json": 0o600} {
		if st, _ := os.Stat(filepath.Join(o.Home, p)); st.Mode().Perm() != want {
			t.Errorf("%s: %v", p, st.Mode().Perm())
		}
	}
	o.Fix = false
	if rs := checkFiles(&o); Errors(rs) != 1 {
		t.Fatalf("fix did not hold:\n%s", dump(rs))
	}
}

// A FIFO where a file should be is reported, and never read (reading it
// would hang doctor).
func TestFIFOsAreNotRead(t *testing.T) {
	o := opts(t, "")
	for _, n := range []string{"config.yaml", ".env", "gateway-cert.pem"} {
		if err := mkfifo(filepath.Join(o.Home, n)); err != nil {
			t.Skip("no mkfifo:", err)
		}
	}
	done := make(chan []Result)
	go func() { done <- Run(o) }()
	select {
	case rs := <-done:
		if !has(rs, "config.yaml", Error, "not a regular file") || !has(rs, "config", Error, "not a regular file") || !has(rs, "secrets", Error, "not a regular file") {
			t.Fatalf("%s", dump(rs))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("doctor hung on a FIFO")
	}
}

// With terminal.backend supervisor, a supervisor that does not answer
// means every command is denied: an error, with what to start.
func TestSupervisorNeededButDown(t *testing.T) {
	if c, err := net.Dial("unix", "/run/hermes-exec/supervisor.sock"); err == nil {
		c.Close()
		t.Skip("a supervisor runs on this machine; this test needs none at the default socket")
	}
	o := opts(t, "terminal:\n  backend: supervisor\n")
	if rs := checkSupervisor(&o); !has(rs, "supervisor", Error, "does not answer") {
		t.Fatalf("%s", dump(rs))
	}
	o = opts(t, "")
	if rs := checkSupervisor(&o); !has(rs, "supervisor", OK, "not running") {
		t.Fatalf("%s", dump(rs))
	}
}

// A deleted audit anchor is an error whose fix is --reanchor after a
// look, not a rotation (which no longer brings it back).
func TestAuditAnchorMissing(t *testing.T) {
	o := opts(t, "")
	a := shim.Audit{Path: filepath.Join(o.Home, "audit.jsonl")}
	if err := a.Append(shim.Record{Command: "true", Decision: "allow"}); err != nil {
		t.Fatal(err)
	}
	if rs := checkAudit(&o); !has(rs, "audit", OK, "") {
		t.Fatalf("intact log: %s", dump(rs))
	}
	os.Remove(a.AnchorFile())
	rs := checkAudit(&o)
	if !has(rs, "audit", Error, "anchor: missing") || !strings.Contains(rs[0].Fix, "--reanchor") {
		t.Fatalf("anchor deleted: %s", dump(rs))
	}
}
