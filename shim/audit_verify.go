package shim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Problem is one thing `audit verify` found wrong, at one line.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// Seq is the record's sequence number, when the line has one.
	Seq    uint64 `json:"seq"`
	HasSeq bool   `json:"has_seq"`
	// Kind is "changed", "removed", "reordered", "duplicate", "forked",
	// "damaged", "unchained", "restart", "head", "torn", "link",
	// "truncated", "replaced" (another chain than the anchored one) or
	// "anchor" (the anchor file is damaged).
	Kind string `json:"kind"`
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	s := p.File + ": "
	if p.Line > 0 {
		s = fmt.Sprintf("%s:%d: ", p.File, p.Line)
	}
	if p.HasSeq {
		s += fmt.Sprintf("seq %d: ", p.Seq)
	}
	return s + p.Kind + ": " + p.Msg
}

// FileReport is what verify learned about one file of the log.
type FileReport struct {
	File      string `json:"file"`
	Lines     int    `json:"lines"`
	Records   int    `json:"records"` // lines that carry the chain
	FirstSeq  uint64 `json:"first_seq"`
	LastSeq   uint64 `json:"last_seq"`
	Start     int    `json:"chain_start_line"` // 0: no chain at all
	Unchained int    `json:"unchained_lines"`  // lines before the chain starts, written without it
	From      string `json:"continues_from,omitempty"`
	// Genesis is the chain's nonce when this file starts it.
	Genesis string `json:"genesis,omitempty"`

	firstPrev []byte // the prev of the first chained record
	firstKind string
	lastHash  [32]byte // of the last complete line
	hasLast   bool
	bySeq     map[uint64][32]byte
}

// Report is the result of verifying a log and the rotated files its chain
// continues from, oldest first.
type Report struct {
	Files    []FileReport `json:"files"`
	Problems []Problem    `json:"problems"`
	// Notes are facts that are not damage: where the chain starts in a
	// log older than the chain, older files that have been deleted.
	Notes []string `json:"notes"`
	// Anchor is the anchor file's content that the log was checked
	// against, nil when there was none.
	Anchor *Anchor `json:"anchor,omitempty"`
	// Proves and Unproven say what this verify can and cannot vouch for.
	Proves   []string `json:"proves"`
	Unproven []string `json:"unproven"`
}

// OK reports whether verify found nothing wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks the chain of the log at a.Path and of the rotated files it
// continues from, and that every anchor (a head kept elsewhere) is still
// in it. It reports every problem, not just the first, each by file, line
// and seq: an edited record (its hash is not the next record's prev), a
// removed one (a gap in seq), records out of order, duplicates, lines that
// are not records, a chain that restarts in the middle, and a head that
// was cut off. A missing log verifies as empty.
func (a Audit) Verify(anchors ...Head) (Report, error) {
	var rep Report
	path := a.Path
	seen := map[string]bool{}
	for path != "" && !seen[path] {
		seen[path] = true
		fr, probs, err := verifyFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			if len(rep.Files) == 0 {
				break // no log: only its anchor can say there was one
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s continues the chain from %s, which is gone: records before seq %d cannot be checked", rep.Files[0].File, filepath.Base(path), rep.Files[0].FirstSeq))
			break
		}
		if err != nil {
			return rep, err
		}
		if len(rep.Files) > 0 {
			probs = append(probs, linkProblems(fr, rep.Files[0])...)
		}
		rep.Files = append([]FileReport{fr}, rep.Files...)
		rep.Problems = append(probs, rep.Problems...)
		path = ""
		if fr.From != "" {
			path = filepath.Join(filepath.Dir(a.Path), fr.From)
		}
	}
	for _, fr := range rep.Files {
		switch {
		case fr.Start == 0 && fr.Lines > 0:
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: no line carries chain fields (written before the chain existed): the chain starts with the next record", fr.File))
		case fr.Unchained > 0:
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: lines 1-%d carry no chain fields (written before the chain existed): the chain starts at line %d", fr.File, fr.Unchained, fr.Start))
		}
	}
	for _, an := range anchors {
		rep.Problems = append(rep.Problems, anchorProblems(rep.Files, an)...)
	}
	an, ok, err := a.LoadAnchor()
	switch {
	case err != nil:
		rep.Problems = append(rep.Problems, Problem{File: filepath.Base(a.AnchorFile()), Kind: "anchor", Msg: err.Error()})
	case ok:
		rep.Anchor = &an
		rep.Problems = append(rep.Problems, anchorFileProblems(rep.Files, an, filepath.Base(a.AnchorFile()))...)
	default:
		rep.Problems = append(rep.Problems, missingAnchorProblems(rep.Files, filepath.Base(a.AnchorFile()))...)
	}
	rep.scope(len(anchors))
	return rep, nil
}

// scope says, in words, what the report proves and what it cannot.
func (rep *Report) scope(external int) {
	first, last, records := uint64(0), uint64(0), 0
	for i, fr := range rep.Files {
		if fr.Records == 0 {
			continue
		}
		if records == 0 {
			first = fr.FirstSeq
		}
		records += fr.Records
		last = rep.Files[i].LastSeq
	}
	if records > 0 && rep.OK() {
		rep.Proves = append(rep.Proves, fmt.Sprintf("records seq %d-%d are as they were written: none changed, removed, inserted or reordered", first, last))
	}
	if rep.Anchor != nil && rep.OK() {
		rep.Proves = append(rep.Proves, fmt.Sprintf("the log still starts at seq %d and holds seq %d, as the anchor (%s at %s) recorded", rep.Anchor.Start, rep.Anchor.Head.Seq, rep.Anchor.By, rep.Anchor.At.Format(time.RFC3339)))
	}
	if external > 0 && rep.OK() {
		rep.Proves = append(rep.Proves, "the log holds the head(s) given with --anchor")
	}
	switch {
	case rep.Anchor == nil && records == 0:
		rep.Unproven = append(rep.Unproven, "there is no chained record and no anchor: a fresh install looks the same as a log deleted together with its anchor")
	case rep.Anchor == nil:
		rep.Unproven = append(rep.Unproven, "without an anchor, a log cut off at its start or end, or replaced whole, would look the same")
	default:
		rep.Unproven = append(rep.Unproven, fmt.Sprintf("records after seq %d (since the anchor was written) may have been cut off the end", rep.Anchor.Head.Seq))
	}
	if records > 0 {
		rep.Unproven = append(rep.Unproven, "a log deleted or emptied together with its anchor: what is written next starts a new chain and anchor, as on a fresh install")
	}
	if external == 0 {
		rep.Unproven = append(rep.Unproven, "anything against a process of the log's own uid that rewrote the log and its anchor together: for that, keep `hermes-exec audit head` where that uid cannot write and pass it to --anchor")
	}
}

// missingAnchorProblems reports a log with chained records but no anchor
// file. Since anchoring exists, the append that starts a chain writes its
// anchor and only --reanchor replaces it; so an anchor that is missing
// while the log holds records was deleted, most likely to hide a log cut
// off at its start or end. (A chained log from before anchoring existed
// is reported too, once: a human who knows that accepts it with
// --reanchor, which a command line cannot run.)
func missingAnchorProblems(files []FileReport, anchor string) []Problem {
	first, last, records := uint64(0), uint64(0), 0
	for _, fr := range files {
		if fr.Records == 0 {
			continue
		}
		if records == 0 {
			first = fr.FirstSeq
		}
		records += fr.Records
		last = fr.LastSeq
	}
	if records == 0 {
		return nil
	}
	return []Problem{{File: anchor, Kind: "anchor", Msg: fmt.Sprintf("missing: the log holds records seq %d-%d, and the anchor is written when its chain starts, so it was deleted: a log cut off at its start or end would now verify; if the log was written before anchoring existed, accept it with `hermes-exec audit verify --reanchor`", first, last)}}
}

// linkProblems checks that newer's first record continues older's chain.
func linkProblems(older, newer FileReport) []Problem {
	p := Problem{File: newer.File, Line: newer.Start, Seq: newer.FirstSeq, HasSeq: true, Kind: "link"}
	switch {
	case !older.hasLast:
		p.Msg = fmt.Sprintf("it continues from %s, which holds no complete line", older.File)
	case string(newer.firstPrev) != hex.EncodeToString(older.lastHash[:]):
		p.Msg = fmt.Sprintf("its prev is not the hash of the last line of %s: that file was changed or cut short", older.File)
	case older.Records > 0 && newer.firstKind == ChainRotate && newer.FirstSeq != older.LastSeq+1:
		p.Msg = fmt.Sprintf("%s ends at seq %d, so this file should start at seq %d", older.File, older.LastSeq, older.LastSeq+1)
	default:
		return nil
	}
	return []Problem{p}
}

func anchorProblems(files []FileReport, an Head) []Problem {
	want, err := hex.DecodeString(an.SHA256)
	var last uint64
	file := ""
	for _, fr := range files {
		if h, ok := fr.bySeq[an.Seq]; ok && err == nil {
			if bytes.Equal(h[:], want) {
				return nil
			}
			return []Problem{{File: fr.File, Seq: an.Seq, HasSeq: true, Kind: "changed", Msg: "the record does not match the anchor kept for it (" + an.SHA256 + ")"}}
		}
		if fr.Records > 0 {
			last, file = fr.LastSeq, fr.File
		}
	}
	if file == "" && len(files) > 0 {
		file = files[len(files)-1].File
	}
	return []Problem{{File: file, Seq: an.Seq, HasSeq: true, Kind: "truncated", Msg: fmt.Sprintf("the anchored record is not in the log (it ends at seq %d): its tail was cut off or replaced", last)}}
}

type chainEnt struct {
	line   int
	seq    uint64
	prev   []byte // hex, as written
	hash   [32]byte
	before [32]byte // hash of the line physically before it (zero at line 1)
	kind   string   // "", ChainGenesis, ChainRotate
	dup    bool
}

// verifyFile checks one file. The chain is read from each line's
// `{"seq":N,"prev":"HEX"` prefix; only the chain's own records are decoded
// whole. Every line is hashed, so an edit anywhere but in the last record
// shows in the next record's prev.
func verifyFile(path string) (FileReport, []Problem, error) {
	fr := FileReport{File: filepath.Base(path), bySeq: map[uint64][32]byte{}}
	data, err := readRegular(path)
	if err != nil {
		return fr, nil, err
	}
	var probs []Problem
	add := func(line int, e *chainEnt, kind, format string, args ...any) {
		p := Problem{File: fr.File, Line: line, Kind: kind, Msg: fmt.Sprintf(format, args...)}
		if e != nil {
			p.Seq, p.HasSeq = e.seq, true
		}
		probs = append(probs, p)
	}
	var ents []chainEnt
	var prevHash [32]byte
	hashed := false
	line := 0
	for off := 0; off < len(data); {
		line++
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			add(line, nil, "torn", "the last line is incomplete (a write was cut short)")
			break
		}
		l := data[off : off+end]
		h := sha256.Sum256(data[off : off+end+1])
		off += end + 1
		seq, prev, marked, ok := chainPrefix(l)
		if !ok {
			valid := json.Valid(l) && bytes.HasPrefix(bytes.TrimSpace(l), []byte("{"))
			switch {
			case !valid:
				add(line, nil, "damaged", "not a JSON record")
			case len(ents) == 0:
				fr.Unchained++
			default:
				add(line, nil, "unchained", "a record without chain fields inside the chain: it was inserted")
			}
			prevHash, hashed = h, true
			continue
		}
		e := chainEnt{line: line, seq: seq, prev: prev, hash: h}
		if hashed {
			e.before = prevHash
		}
		if marked {
			var r struct {
				Chain *ChainMark `json:"chain"`
			}
			if err := json.Unmarshal(l, &r); err != nil || r.Chain == nil {
				add(line, &e, "damaged", "a chain record that does not decode")
			} else {
				e.kind = r.Chain.Kind
				if len(ents) == 0 {
					fr.From = r.Chain.From
					fr.Genesis = r.Chain.Nonce
				}
			}
		}
		ents = append(ents, e)
		prevHash, hashed = h, true
	}
	fr.Lines = line
	fr.lastHash, fr.hasLast = prevHash, hashed
	fr.Records = len(ents)
	if len(ents) == 0 {
		return fr, probs, nil
	}
	fr.Start = ents[0].line
	fr.FirstSeq, fr.firstPrev, fr.firstKind = ents[0].seq, ents[0].prev, ents[0].kind
	fr.LastSeq = ents[len(ents)-1].seq

	// Split into segments at each genesis record; a file's first record
	// must start the chain or continue it from another file.
	first := ents[0]
	switch {
	case first.kind == ChainGenesis && first.seq != 0:
		add(first.line, &first, "head", "a genesis record must be seq 0")
	case first.kind == ChainGenesis && fr.From == "" && !bytes.Equal(first.prev, hexOrEmpty(first.before, first.line > 1)):
		add(first.line, &first, "changed", "the line before the genesis record is not the one it was chained to")
	case first.kind == "":
		add(first.line, &first, "head", "the file's first record is neither a genesis nor a rotation record: its head was removed")
	}
	start := 0
	for i := 1; i <= len(ents); i++ {
		if i < len(ents) && ents[i].kind != ChainGenesis {
			continue
		}
		if i < len(ents) {
			g := ents[i]
			add(g.line, &g, "restart", "a new chain starts here: the records before it are not linked to it")
		}
		probs = append(probs, segmentProblems(fr.File, ents[start:i])...)
		start = i
	}
	for _, e := range ents {
		fr.bySeq[e.seq] = e.hash
		fr.LastSeq = max(fr.LastSeq, e.seq)
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	return fr, probs, nil
}

func hexOrEmpty(h [32]byte, ok bool) []byte {
	if !ok {
		return nil
	}
	return []byte(hex.EncodeToString(h[:]))
}

// segmentProblems checks one chain: the links in seq order (edits,
// removals, duplicates), then the order of the lines (reordering).
func segmentProblems(file string, seg []chainEnt) []Problem {
	var probs []Problem
	add := func(e chainEnt, kind, format string, args ...any) {
		probs = append(probs, Problem{File: file, Line: e.line, Seq: e.seq, HasSeq: true, Kind: kind, Msg: fmt.Sprintf(format, args...)})
	}
	bySeq := seg
	inOrder := slices.IsSortedFunc(seg, func(a, b chainEnt) int { return cmpSeq(a, b) })
	if !inOrder {
		bySeq = slices.Clone(seg)
		slices.SortStableFunc(bySeq, cmpSeq)
	}
	var want [64]byte
	for i := 1; i < len(bySeq); i++ {
		a, b := bySeq[i-1], bySeq[i]
		switch {
		case b.seq == a.seq:
			if a.hash == b.hash {
				add(b, "duplicate", "line %d repeats line %d", b.line, a.line)
			} else {
				add(b, "forked", "line %d has the same seq with other contents: the chain forks", a.line)
			}
			markDup(seg, b.line)
		case b.seq > a.seq+1:
			if b.seq == a.seq+2 {
				add(b, "removed", "seq %d is missing (between line %d, seq %d, and this line)", a.seq+1, a.line, a.seq)
			} else {
				add(b, "removed", "seq %d-%d are missing (between line %d, seq %d, and this line)", a.seq+1, b.seq-1, a.line, a.seq)
			}
		default:
			hex.Encode(want[:], a.hash[:])
			if !bytes.Equal(b.prev, want[:]) {
				add(a, "changed", "this line does not hash to the prev recorded by the next record (line %d, seq %d): it was edited", b.line, b.seq)
			}
		}
	}
	if !inOrder {
		keep := increasingRun(seg)
		for i, e := range seg {
			if !keep[i] && !e.dup {
				add(e, "reordered", "out of place: it belongs after seq %d", e.seq-1)
			}
		}
	}
	return probs
}

func cmpSeq(a, b chainEnt) int {
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return a.line - b.line
}

func markDup(seg []chainEnt, line int) {
	for i := range seg {
		if seg[i].line == line {
			seg[i].dup = true
		}
	}
}

// increasingRun marks a longest strictly increasing subsequence of seqs:
// the records that are in place. The rest were moved.
func increasingRun(seg []chainEnt) []bool {
	tails := []int{} // index into seg of the smallest tail of each length
	parent := make([]int, len(seg))
	for i, e := range seg {
		if e.dup {
			parent[i] = -2
			continue
		}
		k := sort.Search(len(tails), func(j int) bool { return seg[tails[j]].seq >= e.seq })
		if k > 0 {
			parent[i] = tails[k-1]
		} else {
			parent[i] = -1
		}
		if k == len(tails) {
			tails = append(tails, i)
		} else {
			tails[k] = i
		}
	}
	keep := make([]bool, len(seg))
	if len(tails) > 0 {
		for i := tails[len(tails)-1]; i >= 0; i = parent[i] {
			keep[i] = true
		}
	}
	return keep
}

// readRegular reads a whole file, refusing symlinks and non-regular files.
func readRegular(path string) ([]byte, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data := make([]byte, st.Size())
	n, err := f.ReadAt(data, 0)
	if err != nil && n != len(data) {
		return nil, err
	}
	return data[:n], nil
}

// RotatedLogs lists the rotated audit files next to the log at path.
func RotatedLogs(path string) []string {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "audit.*.jsonl"))
	out := m[:0]
	for _, p := range m {
		if !strings.HasPrefix(filepath.Base(p), ".") {
			out = append(out, p)
		}
	}
	return out
}
