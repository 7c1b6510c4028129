package execproto

import (
	"fmt"
	"strings"
	"time"
)

// ListHeader heads the table `sandbox ls` prints; ListRow is one of its
// rows. Both helpers (the sandbox's and containerd's) print their
// containers in it, and the wrapper prints the header for containerd's.
const ListHeader = "ID\tKIND\tSESSION\tSTATUS\tPID\tLAST USED\tIN USE\tWORKSPACE"

// ListRow is a container's row under ListHeader, tab-separated, with the
// session id (free text, set by the agent) shown without control
// characters.
func ListRow(id, kind, session, status string, pid int, lastUsed time.Time, inUse bool, workspace string) string {
	last := "-"
	if !lastUsed.IsZero() {
		last = time.Since(lastUsed).Round(time.Second).String() + " ago"
	}
	use := "no"
	if inUse {
		use = "yes"
	}
	if session == "" {
		session = "-"
	}
	session = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, session)
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s", id, kind, session, status, pid, last, use, workspace)
}
