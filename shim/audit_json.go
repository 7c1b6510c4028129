package shim

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// marshalRecord is json.Marshal(r), written out by hand: every command
// writes two records, and encoding/json's first use of a type costs more
// than the rest of the append (it builds the type's field list by
// reflection). The bytes are exactly json.Marshal's (audit_json_test.go
// compares the two on generated records), since the hash chain is over
// them. A record this encoder does not know how to write the same way (a
// duration json.Marshal would write with an exponent, or not at all) goes
// to json.Marshal.
func marshalRecord(r *Record) ([]byte, error) {
	if !plainFloat(r.DurationMS) {
		return json.Marshal(r)
	}
	t, err := r.Time.MarshalJSON()
	if err != nil {
		return json.Marshal(r) // for its error
	}
	b := make([]byte, 0, 512+len(r.Command))
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, r.Seq, 10)
	b = append(b, `,"prev":`...)
	b = appendJSONString(b, r.Prev)
	if c := r.Chain; c != nil {
		b = append(b, `,"chain":{"kind":`...)
		b = appendJSONString(b, c.Kind)
		if c.Nonce != "" {
			b = append(b, `,"nonce":`...)
			b = appendJSONString(b, c.Nonce)
		}
		if c.From != "" {
			b = append(b, `,"from":`...)
			b = appendJSONString(b, c.From)
		}
		if c.Unchained != 0 {
			b = append(b, `,"unchained":`...)
			b = strconv.AppendInt(b, int64(c.Unchained), 10)
		}
		b = append(b, '}')
	}
	b = appendOptString(b, `,"id":`, r.ID)
	b = appendOptString(b, `,"event":`, r.Event)
	b = append(b, `,"time":`...)
	b = append(b, t...)
	b = appendOptString(b, `,"session":`, r.Session)
	b = append(b, `,"user":`...)
	b = appendJSONString(b, r.User)
	b = append(b, `,"cwd":`...)
	b = appendJSONString(b, r.Cwd)
	b = append(b, `,"command":`...)
	b = appendJSONString(b, r.Command)
	b = append(b, `,"decision":`...)
	b = appendJSONString(b, r.Decision)
	b = append(b, `,"verdict":`...)
	b = appendJSONString(b, r.Verdict)
	b = append(b, `,"findings":`...)
	if r.Findings == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range r.Findings {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"rule":`...)
			b = appendJSONString(b, f.Rule)
			b = append(b, `,"description":`...)
			b = appendJSONString(b, f.Description)
			b = append(b, `,"command":`...)
			b = appendJSONString(b, f.Command)
			b = append(b, `,"pos":`...)
			b = appendJSONString(b, f.Pos)
			b = append(b, `,"decision":`...)
			b = appendJSONString(b, f.Decision.String()) // its MarshalText
			b = appendOptString(b, `,"allowed_by":`, f.AllowedBy)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendOptString(b, `,"approver":`, r.Approver)
	b = appendOptString(b, `,"channel":`, r.Channel)
	b = appendOptString(b, `,"reason":`, r.Reason)
	b = append(b, `,"backend":`...)
	b = appendJSONString(b, r.Backend)
	b = append(b, `,"exit":`...)
	if r.Exit == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*r.Exit), 10)
	}
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, r.DurationMS, 'f', -1, 64)
	if len(r.Parents) > 0 {
		b = append(b, `,"parents":[`...)
		for i, p := range r.Parents {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// plainFloat reports whether json.Marshal writes f in the 'f' format
// (without an exponent): finite, and 0 or of magnitude in [1e-6, 1e21).
func plainFloat(f float64) bool {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	a := math.Abs(f)
	return a == 0 || (a >= 1e-6 && a < 1e21)
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b // omitempty
	}
	return appendJSONString(append(b, key...), s)
}

// appendJSONString appends s as encoding/json writes a string by default
// (HTML-safe): <, > and & as \u003c, \u003e, \u0026; control characters
// as \b, \f, \n, \r, \t or \u00XX; invalid UTF-8 as \ufffd; U+2028 and
// U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
