package telegram

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"hermes-exec/approval"
	"hermes-exec/gateway"
)

// maxSeen bounds the users remembered from their messages.
const maxSeen = 10000

// maxReason bounds a denial's reason, as the agent will read it.
const maxReason = 500

func identity(u apiUser) gateway.Identity {
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if u.Username != "" {
		name = "@" + u.Username
	}
	return gateway.Identity{Platform: Platform, ID: strconv.FormatInt(u.ID, 10), Name: name}
}

// noteSeen remembers a user who wrote to the bot, so that they get cards
// while the gateway authorizes them. It returns true the first time an
// authorized user is noted: they should be sent the pending cards.
func (b *Bridge) noteSeen(id int64, authorized bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	carded, known := b.seen[id]
	if !known && len(b.seen) >= maxSeen {
		return false
	}
	b.seen[id] = carded || authorized
	return authorized && !carded
}

// say sends an HTML message to a chat, logging a failure.
func (b *Bridge) say(ctx context.Context, chat int64, html string) {
	err := b.api.call(ctx, "sendMessage", sendMessageParams{
		ChatID: chat, Text: html, ParseMode: parseMode, LinkPreview: &linkPreviewOptions{IsDisabled: true},
	}, nil)
	if err != nil && ctx.Err() == nil {
		b.log.Warnf("telegram: cannot answer in chat %d: %v", chat, err)
	}
}

// ---- clicks ----

func (b *Bridge) onCallback(ctx context.Context, h gateway.Hub, q *apiCallbackQuery) {
	who := identity(q.From)
	answer := func(text string, alert bool) {
		text, _ = shorten(text, 200, 20) // the API's limit for the answer's text
		err := b.api.call(ctx, "answerCallbackQuery", answerCallbackParams{CallbackQueryID: q.ID, Text: text, ShowAlert: alert}, nil)
		if err != nil && ctx.Err() == nil {
			b.log.Warnf("telegram: cannot acknowledge a click: %v", err)
		}
	}
	op, id, ok := parseCallback(q.Data)
	if !ok {
		answer("This button is not one of hermes-exec's.", false)
		return
	}
	// The gateway's authorization, by the clicking user's id; Decide
	// checks it again itself.
	if !h.Authorized(who) {
		b.log.Warnf("telegram: unauthorized click by user %s on request %s", who.ID, shortID(id))
		if a, ok := h.(unauthorizedAuditor); ok {
			a.AuditUnauthorized(who, "answer request "+id+" from Telegram")
		}
		answer(NotAuthorized, true)
		return
	}
	if q.Message != nil && q.Message.Chat.Type == "private" && b.noteSeen(q.From.ID, true) {
		b.catchUp(ctx, q.From.ID)
	}
	var k msgKey
	if q.Message != nil {
		k = msgKey{q.Message.Chat.ID, q.Message.MessageID}
	}
	if op == opFull {
		b.sendFull(ctx, h, q, id, answer)
		return
	}
	ans := opAnswers[op]
	err := h.Decide(id, gateway.Decision{Answer: ans, By: who})
	switch {
	case err == nil:
		answer(doneText(ans), false)
	case errors.Is(err, gateway.ErrUnauthorized):
		b.log.Warnf("telegram: the gateway refused user %s's click on request %s", who.ID, shortID(id))
		answer(NotAuthorized, true)
	case errors.Is(err, gateway.ErrAlreadyDecided):
		answer("This request was already decided.", false)
		b.staleCard(ctx, k, id)
	case errors.Is(err, gateway.ErrUnknownRequest):
		answer("This request is no longer pending.", false)
		b.staleCard(ctx, k, id)
	default:
		b.log.Warnf("telegram: deciding request %s: %v", shortID(id), err)
		answer("The answer could not be recorded: "+err.Error(), true)
	}
}

// staleCard takes the buttons off a card whose request ended without the
// bridge hearing of it (an event it missed).
func (b *Bridge) staleCard(ctx context.Context, k msgKey, id string) {
	if k.msg == 0 {
		return
	}
	b.mu.Lock()
	c := b.cards[id]
	done := c != nil && c.done
	b.mu.Unlock()
	if !done {
		b.dropButtons(ctx, k)
	}
}

func doneText(a approval.Answer) string {
	switch a {
	case approval.AnswerOnce:
		return "✅ Allowed once."
	case approval.AnswerSession:
		return "✅ Allowed for this session."
	case approval.AnswerAlways:
		return "✅ Allowed always: added to the allowlist."
	}
	return "❌ Denied."
}

// sendFull sends a request's whole command text to the clicking user.
func (b *Bridge) sendFull(ctx context.Context, h gateway.Hub, q *apiCallbackQuery, id string, answer func(string, bool)) {
	p, ok := b.request(h, id)
	if !ok {
		answer("This request is no longer known.", false)
		return
	}
	answer("The full command follows.", false)
	for _, chunk := range fullCommandChunks(p) {
		b.say(ctx, q.From.ID, chunk)
	}
}

// request finds a request by id: pending at the hub, or carded here.
func (b *Bridge) request(h gateway.Hub, id string) (gateway.Pending, bool) {
	for _, p := range h.Pending() {
		if p.ID == id {
			return p, true
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.cards[id]; c != nil {
		return c.p, true
	}
	return gateway.Pending{}, false
}

// ---- messages ----

func (b *Bridge) onMessage(ctx context.Context, h gateway.Hub, m *apiMessage) {
	if m.From == nil || m.From.IsBot || m.Chat.Type != "private" {
		return // cards and commands live in private chats only
	}
	who := identity(*m.From)
	if !h.Authorized(who) {
		b.stranger(ctx, h, m, who)
		return
	}
	if b.noteSeen(m.From.ID, true) {
		b.catchUp(ctx, m.From.ID)
	}
	cmd, args := parseCommand(m.Text, b.botName)
	if b.stale(cmd, m) {
		b.say(ctx, m.Chat.ID, fmt.Sprintf("⏱ Ignored <code>/%s</code> written at %s: it is too old to be sure which request it meant. Send it again.",
			esc(cmd), time.Unix(m.Date, 0).UTC().Format("15:04:05 MST")))
		return
	}
	switch cmd {
	case "approve":
		b.cmdApprove(ctx, h, m, who, args)
	case "deny":
		b.cmdDeny(ctx, h, m, who, args)
	case "status":
		b.cmdStatus(ctx, h, m)
	case "yolo":
		b.cmdYolo(ctx, h, m, who, args)
	default:
		b.say(ctx, m.Chat.ID, helpText)
	}
}

// staleAfter is the age past which a command that does not name its
// request (by replying to its card) is not applied: after an outage or a
// restart, "the oldest request" may be another one than its writer saw,
// and a /yolo toggle may flip the switch back.
const staleAfter = 3 * time.Minute

func (b *Bridge) stale(cmd string, m *apiMessage) bool {
	if m.Date == 0 || time.Since(time.Unix(m.Date, 0)) <= staleAfter {
		return false
	}
	switch cmd {
	case "approve", "deny":
		return m.ReplyToMessage == nil
	case "yolo":
		return true
	}
	return false
}

const helpText = `🤖 <b>hermes-exec approvals</b>
Dangerous commands arrive here as cards; tap a button to answer. Or:
/approve: allow the card you reply to, else the oldest request, once
/approve session, /approve always
/deny [reason]: deny it; the agent sees the reason
/status: pending requests and YOLO state
/yolo: switch asking off (or on again) for the request's session`

// parseCommand splits "/cmd@bot args" into "cmd" and "args"; a command
// addressed to another bot, or no command, gives "".
func parseCommand(text, bot string) (cmd, args string) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", ""
	}
	word, rest, _ := strings.Cut(text, " ")
	if i := strings.IndexFunc(word, unicode.IsSpace); i >= 0 {
		word, rest = word[:i], word[i:]+" "+rest
	}
	word = word[1:]
	if name, at, ok := strings.Cut(word, "@"); ok {
		if bot != "" && !strings.EqualFold(at, bot) {
			return "", ""
		}
		word = name
	}
	return strings.ToLower(word), strings.TrimSpace(rest)
}

// target is the request a command is about: the card replied to, else the
// oldest pending request. A reply to a finished card names it, so that the
// answer is "already decided" rather than a different request.
func (b *Bridge) target(ctx context.Context, h gateway.Hub, m *apiMessage) (gateway.Pending, bool) {
	if r := m.ReplyToMessage; r != nil {
		id, ok := b.cardID(ctx, m.Chat.ID, r)
		if !ok {
			b.say(ctx, m.Chat.ID, "That message is not an approval card. Reply to a card, or send the command alone for the oldest request.")
			return gateway.Pending{}, false
		}
		if p, ok := b.request(h, id); ok {
			return p, true
		}
		// Not known here (a card from before a restart): the gateway
		// will say whether it is still pending.
		return gateway.Pending{Request: approval.Request{ID: id, CanAlways: true}}, true
	}
	pending := h.Pending()
	if len(pending) == 0 {
		b.say(ctx, m.Chat.ID, "Nothing is waiting for approval.")
		return gateway.Pending{}, false
	}
	return pending[0], true
}

// cardID is the request id of a card message: from the bridge's record of
// the cards it sent, or else from the card's last line, which is the id
// (so that a reply works even before the record is made, or after a
// restart).
func (b *Bridge) cardID(ctx context.Context, chat int64, r *apiMessage) (string, bool) {
	if c, ok := b.cardOf(chat, r.MessageID); ok {
		return c.p.ID, true
	}
	if r.From == nil || r.From.ID != b.botID {
		return "", false
	}
	// The reply may have come before the bridge recorded the card it
	// answers (the card's sendMessage still returning).
	b.waitSends(ctx)
	if c, ok := b.cardOf(chat, r.MessageID); ok {
		return c.p.ID, true
	}
	lines := strings.Split(strings.TrimSpace(r.Text), "\n")
	id := strings.TrimSpace(lines[len(lines)-1])
	if len(id) < 16 {
		return "", false
	}
	if _, _, ok := parseCallback(opOnce + ":" + id); !ok {
		return "", false
	}
	return id, true
}

func (b *Bridge) cmdApprove(ctx context.Context, h gateway.Hub, m *apiMessage, who gateway.Identity, args string) {
	ans := approval.AnswerOnce
	switch strings.ToLower(args) {
	case "", "once":
	case "session":
		ans = approval.AnswerSession
	case "always":
		ans = approval.AnswerAlways
	default:
		b.say(ctx, m.Chat.ID, "Usage: /approve, /approve session or /approve always")
		return
	}
	p, ok := b.target(ctx, h, m)
	if !ok {
		return
	}
	if ans == approval.AnswerAlways && !p.CanAlways {
		b.say(ctx, m.Chat.ID, "This command cannot be added to the allowlist (part of it is not a fixed command). Use /approve or /approve session.")
		return
	}
	b.decide(ctx, h, m, p, gateway.Decision{Answer: ans, By: who})
}

func (b *Bridge) cmdDeny(ctx context.Context, h gateway.Hub, m *apiMessage, who gateway.Identity, args string) {
	p, ok := b.target(ctx, h, m)
	if !ok {
		return
	}
	reason, _ := shorten(args, maxReason, 5)
	b.decide(ctx, h, m, p, gateway.Decision{Answer: approval.AnswerDeny, Reason: reason, By: who})
}

func (b *Bridge) decide(ctx context.Context, h gateway.Hub, m *apiMessage, p gateway.Pending, d gateway.Decision) {
	cmd, _ := shorten(p.Command, 80, 1)
	err := h.Decide(p.ID, d)
	switch {
	case err == nil:
		b.say(ctx, m.Chat.ID, fmt.Sprintf("%s <code>%s</code>\n<code>%s</code>", esc(doneText(d.Answer)), esc(shortID(p.ID)), esc(cmd)))
	case errors.Is(err, gateway.ErrUnauthorized):
		b.say(ctx, m.Chat.ID, NotAuthorized)
	case errors.Is(err, gateway.ErrAlreadyDecided):
		b.say(ctx, m.Chat.ID, "That request was already decided.")
	case errors.Is(err, gateway.ErrUnknownRequest):
		b.say(ctx, m.Chat.ID, "That request is no longer pending.")
	default:
		b.say(ctx, m.Chat.ID, "The answer could not be recorded: "+esc(err.Error()))
	}
}

func (b *Bridge) cmdStatus(ctx context.Context, h gateway.Hub, m *apiMessage) {
	pending := h.Pending()
	var s strings.Builder
	if len(pending) == 0 {
		s.WriteString("✅ Nothing is waiting for approval.\n")
	} else {
		fmt.Fprintf(&s, "⏳ <b>%d pending</b> (oldest first):\n", len(pending))
	}
	sessions := map[string]bool{}
	now := time.Now()
	for i, p := range pending {
		if p.Session != "" {
			sessions[p.Session] = true
		}
		if i == 20 {
			fmt.Fprintf(&s, "… and %d more\n", len(pending)-20)
			continue
		}
		if i > 20 {
			continue
		}
		cmd, _ := shorten(p.Command, 60, 1)
		left := deadline(p).Sub(now).Round(time.Second)
		fmt.Fprintf(&s, "%d. <code>%s</code> <code>%s</code> on %s, %s left\n", i+1, esc(shortID(p.ID)), esc(cmd), esc(orDash(p.Host)), max(left, 0))
	}
	b.mu.Lock()
	for sess := range b.yolo {
		sessions[sess] = true
	}
	b.mu.Unlock()
	if len(sessions) == 0 {
		s.WriteString("YOLO: no session known (/yolo needs a request's session)")
	} else {
		s.WriteString("YOLO:")
		for _, sess := range sortedKeys(sessions) {
			state := "off"
			if h.Yolo(sess) {
				state = "<b>ON</b> (no asking)"
			}
			fmt.Fprintf(&s, "\n• session <code>%s</code>: %s", esc(sess), state)
		}
	}
	b.say(ctx, m.Chat.ID, s.String())
}

func (b *Bridge) cmdYolo(ctx context.Context, h gateway.Hub, m *apiMessage, who gateway.Identity, args string) {
	var want *bool
	session := ""
	for _, f := range strings.Fields(args) {
		switch strings.ToLower(f) {
		case "on":
			t := true
			want = &t
		case "off":
			f := false
			want = &f
		default:
			session = f
		}
	}
	if session == "" && m.ReplyToMessage != nil {
		if id, ok := b.cardID(ctx, m.Chat.ID, m.ReplyToMessage); ok {
			if p, ok := b.request(h, id); ok {
				session = p.Session
			}
		}
	}
	if session == "" {
		if pending := h.Pending(); len(pending) > 0 {
			session = pending[0].Session
		}
	}
	if session == "" {
		b.mu.Lock()
		session = b.lastYolo
		b.mu.Unlock()
	}
	if session == "" {
		b.say(ctx, m.Chat.ID, "No session to switch: reply /yolo to a card of that session (requests without HERMES_SESSION_ID have none), or send /yolo SESSION.")
		return
	}
	on := !h.Yolo(session)
	if want != nil {
		on = *want
	}
	if err := h.SetYolo(session, on, who); err != nil {
		if errors.Is(err, gateway.ErrUnauthorized) {
			b.say(ctx, m.Chat.ID, NotAuthorized)
			return
		}
		b.say(ctx, m.Chat.ID, "YOLO could not be switched: "+esc(err.Error()))
		return
	}
	b.mu.Lock()
	b.yolo[session] = on
	b.lastYolo = session
	b.mu.Unlock()
	if on {
		b.say(ctx, m.Chat.ID, fmt.Sprintf("⚠️ YOLO is <b>ON</b> for session <code>%s</code>: its dangerous commands run without asking (deny rules still hold). Send /yolo again to turn it off.", esc(session)))
	} else {
		b.say(ctx, m.Chat.ID, fmt.Sprintf("🛡 YOLO is off for session <code>%s</code>: dangerous commands ask again.", esc(session)))
	}
}

// stranger handles a message from a user the gateway does not authorize:
// a pairing code when the gateway's rules give one, else silence.
func (b *Bridge) stranger(ctx context.Context, h gateway.Hub, m *apiMessage, who gateway.Identity) {
	switch cmd, _ := parseCommand(m.Text, b.botName); cmd {
	case "approve", "deny", "yolo":
		if a, ok := h.(unauthorizedAuditor); ok {
			a.AuditUnauthorized(who, "use /"+cmd+" from Telegram")
		}
	}
	code, err := h.RequestPairing(who)
	switch {
	case err == nil:
		// Remember the chat: once paired, the user gets cards here.
		b.noteSeen(m.From.ID, false)
		b.say(ctx, m.Chat.ID, fmt.Sprintf("🔐 This bot asks for approval of the commands an AI agent runs through hermes-exec.\n"+
			"Your pairing code: <code>%s</code>\n"+
			"To become an approver, the operator runs on the host:\n<code>hermes-exec gateway pair %s</code>\n"+
			"The code is valid for 1 hour.", esc(code), esc(code)))
	case errors.Is(err, gateway.ErrStrangersIgnored):
		b.log.Debugf("telegram: ignored a message from user %s (not an approver; pairing is closed)", who.ID)
	case errors.Is(err, gateway.ErrRateLimited), errors.Is(err, gateway.ErrLocked):
		// Said once per user in a while, so that a stranger's flood of
		// messages does not become the bot's flood of answers.
		if b.noticeDue(m.From.ID) {
			b.say(ctx, m.Chat.ID, "🔐 "+esc(upperFirst(err.Error()))+".")
		}
	default:
		b.log.Warnf("telegram: pairing for user %s: %v", who.ID, err)
	}
}

// noticeInterval spaces the "try again later" answers to one user.
const noticeInterval = 10 * time.Minute

func (b *Bridge) noticeDue(user int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if t, ok := b.notices[user]; ok && now.Sub(t) < noticeInterval {
		return false
	}
	if len(b.notices) >= maxSeen {
		for k, t := range b.notices {
			if now.Sub(t) >= noticeInterval {
				delete(b.notices, k)
			}
		}
		if len(b.notices) >= maxSeen {
			return false
		}
	}
	b.notices[user] = now
	return true
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
