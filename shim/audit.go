package shim

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"hermes-exec/internal/fdutil"
	"hermes-exec/internal/ident"
	"hermes-exec/policy"

	"golang.org/x/sys/unix"
)

// Record is one line of the audit log (HERMES_HOME/audit.jsonl).
//
// Seq, Prev and Chain come first, in this order, so that every line starts
// with `{"seq":N,"prev":"HEX"`: `audit verify` reads the chain from that
// prefix without decoding the rest of the line, which keeps a long log
// quick to check.
type Record struct {
	// Seq numbers the records of a chain: the genesis record is 0, each
	// record one more than the record before it, across rotated files.
	Seq uint64 `json:"seq"`
	// Prev is the SHA-256 (hex) of the previous line's exact bytes,
	// newline included: what `sed -n Np audit.jsonl | sha256sum` prints.
	// It is "" only in a genesis record that starts an empty log.
	Prev string `json:"prev"`
	// Chain is set only on the records that start a file's chain: the
	// genesis record and the first record of a file after a rotation.
	Chain *ChainMark `json:"chain,omitempty"`
	// ID joins the records of one command: its decision, written before
	// it runs, and its outcome after (see EventDecision, EventOutcome).
	ID string `json:"id,omitempty"`
	// Event is "decision" or "outcome".
	Event string `json:"event,omitempty"`

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
	// Parents is set on the records of exec checks: the command lines of
	// the processes that led to the exec (Command), outermost first.
	Parents []string `json:"parents,omitempty"`
}

// ChainMark describes a record that starts a chain or continues it in a
// new file. Such records carry no command.
type ChainMark struct {
	// Kind is "genesis" (a new chain) or "rotate" (the chain continues
	// from the file named by From).
	Kind string `json:"kind"`
	// Nonce (genesis) is 128 random bits: no two chains start alike, so
	// an anchor kept elsewhere names exactly one chain.
	Nonce string `json:"nonce,omitempty"`
	// From (rotate) is the base name of the file the chain continues
	// from; Prev is the hash of its last line.
	From string `json:"from,omitempty"`
	// Unchained (genesis) counts lines before this record that carry no
	// chain fields (a log written before the chain existed). Prev is the
	// hash of the last of them.
	Unchained int `json:"unchained,omitempty"`
}

// Chain record kinds.
const (
	ChainGenesis = "genesis"
	ChainRotate  = "rotate"
)

// DefaultMaxSize is the size at which Append rotates the log when
// Audit.MaxSize is 0: a file this size verifies in well under a second.
const DefaultMaxSize = 64 << 20

// maxRecordRead bounds how far back Append looks for the last record; a
// record longer than this (a megabytes-long heredoc) is still written, but
// the next append starts a new chain, which verify reports.
const maxRecordRead = 16 << 20

// Head is the newest record of a log: its sequence number and the SHA-256
// of its line. Kept somewhere the log's writer cannot change (the gateway,
// a supervisor, another machine), a head lets `audit verify --anchor` catch
// a log whose tail was cut off or rewritten.
type Head struct {
	Seq    uint64 `json:"seq"`
	SHA256 string `json:"sha256"`
	File   string `json:"file"`
}

// Audit is the append-only, hash-chained audit log.
type Audit struct {
	Path string // HERMES_HOME/audit.jsonl
	// MaxSize rotates the log when an append would grow it past this many
	// bytes: 0 means DefaultMaxSize, negative never.
	MaxSize int64
	// OnAppend, when set, is called with the new head after every record
	// written: the hook by which a gateway or supervisor anchors the log.
	// Its error is returned by Append after the record is safely written.
	OnAppend func(Head) error
	// AnchorPath is the anchor file (see Anchor); "" means audit.anchor
	// next to the log.
	AnchorPath string
}

// Append writes r as one JSON line, chained to the record before it. The
// line goes out in a single write(2) on an O_APPEND descriptor while
// holding an exclusive flock, and the last record is read under that same
// lock, so concurrent wrappers (other terminals, parallel agent tools)
// neither interleave nor fork the chain. The file is opened without
// following symlinks and must be a regular file; it is created 0600 (and
// narrowed to 0600 if someone widened it: commands can reveal a lot), its
// directory 0700.
//
// Append redacts the record once more with the inline patterns and this
// process's secret environment values: the caller is expected to have done
// it, but a secret must not reach the log because one caller forgot. The
// caller's Seq, Prev and Chain are ignored: the chain is Append's.
func (a Audit) Append(r Record) error {
	r = prepareRecord(r)
	r.Chain = nil
	return a.write(func(h tailHead) ([]byte, error) { return chainLines(h, r) }, false)
}

// Rotate moves the current log aside (to audit.TIMESTAMP.jsonl next to it)
// and starts a new file whose first record continues the chain. It returns
// the name the old file got, or "" when there was nothing to rotate.
func (a Audit) Rotate() (string, error) {
	var moved string
	err := a.write(func(h tailHead) ([]byte, error) { return nil, nil }, true, &moved)
	return moved, err
}

// prepareRecord redacts r and fills in what every record has.
func prepareRecord(r Record) Record {
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
	return r
}

// tailHead is what Append knows of the file's last line.
type tailHead struct {
	size      int64
	empty     bool   // no complete line at all
	chained   bool   // the last complete line carries seq and prev
	seq       uint64 // its seq when chained
	hash      string // SHA-256 of the last complete line, newline included
	torn      bool   // the file does not end in a newline
	unchained int    // lines without chain fields at the end (estimate: only counted when the file is small)
}

// chainLines encodes r after h: a genesis record first when there is no
// chain to continue.
func chainLines(h tailHead, r Record) ([]byte, error) {
	var out []byte
	if h.torn {
		// A short write (full disk) left half a line: end it, so that the
		// fragment stays a line of its own (verify reports it) and this
		// record is not glued to it.
		out = append(out, '\n')
	}
	seq, prev := h.seq+1, h.hash
	if !h.chained {
		g, err := genesis(h, time.Time{})
		if err != nil {
			return nil, err
		}
		out = append(out, g...)
		seq, prev = 0+1, lineHash(g)
	}
	r.Seq, r.Prev = seq, prev
	b, err := marshalRecord(&r)
	if err != nil {
		return nil, fmt.Errorf("audit: encode: %w", err)
	}
	return append(append(out, b...), '\n'), nil
}

// genesis is the first record of a new chain, chained to the last line of
// a log written before the chain existed, if any.
func genesis(h tailHead, t time.Time) ([]byte, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("audit: genesis nonce: %w", err)
	}
	g := chainRecord(t)
	g.Seq, g.Prev = 0, h.hash
	g.Chain = &ChainMark{Kind: ChainGenesis, Nonce: hex.EncodeToString(nonce), Unchained: h.unchained}
	b, err := marshalRecord(&g)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func chainRecord(t time.Time) Record {
	if t.IsZero() {
		t = time.Now().UTC()
	}
	return Record{Time: t, User: ident.Current(), Cwd: cwd(), Findings: []policy.Finding{}}
}

func lineHash(line []byte) string {
	s := sha256.Sum256(line)
	return hex.EncodeToString(s[:])
}

// write opens the log, locks it, reads its head and writes what lines
// returns, in one write. With rotate it moves the file aside first.
func (a Audit) write(lines func(tailHead) ([]byte, error), rotate bool, moved ...*string) error {
	if err := os.MkdirAll(filepath.Dir(a.Path), 0o700); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	// A rotation can move the file between our open and our lock; then
	// the lock is on the moved file and we start again.
	for attempt := 0; ; attempt++ {
		f, err := openLog(a.Path)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		var werr error
		var h Head
		retry := false
		cerr := fdutil.Control(f, func(fd int) {
			if werr = flockRetry(fd, unix.LOCK_EX); werr != nil {
				werr = fmt.Errorf("lock: %w", werr)
				return
			}
			defer flockRetry(fd, unix.LOCK_UN)
			if !stillAt(fd, a.Path) {
				retry = true
				return
			}
			h, werr = a.writeLocked(f, fd, lines, rotate, moved)
		})
		f.Close()
		if cerr != nil {
			return fmt.Errorf("audit: %w", cerr)
		}
		if retry && attempt < 100 {
			continue
		}
		if retry {
			return fmt.Errorf("audit: %s keeps being replaced", a.Path)
		}
		if werr != nil {
			return fmt.Errorf("audit: %s: %w", a.Path, werr)
		}
		if a.OnAppend != nil && h.SHA256 != "" {
			if err := a.OnAppend(h); err != nil {
				return fmt.Errorf("audit: anchor: %w", err)
			}
		}
		return nil
	}
}

// openLog opens the log for appending and reading, never through a
// symlink, and only when it is a regular file.
func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o600)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a symlink: the audit log must be a regular file", path)
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}

// stillAt reports whether fd is the file at path (not a file a rotation
// moved away after we opened it).
func stillAt(fd int, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(fd, &a) != nil || unix.Lstat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino && a.Nlink > 0
}

func (a Audit) writeLocked(f *os.File, fd int, lines func(tailHead) ([]byte, error), rotate bool, moved []*string) (Head, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Head{}, err
	}
	if st.Mode&0o077 != 0 {
		if err := unix.Fchmod(fd, 0o600); err != nil {
			return Head{}, fmt.Errorf("narrowing mode to 0600: %w", err)
		}
	}
	h, err := readHead(f, st.Size)
	if err != nil {
		return Head{}, err
	}
	line, err := lines(h)
	if err != nil {
		return Head{}, err
	}
	max := a.MaxSize
	if max == 0 {
		max = DefaultMaxSize
	}
	if rotate || (max > 0 && h.size > 0 && h.size+int64(len(line)) > max) {
		if h.empty && !h.torn {
			return Head{}, nil // nothing to move aside
		}
		name, head, err := a.rotateLocked(h, line)
		if len(moved) > 0 && moved[0] != nil {
			*moved[0] = name
		}
		return head, err
	}
	if err := writeAll(fd, line); err != nil {
		return Head{}, err
	}
	if !h.chained {
		if g, nonce, ok := genesisIn(line, filepath.Base(a.Path)); ok {
			if err := a.anchorGenesis(g, nonce); err != nil {
				return Head{}, fmt.Errorf("anchor: %w", err)
			}
		}
	}
	return headOf(line, filepath.Base(a.Path)), nil
}

// rotateLocked moves the log aside and puts a new file in its place whose
// first record continues the chain, followed by pending (the lines that
// triggered the rotation, rebased onto the new first record). The new file
// is complete before it appears under the log's name, and the log's name
// never stops existing: the old file is linked to its new name first, then
// the new file is renamed over the log.
func (a Audit) rotateLocked(h tailHead, pending []byte) (string, Head, error) {
	dir := filepath.Dir(a.Path)
	stamp := time.Now().UTC().Format("20060102T150405Z")
	var name string
	for i := 0; ; i++ {
		name = "audit." + stamp + ".jsonl"
		if i > 0 {
			name = "audit." + stamp + "-" + strconv.Itoa(i) + ".jsonl"
		}
		err := unix.Linkat(unix.AT_FDCWD, a.Path, unix.AT_FDCWD, filepath.Join(dir, name), 0)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EEXIST) || i > 100 {
			return "", Head{}, fmt.Errorf("rotate: %w", err)
		}
	}
	r := chainRecord(time.Time{})
	r.Prev = h.hash
	if h.chained {
		r.Seq = h.seq + 1
		r.Chain = &ChainMark{Kind: ChainRotate, From: name}
	} else {
		// The old file had no chain to continue: start one here,
		// linked to its last line.
		g, err := genesis(h, r.Time)
		if err != nil {
			return name, Head{}, err
		}
		var gr Record
		if err := json.Unmarshal(g, &gr); err != nil {
			return name, Head{}, err
		}
		r.Chain = gr.Chain
		r.Chain.From = name
	}
	b, err := json.Marshal(r)
	if err != nil {
		return name, Head{}, err
	}
	data := append(b, '\n')
	if len(pending) > 0 {
		// Re-chain the pending record after the rotation record.
		var rec Record
		last := pending
		if i := bytes.LastIndexByte(trimFinalNewline(pending), '\n'); i >= 0 {
			last = pending[i+1:]
		}
		if err := json.Unmarshal(last, &rec); err != nil {
			return name, Head{}, err
		}
		rec.Seq, rec.Prev = r.Seq+1, lineHash(data)
		nb, err := json.Marshal(rec)
		if err != nil {
			return name, Head{}, err
		}
		data = append(append(data, nb...), '\n')
	}
	tmp, err := os.CreateTemp(dir, ".audit.jsonl.tmp-*")
	if err != nil {
		return name, Head{}, fmt.Errorf("rotate: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return name, Head{}, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return name, Head{}, fmt.Errorf("rotate: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return name, Head{}, err
	}
	tmp.Close()
	if err := os.Rename(tmp.Name(), a.Path); err != nil {
		return name, Head{}, fmt.Errorf("rotate: %w", err)
	}
	head := headOf(data, filepath.Base(a.Path))
	if err := a.anchorRotation(head, r.Chain.Nonce); err != nil {
		return name, head, fmt.Errorf("rotate: anchor: %w", err)
	}
	return name, head, nil
}

// genesisIn finds the genesis record among the lines data that an append
// wrote: its head and nonce.
func genesisIn(data []byte, file string) (Head, string, bool) {
	for _, l := range bytes.SplitAfter(data, []byte{'\n'}) {
		seq, _, marked, ok := chainPrefix(trimFinalNewline(l))
		if !ok || !marked || seq != 0 {
			continue
		}
		var r struct {
			Chain *ChainMark `json:"chain"`
		}
		if json.Unmarshal(l, &r) != nil || r.Chain == nil || r.Chain.Kind != ChainGenesis {
			continue
		}
		return Head{Seq: seq, SHA256: lineHash(l), File: file}, r.Chain.Nonce, true
	}
	return Head{}, "", false
}

// headOf is the head after data (whole lines) was written.
func headOf(data []byte, file string) Head {
	last := trimFinalNewline(data)
	if i := bytes.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	seq, _, _, ok := chainPrefix(last)
	if !ok {
		return Head{}
	}
	return Head{Seq: seq, SHA256: lineHash(append(append([]byte{}, last...), '\n')), File: file}
}

func writeAll(fd int, line []byte) error {
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
			// and Tail and verify will report it by number.
			return fmt.Errorf("short write (%d of %d bytes)", n, len(line))
		}
		return nil
	}
}

// readHead finds the record to chain the next one to: the last complete
// line that carries the chain. Lines after it that do not (damage, a
// record written by an older version) are left where they are: verify
// reports them, and the chain goes on past them. With no chained line in
// the file, the next append starts a chain, linked to the last line.
func readHead(f *os.File, size int64) (tailHead, error) {
	h := tailHead{size: size, empty: true}
	if size == 0 {
		return h, nil
	}
	var buf []byte
	off := size
	end := -1            // end of the complete lines in buf (after their newline)
	scanned := -1        // lines in buf[scanned:end] have been looked at
	chunk := int64(4096) // a record is usually well under this; grow if not
	for {
		step := min(chunk, off)
		chunk = min(chunk*4, tailChunk)
		off -= step
		piece := make([]byte, step, int(step)+len(buf))
		if _, err := f.ReadAt(piece, off); err != nil && !errors.Is(err, io.EOF) {
			return h, err
		}
		buf = append(piece, buf...)
		if end < 0 {
			end = len(buf)
			if buf[len(buf)-1] != '\n' {
				// Torn tail: the complete lines end at the last newline.
				h.torn = true
				end = bytes.LastIndexByte(buf, '\n') + 1
			}
			if end == 0 && off > 0 {
				end = -1 // no newline yet: read more
			}
		} else {
			end += int(step)
			scanned += int(step)
		}
		if end > 0 {
			if scanned < 0 {
				scanned = end
			}
			// Look at each complete line ending before scanned.
			for scanned > 0 {
				start := bytes.LastIndexByte(buf[:scanned-1], '\n') + 1
				if start == 0 && off > 0 {
					break // the line may start in an earlier chunk
				}
				line := buf[start:scanned]
				if h.empty {
					h.empty = false
					h.hash = lineHash(line)
				}
				if seq, _, _, ok := chainPrefix(line[:len(line)-1]); ok {
					h.seq, h.chained = seq, true
					h.hash = lineHash(line)
					return h, nil
				}
				scanned = start
			}
		}
		if off == 0 {
			if !h.empty && !h.chained {
				h.unchained = bytes.Count(buf[:max(end, 0)], []byte{'\n'})
			}
			return h, nil
		}
		if int64(len(buf)) > maxRecordRead {
			// Nothing chained near the end: start a new chain rather
			// than read without bound while holding the lock.
			h.empty = false
			return h, nil
		}
	}
}

// chainPrefix reads `{"seq":N,"prev":"HEX"` from the start of a line, and
// whether a `"chain":` field follows. ok is false for lines without it
// (written before the chain existed, or damaged).
func chainPrefix(l []byte) (seq uint64, prev []byte, marked, ok bool) {
	const p1, p2 = `{"seq":`, `,"prev":"`
	if !bytes.HasPrefix(l, []byte(p1)) {
		return 0, nil, false, false
	}
	i := len(p1)
	j := i
	for j < len(l) && j-i < 20 && l[j] >= '0' && l[j] <= '9' {
		j++
	}
	if j == i || (l[i] == '0' && j > i+1) {
		return 0, nil, false, false
	}
	n, err := strconv.ParseUint(string(l[i:j]), 10, 64)
	if err != nil || !bytes.HasPrefix(l[j:], []byte(p2)) {
		return 0, nil, false, false
	}
	k := j + len(p2)
	e := bytes.IndexByte(l[k:], '"')
	if e < 0 || (e != 0 && e != 64) {
		return 0, nil, false, false
	}
	prev = l[k : k+e]
	for _, c := range prev {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return 0, nil, false, false
		}
	}
	marked = bytes.HasPrefix(l[k+e+1:], []byte(`,"chain":`))
	return n, prev, marked, true
}

// ReadHead returns the log's current head, reading under a shared lock.
func (a Audit) ReadHead() (Head, error) {
	f, err := os.OpenFile(a.Path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return Head{}, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	var h tailHead
	var rerr error
	cerr := fdutil.Control(f, func(fd int) {
		if rerr = flockRetry(fd, unix.LOCK_SH); rerr != nil {
			return
		}
		defer flockRetry(fd, unix.LOCK_UN)
		var st unix.Stat_t
		if rerr = unix.Fstat(fd, &st); rerr != nil {
			return
		}
		h, rerr = readHead(f, st.Size)
	})
	if cerr != nil {
		return Head{}, cerr
	}
	if rerr != nil {
		return Head{}, fmt.Errorf("audit: %w", rerr)
	}
	if !h.chained {
		return Head{}, fmt.Errorf("audit: %s: the last record carries no chain fields", a.Path)
	}
	return Head{Seq: h.seq, SHA256: h.hash, File: filepath.Base(a.Path)}, nil
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

// Tail returns the last n command records, oldest first (n <= 0: all of
// them); the chain's own records (genesis, rotation) are left out. It
// reads from the end of the file, so a long log costs no more than its
// tail. A line that is not a valid record is an error naming its line
// number: a damaged audit log is something to look at, not to skip over. A
// missing log has no records.
func (a Audit) Tail(n int) ([]Record, error) {
	want := n
	for {
		recs, all, err := a.tailLines(want)
		if err != nil {
			return nil, err
		}
		out := recs[:0]
		for _, r := range recs {
			if r.Chain == nil {
				out = append(out, r)
			}
		}
		if n <= 0 || len(out) >= n || all {
			if n > 0 && len(out) > n {
				out = out[len(out)-n:]
			}
			return out, nil
		}
		want += n - len(out)
	}
}

// tailLines decodes the last n lines (n <= 0: all); all reports that the
// whole file was read.
func (a Audit) tailLines(n int) (recs []Record, all bool, err error) {
	f, err := os.OpenFile(a.Path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("audit: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, false, fmt.Errorf("audit: %s is not a regular file", a.Path)
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
			return nil, false, fmt.Errorf("audit: %w", err)
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
	all = start == 0
	if n > 0 && len(lines) > n {
		for _, l := range lines[:len(lines)-n] {
			start += int64(len(l) + 1)
		}
		lines = lines[len(lines)-n:]
		all = false
	}
	out := make([]Record, 0, len(lines))
	pos := start
	for _, l := range lines {
		var r Record
		if err := decodeLine(l, &r); err != nil {
			no, cerr := lineNumber(f, pos)
			if cerr != nil {
				return nil, false, fmt.Errorf("audit: %s: %v (and counting lines failed: %v)", a.Path, err, cerr)
			}
			return nil, false, fmt.Errorf("audit: %s:%d: %v", a.Path, no, err)
		}
		out = append(out, r)
		pos += int64(len(l) + 1)
	}
	return out, all, nil
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
	if r.Time.IsZero() || (r.Decision == "" && r.Chain == nil) {
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
