package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hermes-exec/approval"
	"hermes-exec/gateway"
	"hermes-exec/gateway/authz"
	"hermes-exec/gateway/pairing"
	"hermes-exec/gateway/wire"
	"hermes-exec/policy"
)

type fixture struct {
	t     *testing.T
	hub   *gateway.Server
	store *pairing.Store
	srv   *httptest.Server
	audit chan gateway.AuditEntry
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	store := &pairing.Store{Dir: filepath.Join(dir, "pairing")}
	az := &authz.Authorizer{Getenv: func(string) string { return "" }, Pairing: store}
	f := &fixture{t: t, store: store, audit: make(chan gateway.AuditEntry, 100)}
	f.hub = gateway.NewServer(gateway.Options{Authorized: az.Authorized, Pairing: store, HasApprovers: func() bool { return true },
		Audit: func(e gateway.AuditEntry) { f.audit <- e }})
	f.srv = httptest.NewTLSServer(Handler(Options{Hub: f.hub, Pairing: store}))
	t.Cleanup(f.srv.Close)
	return f
}

// client is a browser-like client with its own cookie jar.
func (f *fixture) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := f.srv.Client()
	c.Jar = jar
	return c
}

func (f *fixture) do(c *http.Client, method, path, body string, hdr ...string) (*http.Response, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res, m
}

// paired returns a client whose session is paired.
func (f *fixture) paired(name string) *http.Client {
	c := f.client()
	res, m := f.do(c, "POST", "/api/v1/pair", `{"name":"`+name+`"}`)
	if res.StatusCode != 200 {
		f.t.Fatalf("pair: %d %v", res.StatusCode, m)
	}
	if _, err := f.store.ApproveAny(m["code"].(string)); err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) submit(cmd string) (approval.Request, <-chan wire.Result) {
	r := approval.Request{ID: approval.NewID(), Command: cmd, Timeout: time.Minute, CanAlways: true,
		Findings: []policy.Finding{{Rule: "git-destructive", Description: "d", Command: cmd, Pos: "1:1", Decision: policy.Ask}}}
	ch := make(chan wire.Result, 1)
	go func() { res, _ := f.hub.Submit(context.Background(), r); ch <- res }()
	for i := 0; i < 1000; i++ {
		if _, ok := f.hub.Get(r.ID); ok {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return r, ch
}

func TestPairCookieAndHeaders(t *testing.T) {
	f := newFixture(t)
	res, m := f.do(f.client(), "POST", "/api/v1/pair", `{"name":"alice"}`)
	if res.StatusCode != 200 || len(m["code"].(string)) != 8 {
		t.Fatalf("pair: %d %v", res.StatusCode, m)
	}
	sc := res.Header.Get("Set-Cookie")
	for _, want := range []string{CookieName + "=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Domain=") {
		t.Errorf("a __Host- cookie with a Domain: %q", sc)
	}
	res, _ = f.do(f.client(), "GET", "/", "")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	if res.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("framing allowed")
	}
}

func TestUnpairedSessionGets401AndIsAudited(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	f.do(c, "POST", "/api/v1/pair", `{"name":"eve"}`) // a code, never confirmed
	r, done := f.submit("git push --force")
	if res, _ := f.do(c, "GET", "/api/v1/requests", ""); res.StatusCode != 401 {
		t.Fatalf("list unpaired: %d", res.StatusCode)
	}
	if res, _ := f.do(c, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"once"}`); res.StatusCode != 401 {
		t.Fatalf("decide unpaired: %d", res.StatusCode)
	}
	if res, _ := f.do(c, "GET", "/api/v1/events", ""); res.StatusCode != 401 {
		t.Fatalf("events unpaired: %d", res.StatusCode)
	}
	if _, ok := f.hub.Get(r.ID); !ok {
		t.Fatal("an unpaired session settled the request")
	}
	kinds := 0
	for len(f.audit) > 0 {
		if e := <-f.audit; e.Kind == "unauthorized" {
			kinds++
		}
	}
	if kinds != 3 {
		t.Fatalf("%d unauthorized attempts audited, want 3", kinds)
	}
	ok := f.paired("bob")
	f.do(ok, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"deny"}`)
	<-done
}

func TestDecisionStatuses(t *testing.T) {
	f := newFixture(t)
	c := f.paired("alice")
	r, done := f.submit("git push --force")
	res, m := f.do(c, "GET", "/api/v1/requests", "")
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	// GET returns a list, which decodes into m as nil; fetch it raw.
	_ = m
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/requests", nil)
	raw, _ := c.Do(req)
	var list []wire.Request
	json.NewDecoder(raw.Body).Decode(&list)
	raw.Body.Close()
	if len(list) != 1 || list[0].ID != r.ID || list[0].Command != "git push --force" || list[0].ExpiresAt.IsZero() || len(list[0].Findings) != 1 {
		t.Fatalf("list %+v", list)
	}
	if res, _ := f.do(c, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"perhaps"}`); res.StatusCode != 400 {
		t.Fatalf("bad decision: %d", res.StatusCode)
	}
	if res, _ := f.do(c, "POST", "/api/v1/requests/"+approval.NewID()+"/decision", `{"decision":"once"}`); res.StatusCode != 404 {
		t.Fatalf("unknown id: %d", res.StatusCode)
	}
	if res, _ := f.do(c, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"once"}`, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); res.StatusCode != 403 {
		t.Fatalf("cross-origin decision: %d", res.StatusCode)
	}
	if _, ok := f.hub.Get(r.ID); !ok {
		t.Fatal("a cross-origin post settled the request")
	}
	if res, m := f.do(c, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"deny","reason":"wrong branch"}`, "Sec-Fetch-Site", "same-origin"); res.StatusCode != 200 || m["by"] != "web:alice" {
		t.Fatalf("decide: %d %v", res.StatusCode, m)
	}
	if got := <-done; got.Answer != "deny" || got.Reason != "denied by web:alice: wrong branch" {
		t.Fatalf("result %+v", got)
	}
	if res, _ := f.do(c, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"once"}`); res.StatusCode != 409 {
		t.Fatalf("late: %d", res.StatusCode)
	}
}

func TestRevokedSessionIsRefusedAtOnce(t *testing.T) {
	f := newFixture(t)
	c := f.paired("alice")
	l, _ := f.store.List()
	f.store.Revoke("web", l.Approved[0].ID)
	if res, _ := f.do(c, "GET", "/api/v1/requests", ""); res.StatusCode != 401 {
		t.Fatalf("revoked: %d", res.StatusCode)
	}
}

func TestEventsStream(t *testing.T) {
	f := newFixture(t)
	c := f.paired("alice")
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/events", nil)
	res, err := c.Do(req)
	if err != nil || res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %v %v", err, res)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	next := func() map[string]any {
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var m map[string]any
				json.Unmarshal([]byte(d), &m)
				return m
			}
		}
		t.Fatal("stream ended")
		return nil
	}
	if m := next(); m["kind"] != "snapshot" {
		t.Fatalf("first event %v", m)
	}
	r, done := f.submit("rm -rf /srv/<script>")
	m := next()
	if m["kind"] != "new" || m["request"].(map[string]any)["id"] != r.ID {
		t.Fatalf("new event %v", m)
	}
	f.do(c, "POST", "/api/v1/requests/"+r.ID+"/decision", `{"decision":"once"}`)
	<-done
	m = next()
	if m["kind"] != "resolved" || m["answer"] != "once" || m["by"] != "web:alice" {
		t.Fatalf("resolved event %v", m)
	}
}

func TestPairingLimitsOverHTTP(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	if res, _ := f.do(c, "POST", "/api/v1/pair", `{"name":"a"}`); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	// The same browser again within 10 minutes.
	if res, _ := f.do(c, "POST", "/api/v1/pair", `{"name":"a"}`); res.StatusCode != 429 {
		t.Fatalf("second code for one browser: %d", res.StatusCode)
	}
	f.do(f.client(), "POST", "/api/v1/pair", `{"name":"b"}`)
	f.do(f.client(), "POST", "/api/v1/pair", `{"name":"c"}`)
	if res, _ := f.do(f.client(), "POST", "/api/v1/pair", `{"name":"d"}`); res.StatusCode != 429 {
		t.Fatalf("fourth pending code: %d", res.StatusCode)
	}
	if res, _ := f.do(f.client(), "POST", "/api/v1/pair", `{"name":"<>"}`); res.StatusCode != 400 {
		t.Fatalf("empty name after cleaning: %d", res.StatusCode)
	}
}
