package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hermes-exec/telegram/botapitest"
)

// The Telegram bridge end to end: a wrapper with no terminal, the gateway
// daemon with gateway.telegram enabled, and the Bot API stand-in, where
// the test plays the Telegram users.
func TestGatewayTelegramEndToEnd(t *testing.T) {
	const token = "424242:AAE2e-telegram_test-token"
	var (
		alice   = botapitest.User{ID: 1001, FirstName: "Alice", Username: "alice"}
		mallory = botapitest.User{ID: 666, FirstName: "Mallory"}
	)
	api := botapitest.New(token)
	defer api.Close()
	api.Send(alice, "/start")

	e := newEnv(t)
	if err := os.WriteFile(filepath.Join(e.home, ".env"), []byte("TELEGRAM_BOT_TOKEN="+token+"\nTELEGRAM_ALLOWED_USERS=1001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.writeConfig("approvals:\n  timeout: 60\ngateway:\n  telegram:\n    enabled: true\n    api_url: " + api.URL() + "\n")
	g := e.startGateway()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The bridge is up once it polls.
	if err := api.WaitUntil(ctx, func() bool { return len(api.Calls("getUpdates")) > 0 }); err != nil {
		t.Fatalf("the bridge never polled: %v\n%s", err, g.out.String())
	}
	card := func(cmd string) botapitest.Message {
		t.Helper()
		m, err := api.WaitMessage(ctx, alice.ID, func(m botapitest.Message) bool {
			return strings.Contains(m.Text, cmd) && len(m.Buttons()) > 0
		})
		if err != nil {
			t.Fatalf("no card for %q: %v\ngateway:\n%s", cmd, err, g.out.String())
		}
		return m
	}
	click := func(u botapitest.User, m botapitest.Message, label string) botapitest.CallbackAnswer {
		t.Helper()
		b, ok := m.ButtonByText(label)
		if !ok {
			t.Fatalf("no %q button on %+v", label, m)
		}
		q := api.ClickData(u, m, b.CallbackData)
		a, err := api.Answer(ctx, q)
		if err != nil {
			t.Fatalf("click not acknowledged: %v\n%s", err, g.out.String())
		}
		return a
	}

	// A stranger's click changes nothing; Alice's "Allow once" runs it.
	done := e.background(nil, "-c", markCmd("tg-once"))
	m := card(markCmd("tg-once"))
	if a := click(mallory, m, "Allow once"); !a.ShowAlert || !strings.Contains(a.Text, "not authorized") {
		t.Errorf("stranger's click: %+v", a)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "tg-once")); err == nil {
		t.Fatal("a stranger's click ran the command")
	}
	click(alice, m, "Allow once")
	if res := waitResult(t, done, 20*time.Second); res.code != 0 {
		t.Fatalf("approved on Telegram: %d %s\n%s", res.code, res.stderr, g.out.String())
	}
	if _, err := os.Stat(filepath.Join(e.dir, "tg-once")); err != nil {
		t.Fatal("the approved command did not run")
	}
	if rec := e.lastAudit(); rec["approver"] != "telegram:1001" {
		t.Errorf("audit: %v", rec)
	}
	// The card says who answered and has no buttons left.
	if err := api.WaitUntil(ctx, func() bool {
		cur, _ := api.Message(alice.ID, m.MessageID)
		return cur.ReplyMarkup == nil && strings.Contains(cur.Text, "Allowed once by telegram:1001")
	}); err != nil {
		cur, _ := api.Message(alice.ID, m.MessageID)
		t.Errorf("card after the answer: %+v", cur)
	}

	// /deny with a reason, as a reply to the card: exit 126, the agent
	// reads the reason, nothing ran.
	done = e.background(nil, "-c", markCmd("tg-deny"))
	m = card(markCmd("tg-deny"))
	api.Reply(alice, m.MessageID, "/deny not on a Friday")
	res := waitResult(t, done, 20*time.Second)
	if res.code != 126 || !strings.Contains(res.stderr, "hermes-exec: denied: denied by telegram:1001: not on a Friday") {
		t.Fatalf("denied on Telegram: %d %q", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "tg-deny")); err == nil {
		t.Fatal("a denied command ran")
	}

	// The token is in no output of the gateway and nowhere in the audit log.
	g.stop()
	audit, _ := os.ReadFile(filepath.Join(e.home, "audit.jsonl"))
	for where, s := range map[string]string{"the gateway's output": g.out.String(), "the audit log": string(audit)} {
		if strings.Contains(s, token) || strings.Contains(s, strings.SplitN(token, ":", 2)[1]) {
			t.Errorf("the bot token appears in %s", where)
		}
	}
}

// With no allowlist, a stranger who writes to the bot gets a pairing code;
// the operator's `hermes-exec gateway pair CODE` makes them an approver,
// whose cards then work. With TELEGRAM_ALLOWED_USERS set, strangers get
// nothing.
func TestGatewayTelegramPairing(t *testing.T) {
	const token = "434343:AAE2e-pairing_test-token"
	bea := botapitest.User{ID: 2002, FirstName: "Bea"}
	api := botapitest.New(token)
	defer api.Close()

	e := newEnv(t)
	if err := os.WriteFile(filepath.Join(e.home, ".env"), []byte("TELEGRAM_BOT_TOKEN="+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.writeConfig("approvals:\n  timeout: 60\ngateway:\n  telegram:\n    enabled: true\n    api_url: " + api.URL() + "\n")
	g := e.startGateway()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	api.Send(bea, "hello")
	m, err := api.WaitMessage(ctx, bea.ID, func(m botapitest.Message) bool { return strings.Contains(m.Text, "hermes-exec gateway pair ") })
	if err != nil {
		t.Fatalf("no pairing code: %v\n%s", err, g.out.String())
	}
	_, code, _ := strings.Cut(m.Text, "hermes-exec gateway pair ")
	code = strings.Fields(code)[0]
	if res := e.run(nil, "gateway", "pair", code); res.code != 0 {
		t.Fatalf("gateway pair: %d %s %s", res.code, res.stdout, res.stderr)
	}
	done := e.background(nil, "-c", markCmd("tg-paired"))
	card, err := api.WaitMessage(ctx, bea.ID, func(m botapitest.Message) bool { return len(m.Buttons()) > 0 })
	if err != nil {
		t.Fatalf("the paired user got no card: %v\n%s", err, g.out.String())
	}
	b, _ := card.ButtonByText("Allow once")
	if _, err := api.Answer(ctx, api.ClickData(bea, card, b.CallbackData)); err != nil {
		t.Fatal(err)
	}
	if res := waitResult(t, done, 20*time.Second); res.code != 0 {
		t.Fatalf("approved by the paired user: %d %s", res.code, res.stderr)
	}
	if rec := e.lastAudit(); rec["approver"] != "telegram:2002" {
		t.Errorf("audit: %v", rec)
	}
	g.stop()

	// An allowlist closes pairing: a new stranger gets no answer.
	if err := os.WriteFile(filepath.Join(e.home, ".env"), []byte("TELEGRAM_BOT_TOKEN="+token+"\nTELEGRAM_ALLOWED_USERS=2002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g = e.startGateway()
	cy := botapitest.User{ID: 3003, FirstName: "Cy"}
	api.Send(cy, "hello")
	api.Send(bea, "/status")
	if _, err := api.WaitMessage(ctx, bea.ID, func(m botapitest.Message) bool { return strings.Contains(m.Text, "YOLO") }); err != nil {
		t.Fatalf("no /status answer: %v\n%s", err, g.out.String())
	}
	// Updates are handled in order: Cy's message was handled before Bea's.
	if ms := api.Messages(cy.ID); len(ms) != 0 {
		t.Errorf("a stranger got an answer beside an allowlist: %+v", ms)
	}
}
