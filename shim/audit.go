package shim

import (
	"hermes-exec/internal/ident"

	"hermes-exec/internal/fdutil"
	"hermes-exec/internal/safefs"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"hermes-exec/policy"

	"golang.org/x/sys/unix"
)

// Record is one line of the audit log (HERMES_HOME/audit.jsonl).
type Record struct {
	// ID joins the records of one command: its decision, written before
	// it runs, and its outcome after (see EventDecision, EventOutcome).
	ID string `json:"id,omitempty"`
	// Event is "decision" or "outcome".
	Event    string           `json:"event,omitempty"`
	Time     time.Time        `json:"time"`
	Session  string           `json:"session,omitempty"`
	User     string           `json:"user"`
	Cwd      string           `json:"cwd"`
	Command  string           `json:"command"`  // redacted
	Decision string           `json:"decision"` // final outcome: "allow" | "deny"
	Verdict  string           `json:"verdict"`  // the classifier's: "allow" | "ask" | "deny"
	Findings []policy.Finding `json:"findings"` // Command fields redacted too
	Approver string           `json:"approver,omitempty"`
	// Channel is what let the command through or stopped it: "tty",
	// "session", "allowlist", "yolo", "mode-off", "container", "policy",
	// "none".
	Channel    string  `json:"channel,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	Backend    string  `json:"backend"`
	Exit       *int    `json:"exit"` // null when the command never ran
	DurationMS float64 `json:"duration_ms"`
}

// Audit is the append-only audit log.
type Audit struct {
	Path string // HERMES_HOME/audit.jsonl
}

// Append writes r as one JSON line. The line goes out in a single write(2)
// on an O_APPEND descriptor while holding an exclusive flock, so lines from
// concurrent wrappers (other terminals, parallel agent tools) never
// interleave or overwrite each other. The file is created 0600 (and
// narrowed to 0600 if someone widened it: commands can reveal a lot), its
// directory 0700.
//
// Append redacts the record once more with the inline patterns and this
// process's secret environment values: the caller is expected to have done
// it, but a secret must not reach the log because one caller forgot.
func (a Audit) Append(r Record) error {
	line, err := encodeRecord(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(a.Path), 0o700); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	// Never through a symbolic link, never into a FIFO or device: root
	// appending to (and chmodding) a link's target would damage any file.
	f, err := safefs.OpenAppend(a.Path, 0o600, os.Geteuid())
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	var werr error
	cerr := fdutil.Control(f, func(fd int) {
		werr = appendLocked(fd, line)
	})
	if cerr != nil {
		return fmt.Errorf("audit: %w", cerr)
	}
	if werr != nil {
		return fmt.Errorf("audit: %s: %w", a.Path, werr)
	}
	return nil
}

// encodeRecord redacts and encodes r as one line ending in "\n".
func encodeRecord(r Record) ([]byte, error) {
	secrets := SecretValues(os.Environ())
	r.Command = Redact(r.Command, secrets)
	r.Reason = Redact(r.Reason, secrets)
	fs := make([]policy.Finding, len(r.Findings)) // never null in the log
	for i, fd := range r.Findings {
		fd.Command = Redact(fd.Command, secrets)
		fs[i] = fd
	}
	r.Findings = fs
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	if r.User == "" { // every record names who and where
		r.User = ident.Current()
	}
	if r.Cwd == "" {
		r.Cwd = cwd()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("audit: encode: %w", err)
	}
	return append(b, '\n'), nil
}

func appendLocked(fd int, line []byte) error {
	if err := flockRetry(fd, unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer flockRetry(fd, unix.LOCK_UN)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&0o077 != 0 {
		if err := unix.Fchmod(fd, 0o600); err != nil {
			return fmt.Errorf("narrowing mode to 0600: %w", err)
		}
	}
	for {
		n, err := unix.Write(fd, line)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n != len(line) {
			// Only a full disk or a quota gets here; the line is cut,
			// and Tail will report it by number.
			return fmt.Errorf("short write (%d of %d bytes)", n, len(line))
		}
		return nil
	}
}

func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// tailChunk is how much of the log Tail reads at a time, from the end.
const tailChunk = 64 << 10

// Tail returns the last n records, oldest first (n <= 0: all of them). It
// reads from the end of the file, so a long log costs no more than its
// tail. A line that is not a valid record is an error naming its line
// number: a damaged audit log is something to look at, not to skip over. A
// missing log has no records.
func (a Audit) Tail(n int) ([]Record, error) {
	f, err := os.Open(a.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	size := st.Size()
	// Read whole chunks backwards until n complete lines are in buf.
	var buf []byte
	off := size
	for off > 0 && (n <= 0 || bytes.Count(trimFinalNewline(buf), []byte{'\n'}) < n) {
		step := min(int64(tailChunk), off)
		if n <= 0 {
			step = off
		}
		off -= step
		chunk := make([]byte, step, int(step)+len(buf))
		if _, err := f.ReadAt(chunk, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("audit: %w", err)
		}
		buf = append(chunk, buf...)
	}
	start := off // file offset of buf[0]
	if off > 0 {
		// buf starts in the middle of a line; that line is older than
		// the n wanted.
		i := bytes.IndexByte(buf, '\n')
		buf, start = buf[i+1:], start+int64(i+1)
	}
	lines := bytes.Split(trimFinalNewline(buf), []byte{'\n'})
	if len(buf) == 0 {
		lines = nil
	}
	if n > 0 && len(lines) > n {
		for _, l := range lines[:len(lines)-n] {
			start += int64(len(l) + 1)
		}
		lines = lines[len(lines)-n:]
	}
	out := make([]Record, 0, len(lines))
	pos := start
	for _, l := range lines {
		var r Record
		if err := decodeLine(l, &r); err != nil {
			no, cerr := lineNumber(f, pos)
			if cerr != nil {
				return nil, fmt.Errorf("audit: %s: %v (and counting lines failed: %v)", a.Path, err, cerr)
			}
			return nil, fmt.Errorf("audit: %s:%d: %v", a.Path, no, err)
		}
		out = append(out, r)
		pos += int64(len(l) + 1)
	}
	return out, nil
}

func trimFinalNewline(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return b[:len(b)-1]
	}
	return b
}

func decodeLine(l []byte, r *Record) error {
	if len(bytes.TrimSpace(l)) == 0 {
		return errors.New("empty line")
	}
	dec := json.NewDecoder(bytes.NewReader(l))
	if err := dec.Decode(r); err != nil {
		return fmt.Errorf("not a JSON record: %v", err)
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	if r.Time.IsZero() || r.Decision == "" {
		return errors.New("not an audit record (no time or decision)")
	}
	return nil
}

// lineNumber counts the lines before file offset pos; it is only needed
// when reporting a damaged line.
func lineNumber(f *os.File, pos int64) (int, error) {
	n := 1
	buf := make([]byte, tailChunk)
	for off := int64(0); off < pos; {
		m, err := f.ReadAt(buf[:min(int64(len(buf)), pos-off)], off)
		n += bytes.Count(buf[:m], []byte{'\n'})
		off += int64(m)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if m == 0 {
			break
		}
	}
	return n, nil
}
