package telegram

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"hermes-exec/approval"
	"hermes-exec/gateway"
	"hermes-exec/policy"
	"hermes-exec/telegram/botapitest"
)

func TestCardTextIsEscapedAndFits(t *testing.T) {
	nasty := []string{
		`echo "<b>bold</b>" > /etc/motd`,
		`printf '&amp; &lt; &#x41; </pre><a href="x">' | sh`,
		"rm -rf / # \u202e\u200b ünïcödé 🚀",
		strings.Repeat("x", 5000),
		strings.Repeat("a\n", 100),
		"",
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, cmd := range nasty {
		p := gateway.Pending{Request: approval.Request{
			ID: approval.NewID(), Command: cmd, Host: "<h>", User: "u&u", Cwd: "/tmp/<&>",
			Session: "s<1>", Backend: "host", Deadline: now.Add(90 * time.Second), CanAlways: true,
		}, Created: now}
		for i := 0; i < 30; i++ {
			p.Findings = append(p.Findings, policy.Finding{Rule: "r<" + string(rune('a'+i)), Description: strings.Repeat("why & <why> ", 40), Pos: "1:1"})
		}
		text := cardText(p, now)
		plain, err := botapitest.ParseHTML(text)
		if err != nil {
			t.Errorf("card for %.40q does not parse as Telegram HTML: %v", cmd, err)
			continue
		}
		if n := utf8.RuneCountInString(plain); n > 4096 {
			t.Errorf("card for %.40q is %d characters", cmd, n)
		}
		shown, cut := shorten(cmd, cardCommandChars, cardCommandLines)
		if !strings.Contains(plain, shown) {
			t.Errorf("card does not show the command %.40q verbatim:\n%s", cmd, plain)
		}
		for _, want := range []string{"Host: <h>", "User: u&u", "Cwd: /tmp/<&>", "12:01:30 UTC", "in 1m30s", "… and 22 more", p.ID} {
			if !strings.Contains(plain, want) {
				t.Errorf("card lacks %q:\n%s", want, plain)
			}
		}
		kb := cardButtons(p)
		if hasFull := kb.InlineKeyboard[len(kb.InlineKeyboard)-1][0].Text == "📄 Full command"; hasFull != cut {
			t.Errorf("command %.40q shortened=%v but full-command button=%v", cmd, cut, hasFull)
		}
		for _, row := range kb.InlineKeyboard {
			for _, b := range row {
				if len(b.CallbackData) > 64 {
					t.Errorf("callback data %q over 64 bytes", b.CallbackData)
				}
				op, id, ok := parseCallback(b.CallbackData)
				if !ok || id != p.ID || op == "" {
					t.Errorf("callback data %q does not name the request", b.CallbackData)
				}
			}
		}
		for _, chunk := range fullCommandChunks(p) {
			if _, err := botapitest.ParseHTML(chunk); err != nil {
				t.Errorf("full-command chunk does not parse: %v", err)
			}
		}
		for _, ev := range []gateway.Event{
			{Kind: gateway.EventResolved, Answer: approval.AnswerDeny, Reason: "<no> & never", By: gateway.Identity{Platform: "web", ID: "x", Name: "<script>"}},
			{Kind: gateway.EventExpired}, {Kind: gateway.EventWithdrawn},
		} {
			if _, err := botapitest.ParseHTML(finalText(p, ev)); err != nil {
				t.Errorf("final card does not parse: %v", err)
			}
		}
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct{ text, cmd, args string }{
		{"/approve", "approve", ""},
		{"/approve session", "approve", "session"},
		{"/Approve@Hermes_Bot  always ", "approve", "always"},
		{"/approve@other_bot", "", ""},
		{"/deny not\nnow", "deny", "not\nnow"},
		{"/deny\nbecause", "deny", "because"},
		{"approve", "", ""},
		{"", "", ""},
	} {
		cmd, args := parseCommand(tc.text, "hermes_bot")
		if cmd != tc.cmd || args != tc.args {
			t.Errorf("parseCommand(%q) = %q, %q; want %q, %q", tc.text, cmd, args, tc.cmd, tc.args)
		}
	}
}
