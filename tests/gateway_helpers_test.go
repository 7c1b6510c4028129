package tests

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/testutil"
)

// gatewayProc is a running `hermes-exec gateway run`.
type gatewayProc struct {
	e           *env
	cmd         *exec.Cmd
	url         string
	fingerprint string
	out         *testutil.Buffer
	done        chan struct{}
}

// startGateway runs the gateway on a free loopback port and waits until
// it serves.
func (e *env) startGateway(args ...string) *gatewayProc {
	e.t.Helper()
	c := exec.Command(e.bin, append([]string{"gateway", "run", "--listen", "127.0.0.1:0"}, args...)...)
	c.Dir = e.dir
	c.Env = e.baseEnv()
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: e.credential()}
	g := &gatewayProc{e: e, cmd: c, out: &testutil.Buffer{}, done: make(chan struct{})}
	c.Stdout, c.Stderr = g.out, g.out
	if err := c.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { c.Wait(); close(g.done) }()
	e.t.Cleanup(g.stop)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out := g.out.String()
		if strings.Contains(out, "wrappers connect to") {
			for _, line := range strings.Split(out, "\n") {
				if _, u, ok := strings.Cut(line, "approvals at "); ok {
					g.url = strings.TrimSuffix(strings.TrimSpace(u), "/")
				}
				if _, f, ok := strings.Cut(line, "fingerprint "); ok {
					g.fingerprint = strings.TrimSpace(f)
				}
			}
			return g
		}
		select {
		case <-g.done:
			e.t.Fatalf("gateway exited at start:\n%s", out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	e.t.Fatalf("gateway did not start:\n%s", g.out.String())
	return nil
}

func (g *gatewayProc) stop() {
	select {
	case <-g.done:
	default:
		g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.done:
		case <-time.After(5 * time.Second):
			g.cmd.Process.Kill()
			<-g.done
		}
	}
}

// kill ends the gateway with SIGKILL: no clean-up of its own.
func (g *gatewayProc) kill() {
	g.cmd.Process.Kill()
	<-g.done
}

// client is an approver's HTTPS client that trusts exactly the gateway's
// certificate, with its own cookie jar (its own session).
func (g *gatewayProc) client() *http.Client {
	g.e.t.Helper()
	pemData, err := os.ReadFile(filepath.Join(g.e.home, "gateway-cert.pem"))
	if err != nil {
		g.e.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
	}}
}

// api calls the approver API and decodes the JSON answer into out.
func (g *gatewayProc) api(c *http.Client, method, path, body string, out any) int {
	g.e.t.Helper()
	req, _ := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		g.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil {
		json.Unmarshal(data, out)
	}
	return res.StatusCode
}

// pairedClient pairs a new session as name, confirming the code on the
// host with `hermes-exec gateway pair CODE`.
func (g *gatewayProc) pairedClient(name string) *http.Client {
	g.e.t.Helper()
	c := g.client()
	var p struct{ Code string }
	if st := g.api(c, "POST", "/api/v1/pair", `{"name":"`+name+`"}`, &p); st != 200 || len(p.Code) != 8 {
		g.e.t.Fatalf("pair: %d %+v", st, p)
	}
	if r := g.e.run(nil, "gateway", "pair", p.Code); r.code != 0 {
		g.e.t.Fatalf("gateway pair: %d %s", r.code, r.stderr)
	}
	return c
}

type apiRequest struct {
	ID        string    `json:"id"`
	Command   string    `json:"command"`
	Cwd       string    `json:"cwd"`
	User      string    `json:"user"`
	Session   string    `json:"session"`
	ExpiresAt time.Time `json:"expires_at"`
	Findings  []struct {
		Rule string `json:"rule"`
	} `json:"findings"`
}

// waitRequests polls the API until n requests are pending.
func (g *gatewayProc) waitRequests(c *http.Client, n int) []apiRequest {
	g.e.t.Helper()
	var list []apiRequest
	for i := 0; i < 400; i++ {
		list = nil
		if st := g.api(c, "GET", "/api/v1/requests", "", &list); st != 200 {
			g.e.t.Fatalf("list: %d", st)
		}
		if len(list) == n {
			return list
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.e.t.Fatalf("%d requests pending, want %d", len(list), n)
	return nil
}

// background runs hermes-exec without a terminal and returns its result
// when it ends.
func (e *env) background(extraEnv []string, args ...string) <-chan result {
	ch := make(chan result, 1)
	c := e.cmd(extraEnv, args...)
	go func() { ch <- runCmd(e.t, c) }()
	return ch
}

func waitResult(t *testing.T, ch <-chan result, within time.Duration) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(within):
		t.Fatalf("hermes-exec still running after %v", within)
	}
	return result{}
}

// sseReader reads server-sent events' data lines.
func sseReader(t *testing.T, body io.Reader) func() map[string]any {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return func() map[string]any {
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var m map[string]any
				json.Unmarshal([]byte(d), &m)
				return m
			}
		}
		t.Fatal("event stream ended")
		return nil
	}
}
