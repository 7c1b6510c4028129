package execproto

import (
	"strings"
	"testing"
	"time"
)

// A row has the header's columns; an agent's session id cannot break the
// table (a tab or newline in it) or the terminal (an escape).
func TestListRow(t *testing.T) {
	cols := len(strings.Split(ListHeader, "\t"))
	row := ListRow("s-1", "session", "a\tb\n\x1b[2J", "running", 42, time.Now().Add(-90*time.Second), true, "/w")
	f := strings.Split(row, "\t")
	if len(f) != cols || strings.ContainsAny(row, "\n\x1b") {
		t.Fatalf("row %q: %d columns, want %d", row, len(f), cols)
	}
	if f[2] != "a?b??[2J" || f[4] != "42" || f[5] != "1m30s ago" || f[6] != "yes" {
		t.Fatalf("row %q", row)
	}
	if f := strings.Split(ListRow("f-1", "fresh", "", "stopped", 0, time.Time{}, false, "/w"), "\t"); f[2] != "-" || f[5] != "-" || f[6] != "no" {
		t.Fatalf("empty fields: %q", f)
	}
}
