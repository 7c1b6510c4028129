// Package termsafe makes untrusted text safe to print on a terminal. Command
// text comes from the agent, so it can carry escape sequences that move the
// cursor, erase lines or retitle the window: printed raw, a command could
// repaint the approval prompt or erase its own line from `audit --tail`.
// Everything that shows command text to a human goes through Visible.
package termsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Visible makes every character of s harmless and visible on a terminal:
// control characters (ESC, CR, backspace, ...), DEL, C1 controls,
// invisible format characters (zero-width spaces, bidirectional
// overrides), line separators and invalid UTF-8 are shown as escapes
// (\x1b, \u202e, \t, \r, \n), so text can neither repaint the screen nor
// hide part of itself. Newlines are escaped too; callers split lines first
// when they want them. Text with nothing to escape is returned as it is.
func Visible(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r)
}

// clean reports whether s is printable ASCII (the common case), or valid
// UTF-8 with nothing Visible would escape.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			goto slow
		}
	}
	return true
slow:
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || r < 0x20 || r == 0x7f || unsafeRune(r) {
			return false
		}
		i += n
	}
	return true
}
