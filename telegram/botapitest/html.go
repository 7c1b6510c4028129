package botapitest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// htmlTags are the tags of the Bot API's HTML parse mode
// (https://core.telegram.org/bots/api#html-style) and the attributes each
// may carry.
var htmlTags = map[string][]string{
	"b": nil, "strong": nil, "i": nil, "em": nil, "u": nil, "ins": nil,
	"s": nil, "strike": nil, "del": nil, "tg-spoiler": nil,
	"span":       {"class"},
	"a":          {"href"},
	"code":       {"class"},
	"pre":        nil,
	"blockquote": {"expandable"},
	"tg-emoji":   {"emoji-id"},
}

// ParseHTML checks text the way the Bot API parses parse_mode=HTML and
// returns the plain text a client would display. Like the real API it
// refuses unknown tags, unclosed or crossed tags, and a "<" or "&" that
// starts no tag or entity; the error is the API's description.
func ParseHTML(text string) (string, error) {
	var out strings.Builder
	var stack []string
	fail := func(format string, a ...any) (string, error) {
		return "", fmt.Errorf("Bad Request: can't parse entities: "+format, a...)
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch c {
		case '<':
			end := strings.IndexByte(text[i:], '>')
			if end < 0 {
				return fail("unclosed start tag at byte offset %d", i)
			}
			tag := text[i+1 : i+end]
			if strings.HasPrefix(tag, "/") {
				name := strings.TrimSpace(tag[1:])
				if len(stack) == 0 || stack[len(stack)-1] != name {
					return fail("unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", i, top(stack), name)
				}
				stack = stack[:len(stack)-1]
			} else {
				name, attrs, _ := strings.Cut(tag, " ")
				allowed, ok := htmlTags[name]
				if name == "" || !ok {
					return fail("unsupported start tag \"%s\" at byte offset %d", name, i)
				}
				if err := checkAttrs(name, attrs, allowed); err != nil {
					return fail("%v at byte offset %d", err, i)
				}
				stack = append(stack, name)
			}
			i += end + 1
		case '>':
			// The API tolerates a bare ">" but documents it as to be
			// escaped; tolerate it as the API does.
			out.WriteByte(c)
			i++
		case '&':
			semi := strings.IndexByte(text[i:], ';')
			if semi < 0 {
				return fail("character '&' at byte offset %d starts no HTML entity", i)
			}
			r, ok := entity(text[i+1 : i+semi])
			if !ok {
				return fail("unsupported HTML entity \"%s\" at byte offset %d", text[i:i+semi+1], i)
			}
			out.WriteRune(r)
			i += semi + 1
		default:
			out.WriteByte(c)
			i++
		}
	}
	if len(stack) > 0 {
		return fail("can't find end tag corresponding to start tag \"%s\"", top(stack))
	}
	if !utf8.ValidString(out.String()) {
		//lint:ignore ST1005 the Bot API's own description, word for word
		return "", fmt.Errorf("Bad Request: text must be encoded in UTF-8")
	}
	return out.String(), nil
}

func top(stack []string) string {
	if len(stack) == 0 {
		return ""
	}
	return stack[len(stack)-1]
}

func checkAttrs(tag, attrs string, allowed []string) error {
	for _, a := range strings.Fields(attrs) {
		name, _, _ := strings.Cut(a, "=")
		ok := false
		for _, x := range allowed {
			ok = ok || x == name
		}
		if !ok {
			return fmt.Errorf("unsupported attribute %q of tag %q", name, tag)
		}
	}
	return nil
}

// entity decodes the named entities the API supports and numeric ones.
func entity(name string) (rune, bool) {
	switch name {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	}
	if n, ok := strings.CutPrefix(name, "#"); ok {
		base := 10
		if h, ok := strings.CutPrefix(n, "x"); ok {
			n, base = h, 16
		}
		v, err := strconv.ParseUint(n, base, 32)
		if err != nil || !utf8.ValidRune(rune(v)) {
			return 0, false
		}
		return rune(v), true
	}
	return 0, false
}

// utf16Len is a text's length as the Bot API counts it.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// commandEntities marks a leading /command as the API does.
func commandEntities(text string) []MessageEntity {
	if !strings.HasPrefix(text, "/") {
		return nil
	}
	end := strings.IndexFunc(text, unicode.IsSpace)
	if end < 0 {
		end = len(text)
	}
	return []MessageEntity{{Type: "bot_command", Offset: 0, Length: utf16Len(text[:end])}}
}
