package tests

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"hermes-exec/internal/testutil"
)

// The approver page in a real browser (Debian's chromium, driven over the
// DevTools protocol): pair, see the card, click, and the wrapper is denied
// or proceeds.
func TestGatewayPageInChromium(t *testing.T) {
	browser := findChromium(t)
	t.Run("https", func(t *testing.T) { testPage(t, browser, true) })
	// Plain HTTP on loopback, when asked for: the __Host- cookie still
	// works there, since browsers count loopback as a secure context.
	t.Run("http-loopback", func(t *testing.T) { testPage(t, browser, false) })
}

func testPage(t *testing.T, browser string, withTLS bool) {
	e := newEnv(t)
	spki := ""
	if withTLS {
		e.writeConfig("approvals:\n  timeout: 120\n")
	} else {
		e.writeConfig("approvals:\n  timeout: 120\ngateway:\n  tls: off\n")
	}
	g := e.startGateway()
	if withTLS {
		spki = spkiHash(t, filepath.Join(e.home, "gateway-cert.pem"))
	}
	b := startBrowser(t, browser, spki)
	page := b.open(g.url + "/")

	page.waitFor(`!document.getElementById("pair").hidden`)
	page.eval(`document.getElementById("pair-name").value = "laptop"; document.getElementById("pair-button").click(); true`)
	page.waitFor(`document.getElementById("pair-code").textContent.length === 8`)
	code := page.evalString(`document.getElementById("pair-code").textContent`)
	// Not paired yet: the API refuses this browser's session.
	if st := page.evalString(`fetch("/api/v1/requests").then(r => String(r.status))`); st != "401" {
		t.Fatalf("unpaired browser listed requests: %s", st)
	}
	if r := e.run(nil, "gateway", "pair", code); r.code != 0 {
		t.Fatalf("gateway pair %s: %d %s", code, r.code, r.stderr)
	}
	page.waitFor(`!document.getElementById("queue").hidden && document.getElementById("conn").textContent === "live"`)
	if who := page.evalString(`document.getElementById("who").textContent`); who != "web:laptop" {
		t.Fatalf("page says it is %q", who)
	}

	// A command with markup in it is shown as text.
	cmd1 := `echo '<img src=x onerror=document.title=1><b>x</b>' > denied; git reset --hard 2>/dev/null; exit 0`
	done := e.background(nil, "-c", cmd1)
	page.waitFor(`document.querySelectorAll(".card").length === 1`)
	if got := page.evalString(`document.querySelector(".card pre.command").textContent`); got != cmd1 {
		t.Fatalf("card shows %q", got)
	}
	if n := page.evalString(`String(document.querySelector(".card pre.command").children.length + document.querySelectorAll("img").length)`); n != "0" {
		t.Fatal("the command's markup became elements")
	}
	page.waitFor(`document.querySelector(".card .countdown").textContent.startsWith("denies in ")`)
	if f := page.evalString(`document.querySelector(".card .findings").textContent`); !strings.Contains(f, "git-destructive") {
		t.Fatalf("findings %q", f)
	}
	page.eval(`document.querySelector(".card .reason").value = "not from a browser test"; document.querySelector(".card .deny").click(); true`)
	res := waitResult(t, done, 20*time.Second)
	if res.code != 126 || !strings.Contains(res.stderr, "denied by web:laptop: not from a browser test") {
		t.Fatalf("denied in the browser: %d %q", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "denied")); err == nil {
		t.Fatal("the denied command ran")
	}
	page.waitFor(`document.querySelector(".card .status").textContent.includes("Denied by web:laptop")`)

	// Once: it runs.
	cmd2 := markCmd("approved")
	done = e.background(nil, "-c", cmd2)
	page.waitFor(`document.querySelectorAll(".card:not(.done)").length === 1`)
	if dir := os.Getenv("HERMES_SCREENSHOT_DIR"); dir != "" && withTLS {
		page.screenshot(filepath.Join(dir, "gateway-page.png"), 900, 760, false)
		page.screenshot(filepath.Join(dir, "gateway-page-phone.png"), 390, 844, true)
	}
	page.eval(`document.querySelector(".card:not(.done) .once").click(); true`)
	if res := waitResult(t, done, 20*time.Second); res.code != 0 {
		t.Fatalf("approved in the browser: %d %q", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "approved")); err != nil {
		t.Fatal("the approved command did not run")
	}
	page.waitFor(`[...document.querySelectorAll(".card .status")].some(s => s.textContent === "Allowed once by web:laptop")`)
	if rec := e.lastAudit(); rec["approver"] != "web:laptop" || rec["decision"] != "allow" {
		t.Fatalf("audit %v", rec)
	}

	// A wrapper that goes away: its card says so. Its long command is
	// shortened, the full text one click away.
	cmd3 := markCmd("gone") + "; : " + strings.Repeat("long-argument ", 30)
	c3 := e.cmd(nil, "-c", cmd3)
	if err := c3.Start(); err != nil {
		t.Fatal(err)
	}
	page.waitFor(`document.querySelectorAll(".card:not(.done)").length === 1`)
	if short := page.evalString(`document.querySelector(".card:not(.done) pre.command").textContent`); len(short) >= len(cmd3) || !strings.HasSuffix(short, "…") {
		t.Fatalf("a long command is not shortened: %q", short)
	}
	page.eval(`document.querySelector(".card:not(.done) .more").click(); true`)
	if full := page.evalString(`document.querySelector(".card:not(.done) pre.command").textContent`); full != cmd3 {
		t.Fatalf("the full command is %q", full)
	}
	c3.Process.Signal(syscall.SIGKILL)
	c3.Wait()
	page.waitFor(`[...document.querySelectorAll(".card .status")].some(s => s.textContent.startsWith("Withdrawn: the wrapper went away"))`)

	b.checkNoErrors()
}

func findChromium(t *testing.T) string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("HERMES_TEST_REQUIRE_ALL") == "1" {
		t.Fatal("no chromium on this machine (apt-get install chromium), and HERMES_TEST_REQUIRE_ALL=1")
	}
	t.Skip("no chromium on this machine (apt-get install chromium): the browser test cannot run")
	return ""
}

// spkiHash is what --ignore-certificate-errors-spki-list takes: the
// base64 SHA-256 of the certificate's public key. The browser then trusts
// exactly the gateway's certificate.
func spkiHash(t *testing.T, certPath string) string {
	data, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// browser is a headless chromium and a DevTools connection to it.
type browser struct {
	t       *testing.T
	cmd     *exec.Cmd
	conn    *websocket.Conn
	ctx     context.Context
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpMessage
	errs    []string
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    any             `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func startBrowser(t *testing.T, bin, spki string) *browser {
	profile := t.TempDir()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--user-data-dir=" + profile, "--remote-debugging-port=0"}
	if spki != "" {
		args = append(args, "--ignore-certificate-errors-spki-list="+spki)
	}
	c := exec.Command(bin, append(args, "about:blank")...)
	var out testutil.Buffer
	c.Stdout, c.Stderr = &out, &out
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &browser{t: t, cmd: c, ctx: ctx, waiting: map[int]chan cdpMessage{}}
	t.Cleanup(func() {
		cancel()
		if b.conn != nil {
			b.conn.CloseNow()
		}
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		c.Wait()
	})
	var wsURL string
	for i := 0; i < 300 && wsURL == ""; i++ {
		data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); err == nil && len(lines) == 2 {
			wsURL = "ws://127.0.0.1:" + lines[0] + lines[1]
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if wsURL == "" {
		t.Fatalf("chromium did not open its DevTools port:\n%s", out.String())
	}
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(64 << 20)
	b.conn = conn
	go b.readLoop()
	return b
}

func (b *browser) readLoop() {
	for {
		_, data, err := b.conn.Read(b.ctx)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.waiting[m.ID]
			delete(b.waiting, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		if m.Method == "Runtime.exceptionThrown" || m.Method == "Log.entryAdded" {
			raw, _ := json.Marshal(m.Params)
			var p map[string]any
			json.Unmarshal(data, &p)
			s := string(raw)
			if pp, ok := p["params"].(map[string]any); ok {
				if en, ok := pp["entry"].(map[string]any); ok && en["level"] != "error" {
					continue
				}
				b2, _ := json.Marshal(pp)
				s = string(b2)
			}
			b.mu.Lock()
			b.errs = append(b.errs, m.Method+": "+s)
			b.mu.Unlock()
		}
	}
}

func (b *browser) call(session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg, _ := json.Marshal(cdpMessage{ID: id, Method: method, Params: params, SessionID: session})
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := b.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, errors.New(method + ": " + m.Error.Message)
		}
		return m.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no answer from chromium", method)
	}
}

func (b *browser) checkNoErrors() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errs {
		// The page's request for /favicon.ico is a 404 by design, and the
		// test's own fetch before pairing is refused with 401 on purpose.
		if strings.Contains(e, "favicon") || (strings.Contains(e, "status of 401") && strings.Contains(e, "/api/v1/requests")) {
			continue
		}
		b.t.Errorf("browser error: %s", e)
	}
}

type page struct {
	b       *browser
	session string
}

func (b *browser) open(url string) *page {
	res, err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		b.t.Fatal(err)
	}
	var tgt struct{ TargetID string }
	json.Unmarshal(res, &tgt)
	res, err = b.call("", "Target.attachToTarget", map[string]any{"targetId": tgt.TargetID, "flatten": true})
	if err != nil {
		b.t.Fatal(err)
	}
	var att struct{ SessionID string }
	json.Unmarshal(res, &att)
	p := &page{b: b, session: att.SessionID}
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if _, err := b.call(p.session, m, map[string]any{}); err != nil {
			b.t.Fatal(err)
		}
	}
	if _, err := b.call(p.session, "Page.navigate", map[string]any{"url": url}); err != nil {
		b.t.Fatal(err)
	}
	return p
}

// eval runs JavaScript in the page and returns its value (promises are
// awaited).
func (p *page) eval(js string) any {
	p.b.t.Helper()
	res, err := p.b.call(p.session, "Runtime.evaluate", map[string]any{"expression": js, "awaitPromise": true, "returnByValue": true})
	if err != nil {
		p.b.t.Fatal(err)
	}
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails any `json:"exceptionDetails"`
	}
	json.Unmarshal(res, &r)
	if r.ExceptionDetails != nil {
		p.b.t.Fatalf("%s: %v", js, r.ExceptionDetails)
	}
	return r.Result.Value
}

func (p *page) evalString(js string) string {
	p.b.t.Helper()
	v, _ := p.eval(js).(string)
	return v
}

func (p *page) waitFor(cond string) {
	p.b.t.Helper()
	js := "(() => { try { return !!(" + cond + "); } catch (e) { return false; } })()"
	for i := 0; i < 300; i++ {
		if v, _ := p.eval(js).(bool); v {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	body := p.evalString(`document.body ? document.body.innerText : ""`)
	p.b.t.Fatalf("the page never got to %s; it shows:\n%s", cond, body)
}

func (p *page) screenshot(path string, w, h int, mobile bool) {
	p.b.t.Helper()
	if _, err := p.b.call(p.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile}); err != nil {
		p.b.t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	res, err := p.b.call(p.session, "Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		p.b.t.Fatal(err)
	}
	var r struct{ Data string }
	json.Unmarshal(res, &r)
	img, _ := base64.StdEncoding.DecodeString(r.Data)
	if err := os.WriteFile(path, img, 0o644); err != nil {
		p.b.t.Fatal(err)
	}
}
