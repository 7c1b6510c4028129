package shim

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"hermes-exec/internal/atomicfile"
	"hermes-exec/internal/hermeshome"
)

// The chain alone proves that records between its first and its last are
// as written; it cannot tell a log whose start or end was cut off, or that
// was deleted or replaced whole, from a shorter honest one. The anchor
// file ($HERMES_HOME/audit.anchor) remembers what the log held: the
// chain's genesis, the first seq it started at, and a head (seq and hash)
// that was there: the newest record `audit verify` last found intact, or
// the first record of the new file at each rotation. verify then reports a
// log that no longer holds that head (cut off at the end, or replaced), a
// start that was removed, and a log that is gone.
//
// The anchor is written by the same uid that writes the log, so a process
// of that uid that rewrites both at once is not caught: this is evidence
// against accidental or careless change (and against a command line, which
// the classifier keeps from writing either), not proof against the
// agent's uid. Proof needs a head kept where that uid cannot write: `audit
// head` copied to another user or machine and passed to `verify --anchor`,
// or the log written by the supervisor as another user.

// Anchor is what audit.anchor holds.
type Anchor struct {
	// Genesis is the nonce of the chain's genesis record ("" when the
	// oldest file verify saw did not start the chain).
	Genesis string `json:"genesis,omitempty"`
	// Start is the seq of the oldest record the log held.
	Start uint64 `json:"start"`
	// Head is a record the log held, unchanged.
	Head Head `json:"head"`
	// By is what wrote it: "verify" or "rotate"; At is when.
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// AnchorFile is where the anchor of the log at a.Path is kept.
func (a Audit) AnchorFile() string {
	if a.AnchorPath != "" {
		return a.AnchorPath
	}
	return filepath.Join(filepath.Dir(a.Path), hermeshome.AuditAnchorFile)
}

// LoadAnchor reads the anchor; ok is false when there is none.
func (a Audit) LoadAnchor() (an Anchor, ok bool, err error) {
	b, err := readRegular(a.AnchorFile())
	if errors.Is(err, fs.ErrNotExist) {
		return Anchor{}, false, nil
	}
	if err != nil {
		return Anchor{}, false, err
	}
	if err := json.Unmarshal(b, &an); err != nil || an.Head.SHA256 == "" {
		return Anchor{}, false, fmt.Errorf("%s is damaged: it does not hold an anchor", a.AnchorFile())
	}
	return an, true, nil
}

func (a Audit) saveAnchor(an Anchor) error {
	b, err := json.Marshal(an)
	if err != nil {
		return err
	}
	return atomicfile.Write(a.AnchorFile(), append(b, '\n'))
}

// anchorGenesis writes the anchor when a chain starts (the log's first
// record, or the first after the log was deleted), so that from its first
// record on a log has an anchor and verify can report the anchor missing.
// It never replaces an anchor that is there: an anchor left by a log that
// was deleted or replaced is what lets verify report that ("replaced"),
// and a damaged one stays for verify to report. Called under the log's
// lock, so concurrent writers do not race over it.
func (a Audit) anchorGenesis(h Head, nonce string) error {
	if _, err := os.Lstat(a.AnchorFile()); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return a.saveAnchor(Anchor{Genesis: nonce, Start: h.Seq, Head: h, By: "genesis", At: time.Now().UTC()})
}

// anchorRotation records the first record of the file a rotation started:
// it links to the last line of the file moved aside, so deleting that
// file (or the new file's start) no longer leaves a log that verifies.
// nonce is the genesis the rotation record starts, when the old file had
// no chain to continue.
func (a Audit) anchorRotation(h Head, nonce string) error {
	an, ok, err := a.LoadAnchor()
	if err != nil {
		// A damaged anchor stays as it is for verify to report:
		// overwriting it would hide what it said (a start that was
		// removed). Rotation itself goes on.
		return nil
	}
	if !ok && nonce == "" {
		// The chain goes on, but its anchor is gone: deleted (or a
		// chained log from before anchoring). Writing one now would
		// anchor whatever is left and hide that; verify goes on
		// reporting it until a human accepts the log (--reanchor).
		return nil
	}
	if !ok {
		// The rotation starts the chain (the old file had none): its
		// genesis is here, at seq 0 like every chain's.
		an = Anchor{Genesis: nonce}
	}
	if ok && an.Head.Seq > h.Seq {
		return nil
	}
	an.Head, an.By, an.At = h, "rotate", time.Now().UTC()
	return a.saveAnchor(an)
}

// SaveAnchor records what rep found as the anchor for the next verify: the
// chain's genesis and start, and its newest record. Call it after an
// intact verify (or to accept a log whose old files were removed on
// purpose: `audit verify --reanchor`).
func (a Audit) SaveAnchor(rep Report) error {
	var an Anchor
	found := false
	for _, fr := range rep.Files {
		if fr.Records == 0 {
			continue
		}
		if !found {
			an.Genesis, an.Start, found = fr.Genesis, fr.FirstSeq, true
		}
		h := fr.bySeq[fr.LastSeq]
		an.Head = Head{Seq: fr.LastSeq, SHA256: hex.EncodeToString(h[:]), File: fr.File}
	}
	if !found {
		return nil
	}
	an.By, an.At = "verify", time.Now().UTC()
	return a.saveAnchor(an)
}

// anchorFileProblems compares the log with its anchor file.
func anchorFileProblems(files []FileReport, an Anchor, where string) []Problem {
	by := fmt.Sprintf("(%s, written by %s at %s)", where, an.By, an.At.Format(time.RFC3339))
	var oldest *FileReport
	for i := range files {
		if files[i].Records > 0 {
			oldest = &files[i]
			break
		}
	}
	if oldest == nil {
		file := hermeshome.AuditFile
		if len(files) > 0 {
			file = files[len(files)-1].File
		}
		return []Problem{{File: file, Seq: an.Head.Seq, HasSeq: true, Kind: "truncated", Msg: fmt.Sprintf("the log holds no records, but its anchor %s says it held seq %d-%d: it was deleted or emptied", by, an.Start, an.Head.Seq)}}
	}
	var probs []Problem
	switch {
	case an.Genesis != "" && oldest.Genesis != "" && an.Genesis != oldest.Genesis:
		probs = append(probs, Problem{File: oldest.File, Line: oldest.Start, Seq: oldest.FirstSeq, HasSeq: true, Kind: "replaced", Msg: "the chain's genesis is not the one anchored " + by + ": the log was replaced by another"})
	case oldest.FirstSeq > an.Start:
		probs = append(probs, Problem{File: oldest.File, Line: oldest.Start, Seq: oldest.FirstSeq, HasSeq: true, Kind: "removed", Msg: fmt.Sprintf("the log now starts at seq %d, but its anchor %s says it started at seq %d: its start (or an older rotated file) was removed; if you removed old files on purpose, accept it with `hermes-exec audit verify --reanchor`", oldest.FirstSeq, by, an.Start)})
	}
	if an.Head.Seq < oldest.FirstSeq {
		return probs // the anchored head went with the start: reported above
	}
	for _, p := range anchorProblems(files, an.Head) {
		p.Msg += " " + by
		probs = append(probs, p)
	}
	return probs
}
