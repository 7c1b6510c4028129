package telegram

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"hermes-exec/approval"
	"hermes-exec/gateway"
)

// Cards are HTML (parse_mode=HTML): its escaping is three characters, so
// no command text can open a tag or an entity.
const parseMode = "HTML"

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func esc(s string) string { return htmlEscaper.Replace(s) }

// Limits that keep a card well inside Telegram's 4096 characters.
const (
	cardCommandChars = 600 // of the command on the card; the rest is a tap away
	cardCommandLines = 12
	cardFindings     = 8
	findingChars     = 160
	fullChunkChars   = 3500 // per message of the full command
)

// Callback data: "<op>:<request id>". A request id is 32 hex digits, so
// the data is 34 bytes, inside Telegram's 64.
const (
	opOnce    = "o"
	opSession = "s"
	opAlways  = "a"
	opDeny    = "d"
	opFull    = "f"
	maxIDLen  = 64 - 2
)

var opAnswers = map[string]approval.Answer{
	opOnce: approval.AnswerOnce, opSession: approval.AnswerSession,
	opAlways: approval.AnswerAlways, opDeny: approval.AnswerDeny,
}

func callbackData(op, id string) string { return op + ":" + id }

// parseCallback reads callback data the bridge made.
func parseCallback(data string) (op, id string, ok bool) {
	op, id, ok = strings.Cut(data, ":")
	if !ok || id == "" || len(id) > maxIDLen {
		return "", "", false
	}
	if _, known := opAnswers[op]; !known && op != opFull {
		return "", "", false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return "", "", false
		}
	}
	return op, id, true
}

// deadline is when the request becomes a denial.
func deadline(p gateway.Pending) time.Time {
	if !p.Deadline.IsZero() {
		return p.Deadline
	}
	t := p.Timeout
	if t <= 0 {
		t = approval.DefaultTimeout
	}
	created := p.Created
	if created.IsZero() {
		created = time.Now()
	}
	return created.Add(t)
}

// shorten cuts s to at most chars runes and lines lines; cut says whether
// anything was left out.
func shorten(s string, chars, lines int) (string, bool) {
	cut := false
	if n := strings.Count(s, "\n"); n >= lines {
		i := 0
		for k := 0; k < lines; k++ {
			i += strings.IndexByte(s[i:], '\n') + 1
		}
		s, cut = s[:i-1], true
	}
	if utf8.RuneCountInString(s) > chars {
		r := []rune(s)
		s, cut = string(r[:chars]), true
	}
	return s, cut
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// commandIsLong says whether the card shows only part of the command.
func commandIsLong(cmd string) bool {
	_, cut := shorten(cmd, cardCommandChars, cardCommandLines)
	return cut
}

// cardText renders a request for a card. now is when it is rendered, for
// the time left.
func cardText(p gateway.Pending, now time.Time) string {
	var b strings.Builder
	b.WriteString("⚠️ <b>Approval needed</b>\n")
	fmt.Fprintf(&b, "<b>Host:</b> %s   <b>User:</b> %s\n", esc(orDash(p.Host)), esc(orDash(p.User)))
	fmt.Fprintf(&b, "<b>Cwd:</b> <code>%s</code>\n", esc(orDash(p.Cwd)))
	if p.Session != "" || p.Backend != "" {
		fmt.Fprintf(&b, "<b>Session:</b> %s   <b>Backend:</b> %s\n", esc(orDash(p.Session)), esc(orDash(p.Backend)))
	}
	cmd, cut := shorten(p.Command, cardCommandChars, cardCommandLines)
	fmt.Fprintf(&b, "\n<pre>%s</pre>\n", esc(cmd))
	if cut {
		fmt.Fprintf(&b, "<i>… shortened (%d characters in all): tap 📄 Full command</i>\n", utf8.RuneCountInString(p.Command))
	}
	if len(p.Findings) > 0 {
		b.WriteString("\n<b>Why it asks:</b>\n")
		for i, f := range p.Findings {
			if i == cardFindings {
				fmt.Fprintf(&b, "… and %d more\n", len(p.Findings)-cardFindings)
				break
			}
			desc, _ := shorten(f.Description, findingChars, 1)
			line := fmt.Sprintf("• <b>%s</b>: %s", esc(f.Rule), esc(desc))
			if f.Pos != "" {
				line += " (" + esc(f.Pos) + ")"
			}
			b.WriteString(line + "\n")
		}
	}
	dl := deadline(p)
	left := dl.Sub(now).Round(time.Second)
	if left < 0 {
		left = 0
	}
	fmt.Fprintf(&b, "\n⏳ No answer by <b>%s</b> (in %s) means deny.\n", dl.UTC().Format("15:04:05 MST"), left)
	fmt.Fprintf(&b, "<code>%s</code>", esc(p.ID))
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cardButtons are a pending card's buttons.
func cardButtons(p gateway.Pending) *inlineKeyboard {
	row2 := []inlineButton{}
	if p.CanAlways {
		row2 = append(row2, inlineButton{Text: "✅ Always", CallbackData: callbackData(opAlways, p.ID)})
	}
	row2 = append(row2, inlineButton{Text: "❌ Deny", CallbackData: callbackData(opDeny, p.ID)})
	kb := &inlineKeyboard{InlineKeyboard: [][]inlineButton{
		{
			{Text: "✅ Allow once", CallbackData: callbackData(opOnce, p.ID)},
			{Text: "✅ Session", CallbackData: callbackData(opSession, p.ID)},
		},
		row2,
	}}
	if commandIsLong(p.Command) {
		kb.InlineKeyboard = append(kb.InlineKeyboard, []inlineButton{{Text: "📄 Full command", CallbackData: callbackData(opFull, p.ID)}})
	}
	return kb
}

// outcomeText is the line a card ends with once its request is over.
func outcomeText(ev gateway.Event) string {
	switch ev.Kind {
	case gateway.EventResolved:
		who := esc(approverName(ev.By))
		switch ev.Answer {
		case approval.AnswerOnce:
			return "✅ <b>Allowed once</b> by " + who
		case approval.AnswerSession:
			return "✅ <b>Allowed for the session</b> by " + who
		case approval.AnswerAlways:
			return "✅ <b>Allowed always</b> (added to the allowlist) by " + who
		default:
			s := "❌ <b>Denied</b> by " + who
			if ev.Reason != "" {
				r, _ := shorten(ev.Reason, 300, 3)
				s += ": " + esc(r)
			}
			return s
		}
	case gateway.EventExpired:
		return "⌛ <b>Timed out</b>: no answer in time, denied" + why(ev.Reason)
	case gateway.EventWithdrawn:
		if ev.Reason != "" {
			return "↩️ <b>Withdrawn</b>" + why(ev.Reason)
		}
		return "↩️ <b>Withdrawn</b>: answered on another channel, or the command went away"
	}
	return "<b>No longer pending</b>"
}

func why(reason string) string {
	if reason == "" {
		return ""
	}
	r, _ := shorten(reason, 300, 3)
	return " (" + esc(r) + ")"
}

func approverName(id gateway.Identity) string {
	s := id.String()
	if id.Platform == "" {
		s = "an approver"
	}
	if id.Name != "" {
		s += " (" + id.Name + ")"
	}
	return s
}

// finalText is a finished card: what was asked, without the countdown,
// and how it ended.
func finalText(p gateway.Pending, ev gateway.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<b>Host:</b> %s   <b>User:</b> %s\n", esc(orDash(p.Host)), esc(orDash(p.User)))
	fmt.Fprintf(&b, "<b>Cwd:</b> <code>%s</code>\n", esc(orDash(p.Cwd)))
	cmd, cut := shorten(p.Command, cardCommandChars, cardCommandLines)
	if cut {
		cmd += " …"
	}
	fmt.Fprintf(&b, "<pre>%s</pre>\n", esc(cmd))
	b.WriteString(outcomeText(ev))
	fmt.Fprintf(&b, "\n<code>%s</code>", esc(p.ID))
	return b.String()
}

// fullCommandChunks splits the full command into messages.
func fullCommandChunks(p gateway.Pending) []string {
	r := []rune(p.Command)
	var out []string
	for i := 0; i < len(r); i += fullChunkChars {
		end := min(i+fullChunkChars, len(r))
		head := ""
		if len(r) > fullChunkChars {
			head = fmt.Sprintf("📄 <code>%s</code> part %d/%d\n", shortID(p.ID), i/fullChunkChars+1, (len(r)+fullChunkChars-1)/fullChunkChars)
		} else {
			head = fmt.Sprintf("📄 <code>%s</code>\n", shortID(p.ID))
		}
		out = append(out, head+"<pre>"+esc(string(r[i:end]))+"</pre>")
	}
	if len(out) == 0 {
		out = []string{"📄 (empty command)"}
	}
	return out
}
