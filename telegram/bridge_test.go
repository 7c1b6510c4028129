package telegram

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"hermes-exec/approval"
	"hermes-exec/gateway"
	"hermes-exec/telegram/botapitest"
	"hermes-exec/telegram/internal/fakehub"
)

func TestCardShowsTheRequestToEveryApprover(t *testing.T) {
	h := newHarness(t, setup{})
	p := h.hub.Add(dangerous(`rm -rf /var/lib/<db> && echo "a&b"`))
	for _, u := range []botapitest.User{alice, bob} {
		m := h.card(u, p.ID)
		for _, want := range []string{"buildbox", "dev", "/srv/app", `rm -rf /var/lib/<db> && echo "a&b"`, "delete-recursive-system", "recursive delete of a system path", "means deny"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("%s's card lacks %q:\n%s", u.FirstName, want, m.Text)
			}
		}
		for _, b := range []string{"✅ Allow once", "✅ Session", "✅ Always", "❌ Deny"} {
			btn, ok := m.ButtonByText(b)
			if !ok {
				t.Errorf("%s's card has no %q button: %+v", u.FirstName, b, m.Buttons())
				continue
			}
			if !strings.Contains(btn.CallbackData, p.ID) || len(btn.CallbackData) > 64 {
				t.Errorf("button %q carries %q: not the request id within 64 bytes", b, btn.CallbackData)
			}
		}
	}
	// Mallory is no approver: no card.
	if ms := h.api.Messages(mallory.ID); len(ms) != 0 {
		t.Errorf("a stranger got messages: %+v", ms)
	}
}

func TestAuthorizedClickApprovesExactlyItsRequest(t *testing.T) {
	h := newHarness(t, setup{})
	a := h.hub.Add(dangerous("git push --force origin main"))
	b := h.hub.Add(dangerous("rm -rf /opt/data"))
	cardB := h.card(alice, b.ID)
	h.card(alice, a.ID)

	ans := h.click(alice, cardB, opOnce, b.ID)
	if ans.ShowAlert || !strings.Contains(ans.Text, "Allowed once") {
		t.Errorf("click acknowledged with %+v", ans)
	}
	ev := h.outcome(b.ID)
	if ev.Kind != gateway.EventResolved || ev.Answer != approval.AnswerOnce || ev.By.String() != "telegram:1001" {
		t.Errorf("request B ended %+v, want allowed once by telegram:1001", ev)
	}
	if _, done := h.hub.Outcome(a.ID); done {
		t.Error("the click on B's card decided A too")
	}
	// Every card of B (Alice's and Bob's) says so and loses its buttons;
	// A's cards keep theirs.
	for _, u := range []botapitest.User{alice, bob} {
		m := h.closed(h.card(u, b.ID))
		if !strings.Contains(m.Text, "Allowed once by telegram:1001 (@alice)") {
			t.Errorf("%s's card of B after the click:\n%s", u.FirstName, m.Text)
		}
		cardA := h.card(u, a.ID)
		if _, ok := cardA.Button(opDeny + ":" + a.ID); !ok {
			t.Errorf("%s's card of A lost its buttons", u.FirstName)
		}
	}
}

func TestUnauthorizedClickChangesNothing(t *testing.T) {
	h := newHarness(t, setup{})
	p := h.hub.Add(dangerous("mkfs.ext4 /dev/sda1"))
	card := h.card(alice, p.ID)

	// A stranger forging a click on Alice's card.
	q := h.api.ClickData(mallory, card, opOnce+":"+p.ID)
	ans, err := h.api.Answer(h.ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !ans.ShowAlert || ans.Text != NotAuthorized {
		t.Errorf("stranger's click answered %+v, want the alert %q", ans, NotAuthorized)
	}
	// A revoked approver clicking their own card.
	bobCard := h.card(bob, p.ID)
	h.hub.Revoke(fakehub.Telegram(bob.ID))
	ans = h.click(bob, bobCard, opAlways, p.ID)
	if !ans.ShowAlert || ans.Text != NotAuthorized {
		t.Errorf("revoked approver's click answered %+v", ans)
	}
	if _, done := h.hub.Outcome(p.ID); done {
		t.Fatal("an unauthorized click decided the request")
	}
	if len(h.hub.Pending()) != 1 {
		t.Fatal("the request is no longer pending")
	}
	refused := map[string]bool{}
	for _, a := range h.hub.Audit() {
		if a.Kind == "unauthorized" {
			refused[a.Who.ID] = true
		}
	}
	if !refused["666"] || !refused["1002"] {
		t.Errorf("the unauthorized clicks were not audited: %+v", h.hub.Audit())
	}
	for _, u := range []botapitest.User{alice, bob} {
		m, _ := h.api.Message(u.ID, h.card(u, p.ID).MessageID)
		if m.EditDate != 0 || len(m.Buttons()) == 0 {
			t.Errorf("%s's card changed after unauthorized clicks: %+v", u.FirstName, m)
		}
	}
	// Alice can still answer it.
	h.click(alice, card, opDeny, p.ID)
	if ev := h.outcome(p.ID); ev.Answer != approval.AnswerDeny || ev.By.ID != "1001" {
		t.Errorf("after the unauthorized clicks, Alice's deny gave %+v", ev)
	}
}

func TestTwoPendingCardsResolveByID(t *testing.T) {
	h := newHarness(t, setup{})
	a := h.hub.Add(dangerous("terraform apply -auto-approve"))
	b := h.hub.Add(dangerous("kubectl delete ns prod"))
	// Answered out of order, from two approvers.
	h.click(bob, h.card(bob, b.ID), opSession, b.ID)
	h.click(alice, h.card(alice, a.ID), opDeny, a.ID)
	if ev := h.outcome(a.ID); ev.Answer != approval.AnswerDeny || ev.By.ID != "1001" {
		t.Errorf("A: %+v, want denied by Alice", ev)
	}
	if ev := h.outcome(b.ID); ev.Answer != approval.AnswerSession || ev.By.ID != "1002" {
		t.Errorf("B: %+v, want session by Bob", ev)
	}
	// A late click on a finished card's stale copy is "already decided".
	stale := h.api.ClickData(alice, h.card(alice, b.ID), opOnce+":"+b.ID)
	ans, err := h.api.Answer(h.ctx, stale)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ans.Text, "already decided") {
		t.Errorf("late click answered %+v", ans)
	}
	if ev := h.outcome(b.ID); ev.Answer != approval.AnswerSession {
		t.Errorf("the late click changed B: %+v", ev)
	}
}

func TestDenyReasonReachesTheAgent(t *testing.T) {
	h := newHarness(t, setup{})
	a := h.hub.Add(dangerous("dd if=/dev/zero of=/dev/sda"))
	b := h.hub.Add(dangerous("shutdown -h now"))
	cardB := h.card(alice, b.ID)
	h.card(alice, a.ID)
	// A reply to B's card denies B, not the oldest request.
	h.api.Reply(alice, cardB.MessageID, "/deny not on the build box, use the staging VM")
	ev := h.outcome(b.ID)
	if ev.Answer != approval.AnswerDeny || ev.Reason != "not on the build box, use the staging VM" || ev.By.ID != "1001" {
		t.Errorf("B ended %+v", ev)
	}
	if _, done := h.hub.Outcome(a.ID); done {
		t.Fatal("the reply to B's card decided A")
	}
	m := h.closed(cardB)
	if !strings.Contains(m.Text, "Denied by telegram:1001") || !strings.Contains(m.Text, "not on the build box") {
		t.Errorf("B's card after /deny:\n%s", m.Text)
	}
	// Without a reply, /deny is about the oldest request.
	h.api.Send(bob, "/deny")
	if ev := h.outcome(a.ID); ev.Answer != approval.AnswerDeny || ev.By.ID != "1002" || ev.Reason != "" {
		t.Errorf("A ended %+v", ev)
	}
}

func TestApproveCommands(t *testing.T) {
	h := newHarness(t, setup{})
	a := h.hub.Add(dangerous("git reset --hard HEAD~3"))
	b := h.hub.Add(dangerous("git clean -fdx"))
	noAlways := dangerous(`eval "$CMD"`)
	noAlways.CanAlways = false
	c := h.hub.Add(noAlways)
	cardB := h.card(alice, b.ID)
	cardC := h.card(alice, c.ID)
	if _, ok := cardC.ButtonByText("Always"); ok {
		t.Error("a request that cannot be allowlisted has an Always button")
	}

	h.api.Reply(alice, cardB.MessageID, "/approve session")
	if ev := h.outcome(b.ID); ev.Answer != approval.AnswerSession {
		t.Errorf("/approve session as a reply: %+v", ev)
	}
	n := len(h.api.Messages(alice.ID))
	h.api.Reply(alice, cardC.MessageID, "/approve always")
	h.reply(alice, n, "cannot be added to the allowlist")
	if _, done := h.hub.Outcome(c.ID); done {
		t.Error("/approve always decided a request that cannot be allowlisted")
	}
	h.api.Send(alice, "/approve@"+h.api.Bot.Username)
	if ev := h.outcome(a.ID); ev.Answer != approval.AnswerOnce {
		t.Errorf("/approve (the oldest) gave %+v", ev)
	}
	n = len(h.api.Messages(alice.ID))
	h.api.Reply(alice, cardB.MessageID, "/approve")
	h.reply(alice, n, "already decided")
	h.api.Send(alice, "/approve always")
	// c is the oldest now, and cannot be allowlisted.
	h.settle(alice)
	if _, done := h.hub.Outcome(c.ID); done {
		t.Error("/approve always decided the oldest request, which cannot be allowlisted")
	}
}

func TestStatusAndYolo(t *testing.T) {
	h := newHarness(t, setup{})
	p := h.hub.Add(dangerous("systemctl stop nginx"))
	card := h.card(alice, p.ID)
	n := len(h.api.Messages(alice.ID))
	h.api.Send(alice, "/status")
	st := h.reply(alice, n, "1 pending")
	if !strings.Contains(st.Text, "1 pending") || !strings.Contains(st.Text, shortID(p.ID)) || !strings.Contains(st.Text, "session sess-1: off") {
		t.Errorf("/status:\n%s", st.Text)
	}
	n = len(h.api.Messages(alice.ID))
	h.api.Reply(alice, card.MessageID, "/yolo")
	h.reply(alice, n, "YOLO is ON for session sess-1")
	if !h.hub.Yolo("sess-1") {
		t.Fatal("/yolo did not switch the session's yolo on")
	}
	audited := false
	for _, a := range h.hub.Audit() {
		audited = audited || a.Kind == "yolo" && a.Who.ID == "1001" && a.Detail == "sess-1=true"
	}
	if !audited {
		t.Errorf("the yolo switch was not made through the hub as Alice: %+v", h.hub.Audit())
	}
	n = len(h.api.Messages(alice.ID))
	h.api.Send(alice, "/status")
	if st := h.reply(alice, n, "YOLO"); !strings.Contains(st.Text, "session sess-1: ON") {
		t.Errorf("/status after /yolo:\n%s", st.Text)
	}
	n = len(h.api.Messages(alice.ID))
	h.api.Send(alice, "/yolo")
	h.reply(alice, n, "YOLO is off for session sess-1")
	if h.hub.Yolo("sess-1") {
		t.Error("a second /yolo did not switch it off")
	}
	// A stranger's /yolo does nothing (and with an allowlist, gets nothing).
	h.api.Send(mallory, "/yolo on sess-1")
	h.settle(alice)
	if h.hub.Yolo("sess-1") || len(h.api.Messages(mallory.ID)) != 0 {
		t.Error("a stranger's /yolo had an effect or an answer")
	}
}

func TestStrangerGetsCodeOnlyWithoutAllowlist(t *testing.T) {
	t.Run("allowlist", func(t *testing.T) {
		h := newHarness(t, setup{})
		h.api.Send(mallory, "hello")
		h.api.Send(mallory, "/approve")
		h.settle(alice)
		if ms := h.api.Messages(mallory.ID); len(ms) != 0 {
			t.Errorf("a stranger got an answer with an allowlist configured: %+v", ms)
		}
		if h.hub.Codes() != 0 {
			t.Error("a code was issued")
		}
	})
	t.Run("allowlist, pairing asked for", func(t *testing.T) {
		hub := fakehub.New(fakehub.Telegram(alice.ID))
		hub.OpenPairing()
		h := newHarness(t, setup{hub: hub, allowed: []int64{alice.ID}, started: []botapitest.User{alice}})
		h.api.Send(mallory, "hi")
		h.reply(mallory, 0, "hermes-exec gateway pair ")
	})
	t.Run("no allowlist", func(t *testing.T) {
		hub := fakehub.New()
		h := newHarness(t, setup{hub: hub, allowed: []int64{}, started: []botapitest.User{}})
		h.api.Send(mallory, "hi")
		m := h.reply(mallory, 0, "hermes-exec gateway pair ")
		code := pairingCode(t, m.Text)
		if !strings.Contains(m.Text, "Your pairing code: "+code) {
			t.Errorf("pairing message:\n%s", m.Text)
		}
		// Asking again gives no second code (the gateway's rate limit).
		h.api.Send(mallory, "hi again")
		h.reply(mallory, 1, "try again later")
		// Told once: more messages get no more answers.
		h.api.Send(mallory, "hello??")
		h.api.Send(alice, "/start") // Alice is no approver here: a code for her
		h.reply(alice, 0, "hermes-exec gateway pair ")
		if n := len(h.api.Messages(mallory.ID)); n != 2 {
			t.Errorf("%d answers to the stranger, want 2", n)
		}
		who, err := hub.Pair(code)
		if err != nil || who.ID != "666" {
			t.Fatalf("the code pairs %v, %v", who, err)
		}
		// Paired, Mallory gets cards and may answer them.
		p := hub.Add(dangerous("pkill -9 node"))
		card := h.card(mallory, p.ID)
		h.click(mallory, card, opOnce, p.ID)
		if ev := h.outcome(p.ID); ev.Answer != approval.AnswerOnce || ev.By.ID != "666" {
			t.Errorf("paired user's click: %+v", ev)
		}
	})
}

func pairingCode(t *testing.T, text string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, "hermes-exec gateway pair ")
	if !ok || len(rest) < 8 {
		t.Fatalf("no code in %q", text)
	}
	return rest[:8]
}

func TestCardsCloseWhenTheRequestEndsElsewhere(t *testing.T) {
	h := newHarness(t, setup{})
	web := h.hub.Add(dangerous("rm -rf ~/project"))
	gone := h.hub.Add(dangerous("chmod -R 777 /etc"))
	late := h.hub.Add(dangerous("iptables -F"))
	for _, p := range []gateway.Pending{web, gone, late} {
		h.card(alice, p.ID)
		h.card(bob, p.ID)
	}
	h.hub.Allow(gateway.Identity{Platform: "web", ID: "s1"})
	if err := h.hub.Decide(web.ID, gateway.Decision{Answer: approval.AnswerDeny, Reason: "no", By: gateway.Identity{Platform: "web", ID: "s1", Name: "laptop"}}); err != nil {
		t.Fatal(err)
	}
	h.hub.Withdraw(gone.ID)
	h.hub.Expire(late.ID)
	want := map[string]string{web.ID: "Denied by web:s1 (laptop): no", gone.ID: "Withdrawn", late.ID: "Timed out"}
	for id, text := range want {
		for _, u := range []botapitest.User{alice, bob} {
			m := h.closed(h.card(u, id))
			if !strings.Contains(m.Text, text) {
				t.Errorf("%s's card of %s: want %q in\n%s", u.FirstName, id, text, m.Text)
			}
		}
	}
}

func TestPendingAtStartGetCards(t *testing.T) {
	hub := fakehub.New(fakehub.Telegram(alice.ID))
	p := hub.Add(dangerous("crontab -r"))
	h := newHarness(t, setup{hub: hub, allowed: []int64{alice.ID}, started: []botapitest.User{alice}})
	h.card(alice, p.ID)
	// One card, though the request was both listed and (for a hub that
	// replays) could arrive as an event.
	if n := len(h.api.Calls("sendMessage")); n < 1 {
		t.Fatal("no card sent")
	}
}

func TestLongCommandIsShortenedWithTheFullTextOneTapAway(t *testing.T) {
	h := newHarness(t, setup{})
	long := "python3 -c '" + strings.Repeat("print(\"<x> & y\"); ", 400) + "' && rm -rf /tmp/END-MARKER"
	p := h.hub.Add(dangerous(long))
	card := h.card(alice, p.ID)
	if strings.Contains(card.Text, "END-MARKER") || !strings.Contains(card.Text, "shortened") {
		t.Errorf("a long command is not shortened on the card (%d chars)", len(card.Text))
	}
	n := len(h.api.Messages(alice.ID))
	ans := h.click(alice, card, opFull, p.ID)
	if ans.ShowAlert {
		t.Errorf("full-command click: %+v", ans)
	}
	var full strings.Builder
	err := h.api.WaitUntil(h.ctx, func() bool {
		full.Reset()
		for _, m := range h.api.Messages(alice.ID)[n:] {
			head, body, _ := strings.Cut(m.Text, "\n")
			if !strings.HasPrefix(head, "📄 "+shortID(p.ID)) {
				continue // the reply to /start, say
			}
			full.WriteString(body)
		}
		return strings.Contains(full.String(), "END-MARKER")
	})
	if err != nil {
		t.Fatal(err)
	}
	if full.String() != long {
		t.Errorf("the full command, reassembled, differs from the request's (%d vs %d chars)", full.Len(), len(long))
	}
	if _, done := h.hub.Outcome(p.ID); done {
		t.Error("asking for the full command decided the request")
	}
}

func TestStaleWebhookIsDeletedAtStart(t *testing.T) {
	h := newHarness(t, setup{before: func(h *harness) { h.api.SetWebhook("https://old.example/hook") }})
	h.settle(alice)
	if h.api.Webhook() != "" {
		t.Error("the webhook is still set")
	}
	if calls := h.api.Calls(""); calls[0].Method != "deleteWebhook" {
		t.Errorf("first call %s, want deleteWebhook", calls[0].Method)
	}
}

func TestApproverWhoWritesLaterGetsThePendingCards(t *testing.T) {
	// Alice is an approver by the gateway's rules (say GATEWAY_ALLOWED_USERS)
	// but not in TELEGRAM_ALLOWED_USERS, so the bridge learns her chat only
	// when she writes.
	hub := fakehub.New(fakehub.Telegram(alice.ID))
	h := newHarness(t, setup{hub: hub, allowed: []int64{}, started: []botapitest.User{}})
	p := hub.Add(dangerous("rm -rf /home"))
	h.api.Send(alice, "/status")
	card := h.card(alice, p.ID)
	h.click(alice, card, opOnce, p.ID)
	if ev := h.outcome(p.ID); ev.Answer != approval.AnswerOnce {
		t.Errorf("%+v", ev)
	}
	h.closed(card)
	n := 0
	for _, m := range h.api.Messages(alice.ID) {
		if strings.Contains(m.Text, p.ID) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d cards for one request in one chat", n)
	}
}

func TestMissedEventsAreCaughtUpAfterTheGatewayDropsTheSubscription(t *testing.T) {
	h := newHarness(t, setup{})
	a := h.hub.Add(dangerous("rm -rf /data"))
	cardA := h.card(alice, a.ID)
	var b gateway.Pending
	h.hub.Lag(func() {
		// Unheard by the bridge: A ends, B arrives.
		h.hub.Withdraw(a.ID)
		b = h.hub.Add(dangerous("mkfs /dev/sdc"))
	})
	h.card(alice, b.ID)
	if m := h.closed(cardA); !strings.Contains(m.Text, "No longer pending") {
		t.Errorf("A's card after the missed withdrawal:\n%s", m.Text)
	}
	// And the new subscription works.
	h.hub.Expire(b.ID)
	if m := h.closed(h.card(alice, b.ID)); !strings.Contains(m.Text, "Timed out") {
		t.Errorf("B's card:\n%s", m.Text)
	}
}

func TestTheHubsApproversGetCards(t *testing.T) {
	carol := botapitest.User{ID: 1003, FirstName: "Carol"}
	hub := fakehub.New(fakehub.Telegram(alice.ID), fakehub.Telegram(carol.ID))
	hub.ListApprovers(fakehub.Telegram(carol.ID), fakehub.Telegram(bob.ID))
	// Bob is listed but not authorized (revoked, say).
	h := newHarness(t, setup{hub: hub, allowed: []int64{alice.ID}, started: []botapitest.User{alice}, before: func(h *harness) {
		h.api.AddUser(carol)
		h.api.Send(carol, "hi")
		h.api.AddUser(bob)
		h.api.Send(bob, "hi")
		h.api.ConfirmAll() // written before this bridge ran: unheard of
		h.api.Send(alice, "/start")
	}})
	p := hub.Add(dangerous("docker run --privileged -v /:/host alpine"))
	h.card(carol, p.ID)
	h.card(alice, p.ID)
	h.settle(alice)
	for _, m := range h.api.Messages(bob.ID) {
		if strings.Contains(m.Text, p.ID) {
			t.Error("a listed but unauthorized user got the card")
		}
	}
}

func TestStaleCommandsAreNotApplied(t *testing.T) {
	h := newHarness(t, setup{})
	p := h.hub.Add(dangerous("git push --force"))
	card := h.card(alice, p.ID)
	n := len(h.api.Messages(alice.ID))
	// Written ten minutes ago, while the bridge was down: "/approve" (the
	// oldest) and "/yolo" could mean something else now.
	h.api.SendAt(alice, "/approve", time.Now().Add(-10*time.Minute))
	h.api.SendAt(alice, "/yolo", time.Now().Add(-10*time.Minute))
	h.reply(alice, n+1, "Ignored /yolo")
	if _, done := h.hub.Outcome(p.ID); done || h.hub.Yolo("sess-1") {
		t.Fatal("a stale command was applied")
	}
	// A reply to a card names its request: applied.
	h.api.Reply(alice, card.MessageID, "/deny too late, but clear")
	if ev := h.outcome(p.ID); ev.Answer != approval.AnswerDeny {
		t.Errorf("%+v", ev)
	}
}

func TestHandledUpdatesAreConfirmedOnTheWayOut(t *testing.T) {
	h := newHarness(t, setup{})
	h.settle(alice)
	// The poll after the next update fails and its retry waits: that
	// update is handled but not confirmed by a poll when the bridge stops.
	h.hold.Store(true)
	// Once everything is confirmed, the bridge is in its next long poll.
	if err := h.api.WaitUntil(h.ctx, func() bool { return h.api.Pending() == 0 }); err != nil {
		t.Fatal(err)
	}
	h.api.Fail("getUpdates", botapitest.Fault{Code: 502, Description: "Bad Gateway"})
	h.settle(alice)
	if err := h.api.WaitUntil(h.ctx, func() bool {
		calls := h.api.Calls("getUpdates")
		return calls[len(calls)-1].Fault != nil
	}); err != nil {
		t.Fatal(err)
	}
	if h.api.Pending() != 1 {
		t.Fatalf("%d updates pending before the stop, want 1", h.api.Pending())
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if n := h.api.Pending(); n != 0 {
		t.Errorf("%d handled updates left unconfirmed: the next start would handle them again", n)
	}
}

func TestCountdownEditsOpenCardsOnly(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *Options) { o.Countdown = time.Minute }})
	p := h.hub.Add(dangerous("rm -rf /var"))
	card := h.card(alice, p.ID)
	if !strings.Contains(card.Text, "(in 5m0s)") {
		t.Fatalf("new card:\n%s", card.Text)
	}
	h.carded(p.ID)
	h.tick(p.Deadline.Add(-3 * time.Minute))
	for _, u := range []botapitest.User{alice, bob} {
		m, _ := h.api.Message(u.ID, h.card(u, p.ID).MessageID)
		if !strings.Contains(m.Text, "(in 3m0s)") || len(m.Buttons()) == 0 {
			t.Errorf("%s's card after a tick:\n%s\n%+v", u.FirstName, m.Text, m.Buttons())
		}
	}
	h.click(alice, card, opDeny, p.ID)
	closed := h.closed(card)
	edits := h.api.Edits(alice.ID, card.MessageID)
	// A tick after the end edits nothing: the buttons do not come back.
	h.tick(p.Deadline.Add(-2 * time.Minute))
	m, _ := h.api.Message(alice.ID, card.MessageID)
	if m.Text != closed.Text || m.ReplyMarkup != nil || h.api.Edits(alice.ID, card.MessageID) != edits {
		t.Errorf("a tick edited a finished card:\n%s", m.Text)
	}
}

// The bridge as the gateway gets it: New with defaults, no test hooks.
func TestThePublicAPIWithDefaults(t *testing.T) {
	api := botapitest.New(testToken)
	defer api.Close()
	api.Send(alice, "/start")
	hub := fakehub.New(fakehub.Telegram(alice.ID))
	br, err := New(Options{Token: testToken, APIURL: api.URL(), AllowedUsers: []int64{alice.ID}, Logger: logrus.New()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx, hub) }()
	hub.WaitUntil(ctx, func() bool { return hub.Subscribers() == 1 })
	p := hub.Add(dangerous("rm -rf /"))
	card, err := api.WaitMessage(ctx, alice.ID, func(m botapitest.Message) bool { return strings.Contains(m.Text, p.ID) })
	if err != nil {
		t.Fatal(err)
	}
	q, err := api.Click(alice, card, "o:"+p.ID)
	if err != nil {
		t.Fatal(err)
	}
	api.Answer(ctx, q)
	if ev, err := hub.Wait(ctx, p.ID); err != nil || ev.Answer != approval.AnswerOnce {
		t.Fatalf("%+v %v", ev, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
