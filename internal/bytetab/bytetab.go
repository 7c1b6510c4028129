// Package bytetab checks every byte of a text against a table, fast: the
// allowlist's entries are checked this way (by policy/config's YAML scan
// and by policy's shell check) on every command, and a 10,000-entry list
// is ~250 KB.
package bytetab

// Table marks bytes: t[b] != 0 for a byte the caller refuses.
type Table [256]uint8

// None reports that no byte of s is marked in t. Eight look-ups are ORed
// with no branch between them, and the last eight bytes are looked at
// whole (overlapping the ones before) instead of one at a time: the
// entries are short, and a byte loop per entry cost as much as the rest.
func None(s string, t *Table) bool {
	if len(s) < 8 {
		var b uint8
		for i := 0; i < len(s); i++ {
			b |= t[s[i]]
		}
		return b == 0
	}
	last := s[len(s)-8:]
	b := t[last[0]] | t[last[1]] | t[last[2]] | t[last[3]] | t[last[4]] | t[last[5]] | t[last[6]] | t[last[7]]
	for len(s) > 8 {
		b |= t[s[0]] | t[s[1]] | t[s[2]] | t[s[3]] | t[s[4]] | t[s[5]] | t[s[6]] | t[s[7]]
		s = s[8:]
	}
	return b == 0
}
