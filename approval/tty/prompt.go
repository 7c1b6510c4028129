package tty

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"hermes-exec/approval"
	"hermes-exec/internal/termsafe"
	"hermes-exec/policy"
)

// clock lets tests drive the prompt's countdown and timeout.
type clock interface {
	Now() time.Time
	NewTicker(d time.Duration) (<-chan time.Time, func())
	NewTimer(d time.Duration) (<-chan time.Time, func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// prompt is the terminal-independent part of the approval prompt: it
// draws on out and reads key presses from keys, so tests can drive it
// without a terminal. out is expected to be a terminal in raw mode, hence
// "\r\n" line ends.
type prompt struct {
	out   io.Writer
	keys  <-chan []byte    // chunks of input; closed at end of input
	sigs  <-chan os.Signal // signals that abort the prompt; may be nil
	clk   clock
	width int    // terminal columns
	who   string // the user answering, for approval.Reply.Approver
}

// defaultPromptTimeout applies when a request carries none: asking
// forever would hang the agent.
const defaultPromptTimeout = approval.DefaultTimeout

// ask shows the request and waits for a key, the timeout, a signal or ctx.
func (p *prompt) ask(ctx context.Context, r approval.Request) approval.Reply {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = defaultPromptTimeout
	}
	deadline := p.clk.Now().Add(timeout)
	timer, stopTimer := p.clk.NewTimer(timeout)
	defer stopTimer()
	tick, stopTick := p.clk.NewTicker(time.Second)
	defer stopTick()

	io.WriteString(p.out, p.header(r))
	choices := "[y]es once  [s]ession  [a]lways  [n]o"
	if !r.CanAlways {
		choices = "[y]es once  [s]ession  [n]o"
	}
	draw := func() {
		fmt.Fprintf(p.out, "\r\x1b[K%s  (deny in %s) ", choices, countdown(deadline.Sub(p.clk.Now())))
	}
	draw()

	reply := func() approval.Reply {
		for {
			select {
			case <-ctx.Done():
				return approval.Reply{Answer: approval.AnswerDeny, Reason: "approval cancelled: " + context.Cause(ctx).Error()}
			case <-timer:
				return approval.Reply{Answer: approval.AnswerDeny, Approver: "timeout", Reason: "no answer within " + timeout.String()}
			case s := <-p.sigs:
				return approval.Reply{Answer: approval.AnswerDeny, Reason: "approval interrupted by signal: " + s.String()}
			case <-tick:
				draw()
			case chunk, ok := <-p.keys:
				if !ok {
					return approval.Reply{Answer: approval.AnswerDeny, Reason: "the terminal closed before an answer"}
				}
				if a, decided := decideKeys(chunk, r.CanAlways); decided {
					rp := approval.Reply{Answer: a, Approver: p.who}
					if a == approval.AnswerDeny {
						rp.Reason = "denied at the terminal"
					}
					return rp
				}
			}
		}
	}()
	io.WriteString(p.out, "\r\x1b[K"+echo(reply)+"\r\n")
	return reply
}

// decideKeys reads one chunk of input. y/o approve once, s for the
// session, a always (only when offered), n/d/Esc/Ctrl-C/Ctrl-D deny; every
// other key is ignored. Enter is ignored on purpose: a stray Enter (typed
// ahead, or meant for something else) must not approve a dangerous
// command. An Esc followed by more bytes in the same read is an escape
// sequence (arrow keys, Alt+key) and is ignored whole.
func decideKeys(chunk []byte, canAlways bool) (approval.Answer, bool) {
	for i := 0; i < len(chunk); i++ {
		switch chunk[i] {
		case 'y', 'Y', 'o', 'O':
			return approval.AnswerOnce, true
		case 's', 'S':
			return approval.AnswerSession, true
		case 'a', 'A':
			if canAlways {
				return approval.AnswerAlways, true
			}
		case 'n', 'N', 'd', 'D', 0x03, 0x04:
			return approval.AnswerDeny, true
		case 0x1b:
			if i+1 < len(chunk) {
				return 0, false
			}
			return approval.AnswerDeny, true
		}
	}
	return 0, false
}

// echo is the one line left on the terminal after the prompt. A denial
// is only the answer: the flow prints the "hermes-exec: denied: REASON"
// line itself, on stderr, which is often this same terminal.
func echo(r approval.Reply) string {
	switch r.Answer {
	case approval.AnswerOnce:
		return "answer: yes, once"
	case approval.AnswerSession:
		return "answer: yes, for this session"
	case approval.AnswerAlways:
		return "answer: yes, always"
	}
	return "answer: no (" + r.Reason + ")"
}

// countdown formats the time left as m:ss (h:mm:ss past an hour), rounded
// up so that it reads 0:01 until the very end.
func countdown(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int((d + time.Second - 1) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// Limits of the command display: a heredoc of a thousand lines must not
// push the question off the screen.
const (
	maxShownLines = 20 // lines of command shown before eliding the middle
	shownTail     = 5  // lines kept from the end when eliding
)

// header renders the command and findings.
func (p *prompt) header(r approval.Request) string {
	w := max(p.width, 20)
	var b strings.Builder
	b.WriteString("\r\n\x1b[1mhermes-exec: approve this command?\x1b[0m\r\n")

	src := strings.Split(strings.TrimRight(r.Command, "\n"), "\n")
	numbered := len(src) > 1
	var shown []string
	for i, l := range src {
		prefix, cont := "  ", "  "
		if numbered {
			prefix = fmt.Sprintf("%4d| ", i+1)
			cont = "    : "
		}
		shown = append(shown, wrap(visible(l), prefix, cont, w)...)
	}
	if len(shown) > maxShownLines {
		hidden := len(shown) - (maxShownLines - shownTail - 1) - shownTail
		head := shown[:maxShownLines-shownTail-1]
		tail := shown[len(shown)-shownTail:]
		shown = append(append(append([]string{}, head...), fmt.Sprintf("  ... %d more lines not shown ...", hidden)), tail...)
	}
	for _, l := range shown {
		b.WriteString(l + "\r\n")
	}

	if len(r.Findings) > 0 {
		b.WriteString("\r\n")
	}
	for _, f := range r.Findings {
		line := fmt.Sprintf("  ! %s: %s", visible(f.Rule), visible(f.Description))
		for _, l := range wrap(line, "", "      ", w) {
			b.WriteString(l + "\r\n")
		}
		if f.Command != "" || f.Pos != "" {
			at := "    at " + visible(f.Pos) + ": "
			b.WriteString(truncate(at+visible(f.Command), w) + "\r\n")
		}
	}
	if r.CanAlways {
		// What "always" will do is said before it can be chosen.
		var entries []string
		for _, f := range r.Findings {
			if f.Decision != policy.Ask {
				continue
			}
			if e, ok := policy.AllowlistEntry(f); ok {
				entries = append(entries, visible(e))
			}
		}
		if len(entries) > 0 {
			b.WriteString("\r\n")
			for _, l := range wrap("[a]lways adds to approvals.allowlist: "+strings.Join(entries, ", "), "  ", "      ", w) {
				b.WriteString(l + "\r\n")
			}
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// visible is termsafe.Visible: the prompt and `audit --tail` escape
// command text the same way (keepEscapeWhole knows its escapes).
var visible = termsafe.Visible

// wrap breaks an already visible line into terminal-wide pieces; the first
// gets prefix, the rest cont. Widths count runes, which is right for the
// ASCII that shell commands mostly are.
func wrap(s, prefix, cont string, width int) []string {
	var out []string
	p := prefix
	for {
		room := max(width-utf8.RuneCountInString(p)-1, 10)
		if utf8.RuneCountInString(s) <= room {
			return append(out, p+s)
		}
		cut := keepEscapeWhole(s, byteIndexOfRune(s, room))
		out = append(out, p+s[:cut])
		s, p = s[cut:], cont
	}
}

// keepEscapeWhole moves a cut back to the start of an escape written by
// visible (\x1b, \u202e, \t) that the cut would split.
func keepEscapeWhole(s string, cut int) int {
	for k := cut - 1; k >= 0 && k > cut-6; k-- {
		if s[k] != '\\' || k+1 >= len(s) {
			continue
		}
		n := map[byte]int{'x': 4, 'u': 6, 't': 2, 'r': 2, 'n': 2}[s[k+1]]
		if n > 0 && k+n > cut && k > 0 {
			return k
		}
	}
	return cut
}

// truncate shortens a one-line string to width runes, marking the cut.
func truncate(s string, width int) string {
	if utf8.RuneCountInString(s) < width {
		return s
	}
	return s[:byteIndexOfRune(s, max(width-4, 1))] + "..."
}

func byteIndexOfRune(s string, n int) int {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}
