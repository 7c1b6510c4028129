// Command gateway measures the approval gateway in one process, over its
// real transports: wrappers' requests over the unix socket, an approver's
// event stream and decisions over HTTPS (TLS 1.3).
//
//   - request-to-card latency: a wrapper sends a request -> the "new" event
//     reaches a connected client; compared as a ratio to a bare HTTP round
//     trip over the same unix socket (GET /v1/status), its peer;
//   - 200 concurrent pending requests: all held, all listed, all streamed,
//     each answered out of order with its own answer, none lost.
//
// go run ./bench/gateway [-n 300] [-pending 200]
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"hermes-exec/approval"
	gwapproval "hermes-exec/approval/gateway"
	"hermes-exec/gateway"
	"hermes-exec/gateway/authz"
	"hermes-exec/gateway/pairing"
	"hermes-exec/gateway/web"
	"hermes-exec/gateway/wire"
	"hermes-exec/policy"
)

func main() {
	n := flag.Int("n", 300, "latency samples")
	pend := flag.Int("pending", 200, "concurrent pending requests")
	flag.Parse()
	if err := run(*n, *pend); err != nil {
		fmt.Fprintln(os.Stderr, "bench/gateway:", err)
		os.Exit(1)
	}
}

type rig struct {
	hub    *gateway.Server
	sock   string
	url    string
	client *http.Client
	events chan wire.Event
}

func setup(dir string) (*rig, error) {
	store := &pairing.Store{Dir: filepath.Join(dir, "pairing")}
	az := &authz.Authorizer{Getenv: func(string) string { return "" }, Pairing: store}
	hub := gateway.NewServer(gateway.Options{Authorized: az.Authorized, Pairing: store, HasApprovers: func() bool { return true }})
	sock := filepath.Join(dir, "run", "gateway.sock")
	sl, err := gateway.ListenSocket(sock)
	if err != nil {
		return nil, err
	}
	go gateway.ServeSocket(context.Background(), sl, gateway.SocketHandler(hub, func() wire.Status {
		return wire.Status{Running: true, Pending: len(hub.Pending())}
	}))
	cert, _, err := gateway.EnsureCert(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), []string{"127.0.0.1"})
	if err != nil {
		return nil, err
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go (&http.Server{Handler: web.Handler(web.Options{Hub: hub, Pairing: store})}).Serve(
		tls.NewListener(tl, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}))
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // our own certificate, made just above
		MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64,
	}}
	r := &rig{hub: hub, sock: sock, url: "https://" + tl.Addr().String(), client: c, events: make(chan wire.Event, 4096)}
	// Pair the approver the way a browser does.
	res, err := c.Post(r.url+"/api/v1/pair", "application/json", strings.NewReader(`{"name":"bench"}`))
	if err != nil {
		return nil, err
	}
	var p struct{ Code string }
	json.NewDecoder(res.Body).Decode(&p)
	res.Body.Close()
	if _, err := store.ApproveAny(p.Code); err != nil {
		return nil, err
	}
	res, err = c.Get(r.url + "/api/v1/events")
	if err != nil || res.StatusCode != 200 {
		return nil, fmt.Errorf("events: %v %v", err, res)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	go func() {
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var ev wire.Event
				if json.Unmarshal([]byte(d), &ev) == nil && ev.Kind != "snapshot" {
					r.events <- ev
				}
			}
		}
	}()
	return r, nil
}

func request(i int) approval.Request {
	cmd := fmt.Sprintf("git push --force origin branch-%d", i)
	return approval.Request{ID: approval.NewID(), Command: cmd, Timeout: 5 * time.Minute, CanAlways: true,
		Findings: []policy.Finding{{Rule: "git-destructive", Description: "force push", Command: cmd, Pos: "1:1", Decision: policy.Ask}}}
}

func (r *rig) decide(id, answer string) error {
	res, err := r.client.Post(r.url+"/api/v1/requests/"+id+"/decision", "application/json", strings.NewReader(`{"decision":"`+answer+`"}`))
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("decision %s: HTTP %d", id, res.StatusCode)
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

func p99(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)*99/100]
}

func run(n, pend int) error {
	dir, err := os.MkdirTemp("", "hermes-bench-gateway")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r, err := setup(dir)
	if err != nil {
		return err
	}
	ap := gwapproval.New(r.sock)

	// Latency, alternating with the peer so both see the same machine.
	var card, peer []time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := ap.Status(context.Background()); err != nil {
			return err
		}
		peer = append(peer, time.Since(t0))

		req := request(i)
		done := make(chan error, 1)
		t0 = time.Now()
		go func() { _, err := ap.Ask(context.Background(), req); done <- err }()
		ev := <-r.events
		card = append(card, time.Since(t0))
		if ev.Kind != "new" || ev.Request.ID != req.ID {
			return fmt.Errorf("event %s %s, want new %s", ev.Kind, ev.Request.ID, req.ID)
		}
		if err := r.decide(req.ID, "once"); err != nil {
			return err
		}
		if err := <-done; err != nil {
			return err
		}
		<-r.events // resolved
	}
	mc, mp := median(card), median(peer)
	fmt.Printf("request-to-card latency: median %v, p99 %v (n=%d)\n", mc.Round(time.Microsecond), p99(card).Round(time.Microsecond), n)
	fmt.Printf("peer, HTTP round trip on the unix socket: median %v\n", mp.Round(time.Microsecond))
	fmt.Printf("ratio card/peer: %.2f\n", float64(mc)/float64(mp))

	// Many pending at once.
	reqs := make([]approval.Request, pend)
	replies := make([]approval.Reply, pend)
	errs := make([]error, pend)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range reqs {
		reqs[i] = request(i)
		wg.Add(1)
		go func() { defer wg.Done(); replies[i], errs[i] = ap.Ask(context.Background(), reqs[i]) }()
	}
	seen := map[string]bool{}
	for len(seen) < pend {
		select {
		case ev := <-r.events:
			if ev.Kind == "new" {
				seen[ev.Request.ID] = true
			}
		case <-time.After(30 * time.Second):
			return fmt.Errorf("only %d of %d requests reached the client", len(seen), pend)
		}
	}
	held := time.Since(t0)
	res, err := r.client.Get(r.url + "/api/v1/requests")
	if err != nil {
		return err
	}
	var list []wire.Request
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list) != pend {
		return fmt.Errorf("the API lists %d of %d pending requests", len(list), pend)
	}
	answers := []string{"once", "session", "deny"}
	order := rand.Perm(pend)
	var dwg sync.WaitGroup
	derrs := make(chan error, pend)
	sem := make(chan struct{}, 16)
	for _, i := range order {
		dwg.Add(1)
		sem <- struct{}{}
		go func() {
			defer dwg.Done()
			defer func() { <-sem }()
			if err := r.decide(reqs[i].ID, answers[i%3]); err != nil {
				derrs <- err
			}
		}()
	}
	dwg.Wait()
	wg.Wait()
	close(derrs)
	for err := range derrs {
		return err
	}
	lost := 0
	for i := range reqs {
		want, _ := wire.ParseAnswer(answers[i%3])
		if errs[i] != nil || replies[i].Answer != want {
			lost++
		}
	}
	fmt.Printf("%d concurrent pending: all streamed to the client in %v, all listed, answered in random order: %d lost or crossed\n",
		pend, held.Round(time.Millisecond), lost)
	if lost > 0 {
		return fmt.Errorf("%d requests lost or crossed", lost)
	}
	return nil
}
