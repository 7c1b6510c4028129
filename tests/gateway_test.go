package tests

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A dangerous command that leaves a mark when it runs and harms nothing:
// `git reset --hard` asks, and fails quietly outside a repository.
func markCmd(mark string) string {
	return "echo ran > " + mark + "; git reset --hard 2>/dev/null; exit 0"
}

func TestGatewayApprovesOverTheAPI(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  timeout: 4\n")
	g := e.startGateway()
	if !strings.HasPrefix(g.fingerprint, "sha256:") || !strings.HasPrefix(g.url, "https://127.0.0.1:") {
		t.Fatalf("start-up output: %s", g.out.String())
	}
	alice := g.pairedClient("alice")
	stranger := g.client()

	// Deny: exit 126, the reason on stderr, nothing ran.
	done := e.background(nil, "-c", markCmd("denied"))
	list := g.waitRequests(alice, 1)
	r := list[0]
	if r.Command != markCmd("denied") || r.Cwd != e.dir || len(r.Findings) == 0 || r.Findings[0].Rule != "git-destructive" || len(r.ID) != 32 {
		t.Fatalf("listed %+v", r)
	}
	if st := g.api(stranger, "GET", "/api/v1/requests", "", nil); st != 401 {
		t.Fatalf("unpaired list: %d", st)
	}
	if st := g.api(stranger, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"once"}`, nil); st != 401 {
		t.Fatalf("unpaired decision: %d", st)
	}
	if st := g.api(alice, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"deny","reason":"not on a Friday"}`, nil); st != 200 {
		t.Fatalf("deny: %d", st)
	}
	res := waitResult(t, done, 10*time.Second)
	if res.code != 126 || !strings.Contains(res.stderr, "hermes-exec: denied: denied by web:alice: not on a Friday") {
		t.Fatalf("denied run: %d %q", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "denied")); err == nil {
		t.Fatal("a denied command ran")
	}
	if st := g.api(alice, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"once"}`, nil); st != 409 {
		t.Fatalf("late answer: %d", st)
	}
	rec := e.lastAudit()
	if rec["decision"] != "deny" || rec["approver"] != "web:alice" || rec["channel"] != "gateway" {
		t.Fatalf("audit %v", rec)
	}
	// The stranger's attempt is in the audit log too.
	found := false
	for _, a := range e.auditRecords() {
		if a["decision"] == "unauthorized" && strings.Contains(a["reason"].(string), r.ID) {
			found = true
		}
	}
	if !found {
		t.Fatal("the unauthorized attempt was not audited")
	}

	// Once: it runs.
	done = e.background(nil, "-c", markCmd("once"))
	r = g.waitRequests(alice, 1)[0]
	g.api(alice, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"once"}`, nil)
	if res := waitResult(t, done, 10*time.Second); res.code != 0 {
		t.Fatalf("approved run: %d %s", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "once")); err != nil {
		t.Fatal("an approved command did not run")
	}
	if rec := e.lastAudit(); rec["decision"] != "allow" || rec["approver"] != "web:alice" {
		t.Fatalf("audit %v", rec)
	}

	// No answer: denied after approvals.timeout.
	start := time.Now()
	res = waitResult(t, e.background(nil, "-c", markCmd("timeout")), 20*time.Second)
	if res.code != 126 || !strings.Contains(res.stderr, "no answer within 4s") || time.Since(start) < 4*time.Second {
		t.Fatalf("unanswered run: %d %q after %v", res.code, res.stderr, time.Since(start))
	}
	if _, err := os.Stat(filepath.Join(e.dir, "timeout")); err == nil {
		t.Fatal("an unanswered command ran")
	}

	// Always: runs, and the allowlist learns it as the terminal path does.
	done = e.background(nil, "-c", "git reset --hard 2>/dev/null; exit 0")
	r = g.waitRequests(alice, 1)[0]
	g.api(alice, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"always"}`, nil)
	if res := waitResult(t, done, 10*time.Second); res.code != 0 {
		t.Fatalf("always: %d %s", res.code, res.stderr)
	}
	cfg, _ := os.ReadFile(filepath.Join(e.home, "config.yaml"))
	if !strings.Contains(string(cfg), "git reset --hard") {
		t.Fatalf("always did not reach the allowlist:\n%s", cfg)
	}
}

func TestGatewayConcurrentRequestsNeverCross(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  timeout: 60\n")
	g := e.startGateway()
	c := g.pairedClient("alice")
	a := e.background(nil, "-c", markCmd("a"))
	g.waitRequests(c, 1)
	b := e.background(nil, "-c", markCmd("b"))
	list := g.waitRequests(c, 2)
	ids := map[string]string{}
	for _, r := range list {
		ids[r.Command] = r.ID
	}
	// Answer the second first.
	g.api(c, "POST", "/api/v1/requests/"+ids[markCmd("b")]+"/decision", `{"decision":"once"}`, nil)
	rb := waitResult(t, b, 10*time.Second)
	select {
	case ra := <-a:
		t.Fatalf("the first request ended with the second's answer: %+v", ra)
	case <-time.After(300 * time.Millisecond):
	}
	g.api(c, "POST", "/api/v1/requests/"+ids[markCmd("a")]+"/decision", `{"decision":"deny"}`, nil)
	ra := waitResult(t, a, 10*time.Second)
	if rb.code != 0 || ra.code != 126 {
		t.Fatalf("a: %d %s; b: %d %s", ra.code, ra.stderr, rb.code, rb.stderr)
	}
	_, errA := os.Stat(filepath.Join(e.dir, "a"))
	_, errB := os.Stat(filepath.Join(e.dir, "b"))
	if errA == nil || errB != nil {
		t.Fatalf("marks: a %v, b %v", errA, errB)
	}
}

func TestGatewayKilledMidWaitDenies(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  timeout: 60\n")
	g := e.startGateway()
	c := g.pairedClient("alice")
	done := e.background(nil, "-c", markCmd("killed"))
	g.waitRequests(c, 1)
	g.kill()
	res := waitResult(t, done, 10*time.Second)
	if res.code != 126 || !strings.Contains(res.stderr, "gateway went away") {
		t.Fatalf("after the gateway was killed: %d %q", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "killed")); err == nil {
		t.Fatal("the command ran after the gateway died")
	}
	// Its socket is left behind: the next command is denied, not run.
	res = e.run(nil, "-c", markCmd("stale"))
	if res.code != 126 || !strings.Contains(res.stderr, "gateway is unreachable") {
		t.Fatalf("with a dead gateway's socket: %d %q", res.code, res.stderr)
	}
	// And a new gateway takes the stale socket over.
	e.startGateway()
	if r := e.run(nil, "gateway", "status"); r.code != 0 {
		t.Fatalf("status after restart: %d %s", r.code, r.stdout)
	}
}

func TestGatewayStatus(t *testing.T) {
	e := newEnv(t)
	if r := e.run(nil, "gateway", "status"); r.code != 1 || !strings.Contains(r.stdout, "not running") {
		t.Fatalf("status without a gateway: %d %q", r.code, r.stdout)
	}
	g := e.startGateway()
	g.pairedClient("alice")
	r := e.run(nil, "gateway", "status", "--json")
	if r.code != 0 {
		t.Fatalf("status: %d %s", r.code, r.stderr)
	}
	for _, want := range []string{`"running":true`, `"tls_fingerprint":"` + g.fingerprint + `"`, `"pending":0`, `"name":"alice"`, `"listen":"127.0.0.1:`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %s: %s", want, r.stdout)
		}
	}
	fi, err := os.Stat(filepath.Join(e.home, "run", "gateway.sock"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", fi, err)
	}
	if fi, _ := os.Stat(filepath.Join(e.home, "gateway-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", fi.Mode().Perm())
	}
	// TLS 1.3 only.
	c := g.client()
	c.Transport.(*http.Transport).TLSClientConfig.MaxVersion = tls.VersionTLS12
	if _, err := c.Get(g.url + "/"); err == nil {
		t.Fatal("the gateway speaks TLS 1.2")
	}
	g.stop()
	if r := e.run(nil, "gateway", "status"); r.code != 1 {
		t.Fatalf("status after stop: %d", r.code)
	}
}

func TestGatewayPlainHTTPOnlyOnLoopback(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("gateway:\n  tls: off\n")
	r := e.run(nil, "gateway", "run", "--listen", "0.0.0.0:0")
	if r.code == 0 || !strings.Contains(r.stderr, "only on a loopback address") {
		t.Fatalf("plain HTTP on all interfaces: %d %q", r.code, r.stderr)
	}
	g := e.startGateway()
	if !strings.HasPrefix(g.url, "http://127.0.0.1:") {
		t.Fatalf("url %s", g.url)
	}
}

func TestPairingCLI(t *testing.T) {
	e := newEnv(t)
	g := e.startGateway()
	c := g.client()
	var p struct{ Code string }
	g.api(c, "POST", "/api/v1/pair", `{"name":"phone"}`, &p)
	r := e.run(nil, "pairing", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "phone") || strings.Contains(r.stdout, p.Code) {
		t.Fatalf("list: %d %s", r.code, r.stdout)
	}
	data, _ := os.ReadFile(filepath.Join(e.home, "pairing", "web.json"))
	if strings.Contains(string(data), p.Code) {
		t.Fatal("the code is on disk in clear")
	}
	// Five wrong codes lock the platform; the right one is then refused.
	for i := 0; i < 5; i++ {
		if r := e.run(nil, "gateway", "pair", "WRONG234"); r.code == 0 {
			t.Fatal("a wrong code paired")
		}
	}
	if r := e.run(nil, "pairing", "approve", "web", p.Code); r.code == 0 || !strings.Contains(r.stderr, "locked") {
		t.Fatalf("right code after lockout: %d %q", r.code, r.stderr)
	}
	if st := g.api(c, "GET", "/api/v1/requests", "", nil); st != 401 {
		t.Fatalf("paired while locked: %d", st)
	}
	if r := e.run(nil, "pairing", "list"); !strings.Contains(r.stdout, "LOCKED") {
		t.Fatalf("list does not show the lock: %s", r.stdout)
	}
}

// With a terminal as well, both are asked: an answer at the terminal wins
// and the gateway's card is withdrawn, saying so.
func TestTerminalAndGatewayFirstAnswerWins(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  timeout: 60\n")
	g := e.startGateway()
	c := g.pairedClient("alice")
	req, _ := http.NewRequest("GET", g.url+"/api/v1/events", nil)
	stream, err := c.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("events: %v", err)
	}
	defer stream.Body.Close()
	next := sseReader(t, stream.Body)
	if ev := next(); ev["kind"] != "snapshot" {
		t.Fatalf("first event %v", ev)
	}
	s := e.startTTY(true, nil, "-c", markCmd("tty"))
	if ev := next(); ev["kind"] != "new" {
		t.Fatalf("event %v", ev)
	}
	s.waitScreen("[y]es once", 10*time.Second)
	s.master.Write([]byte("y"))
	ev := next()
	if ev["kind"] != "withdrawn" || !strings.Contains(ev["reason"].(string), "answered at the terminal") {
		t.Fatalf("the card was not withdrawn: %v", ev)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the wrapper did not finish")
	}
	if _, err := os.Stat(filepath.Join(e.dir, "tty")); err != nil {
		t.Fatal("the command approved at the terminal did not run")
	}
	if rec := e.lastAudit(); rec["channel"] != "tty" || rec["decision"] != "allow" {
		t.Fatalf("audit %v", rec)
	}
}

// approvals.timeouts gives a rule its own timeout, on the gateway too.
func TestGatewayPerRuleTimeout(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  timeout: 120\n  timeouts:\n    git-destructive: 2\n")
	g := e.startGateway()
	c := g.pairedClient("alice")
	done := e.background(nil, "-c", markCmd("ruled"))
	r := g.waitRequests(c, 1)[0]
	if left := time.Until(r.ExpiresAt); left > 3*time.Second {
		t.Fatalf("the request expires in %v, not by git-destructive's 2s", left)
	}
	res := waitResult(t, done, 20*time.Second)
	if res.code != 126 || !strings.Contains(res.stderr, "no answer within 2s") {
		t.Fatalf("per-rule timeout: %d %q", res.code, res.stderr)
	}
}

// "session" lets the same command through for the rest of the session
// without asking again; a gateway nobody is paired with ends a request
// as "no approver".
func TestGatewaySessionAnswerAndNoApprover(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  timeout: 2\n")
	g := e.startGateway()

	res := e.run(nil, "-c", markCmd("nobody"))
	if res.code != 126 || !strings.Contains(res.stderr, "no approver is paired with or allowed on the gateway") {
		t.Fatalf("with nobody paired: %d %q", res.code, res.stderr)
	}

	c := g.pairedClient("alice")
	e.writeConfig("approvals:\n  timeout: 60\n")
	sess := []string{"HERMES_SESSION_ID=gw-session-1"}
	done := e.background(sess, "-c", markCmd("s1"))
	r := g.waitRequests(c, 1)[0]
	if r.Session != "gw-session-1" {
		t.Fatalf("session %q", r.Session)
	}
	g.api(c, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"session"}`, nil)
	if res := waitResult(t, done, 10*time.Second); res.code != 0 {
		t.Fatalf("session answer: %d %s", res.code, res.stderr)
	}
	// The same command again in that session: no request, it just runs.
	if res := e.run(sess, "-c", markCmd("s1")); res.code != 0 {
		t.Fatalf("again in the session: %d %s", res.code, res.stderr)
	}
	if rec := e.lastAudit(); rec["channel"] != "session" {
		t.Fatalf("second run let through by %v", rec["channel"])
	}
}
