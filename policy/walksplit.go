package policy

import (
	"runtime"

	"mvdan.cc/sh/v3/syntax"
)

// A large script's walk overlaps its parse: its first part is walked as
// soon as it is parsed, while the later parts are still being parsed on
// the other cores, and so on part by part (the walk itself stays in
// order, on one goroutine). The parts are parseSplit's, with the same
// checks, so the statements walked are the sequential parse's.
//
// The walk reads one thing of the whole text: how often each variable is
// assigned (trustedAssignments), which the later parts can change. So the
// walk of part i uses the counts of parts 0..i, and every question it asks
// of them (is x trusted, is x never assigned, assigned exactly as one for
// loop does, assigned at all) is recorded with its answer. Once all parts
// are parsed, each recorded answer is asked again of the whole text's
// counts: the walk is deterministic given its statements and these
// answers, so when they all agree the verdict is the one the sequential
// walk gives. When one does not (a variable assigned again further down,
// an eval that makes nothing trackable), or a part fails to parse, the
// walk is thrown away and the script is classified the usual way.

// specAnswers records, per variable name, the answers a speculative walk
// got: bit 2*q for "no" and 2*q+1 for "yes" to question q.
type specAnswers map[string]uint8

// The questions the walk asks of the assignment counts.
const (
	qTrusted       = iota // assigned exactly once, by a plain top-level statement
	qNeverAssigned        // count 0
	qForLoopOnly          // count 2: one for loop, nothing else
	qAssigned             // the counts are known and the count is > 0
)

func (s specAnswers) note(name string, q int, yes bool) {
	bit := uint8(1) << (2 * q)
	if yes {
		bit <<= 1
	}
	s[name] |= bit
}

// answer is question q about name for the given counts, as the walker
// computes it (the one place each question is written).
func answer(trusted map[string]bool, count map[string]int, name string, q int) bool {
	switch q {
	case qTrusted:
		return trusted[name]
	case qNeverAssigned:
		return count[name] == 0
	case qForLoopOnly:
		return count[name] == 2
	default:
		return count != nil && count[name] > 0
	}
}

func (w *walker) ask(name string, q int) bool {
	yes := answer(w.trusted, w.assignCount, name, q)
	if w.spec != nil {
		w.spec.note(name, q, yes)
	}
	return yes
}

func (w *walker) isTrusted(name string) bool     { return w.ask(name, qTrusted) }
func (w *walker) neverAssigned(name string) bool { return w.ask(name, qNeverAssigned) }
func (w *walker) forLoopOnly(name string) bool   { return w.ask(name, qForLoopOnly) }
func (w *walker) assignedHere(name string) bool  { return w.ask(name, qAssigned) }

// agrees reports that every recorded answer is the one the final counts
// give.
func (s specAnswers) agrees(trusted map[string]bool, count map[string]int) bool {
	for name, bits := range s {
		for q := qTrusted; q <= qAssigned; q++ {
			asked := bits >> (2 * q) & 3
			if asked == 0 {
				continue
			}
			want := uint8(1)
			if answer(trusted, count, name, q) {
				want = 2
			}
			if asked != want {
				return false
			}
		}
	}
	return true
}

// partCounts are one part's statements and assignment counts.
type partCounts struct {
	stmts   []*syntax.Stmt
	count   map[string]int
	noTrack bool
	top     map[string]bool // assigned by a plain top-level statement
	ok      bool
}

// countPart counts one part's assignments (nothing when the text has no
// assignment at all, as trustedAssignments skips the count then).
func countPart(stmts []*syntax.Stmt, anyAssign bool) partCounts {
	p := partCounts{stmts: stmts, ok: true}
	if anyAssign {
		p.count, p.noTrack = countAssignments(stmts, 0)
		p.top = map[string]bool{}
		topAssigned(stmts, p.top)
	}
	return p
}

// classifySplitWalk classifies a large script without a key, walking each
// part as soon as it is parsed. ok=false: it could not be done so (the
// cuts, a part's parse), and the caller classifies the usual way; nothing
// it did is kept.
func (c *Classifier) classifySplitWalk(script string) (v Verdict, ok bool) {
	if !shortcuts || len(script) < splitMin || runtime.GOMAXPROCS(0) < 2 {
		return Verdict{}, false
	}
	w, parts, agreed, ok := c.walkParts(script)
	if !ok {
		return Verdict{}, false
	}
	if !agreed {
		// An answer changed: the sequential walk, on the tree the parts
		// make.
		var all []*syntax.Stmt
		for _, p := range parts {
			all = append(all, p...)
		}
		w = newWalker(c, script, 0)
		w.file(&syntax.File{Stmts: all})
	}
	return w.verdict(""), true
}

// walkParts parses script in parts and walks each as it comes. parts are
// the parts' statements (in order, the sequential parse's); agreed is
// false when an answer the walk got differs from the whole text's, and
// the walk must be done again.
func (c *Classifier) walkParts(script string) (w *walker, parts [][]*syntax.Stmt, agreed, ok bool) {
	// The finding for invisible characters comes first and quotes the
	// whole text, which is not parsed yet: such a text is walked the
	// usual way.
	if hasInvisible(script) {
		return nil, nil, false, false
	}
	// The first part is small, so that the walk starts soon; the others
	// end near a quarter, a half and three quarters of the text, and are
	// cut, parsed and counted in order on a second goroutine while the
	// walk goes on here (the walk costs more than the parse: it never
	// waits long for the next part).
	n := len(script)
	first := nearCut(script, n/8, 1, n/8+n/32)
	if first < 0 || !cutAllowed(script, first) {
		return nil, nil, false, false
	}
	anyAssign := mayAssign(script)
	later := make(chan partCounts, maxParts)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(later)
		bounds := []int{first}
		for i := 1; i < maxParts; i++ {
			target, window := n*i/maxParts, n/(4*maxParts)
			cut := nearCut(script, target, max(bounds[len(bounds)-1]+1, target-window), min(n, target+window))
			if cut < 0 {
				continue
			}
			if !cutAllowed(script, cut) {
				later <- partCounts{}
				return
			}
			bounds = append(bounds, cut)
		}
		bounds = append(bounds, n)
		blank := blankPrefix(script[:bounds[len(bounds)-2]]) // each part's is a prefix of it
		for i := 0; i+1 < len(bounds); i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := parsePartCounts(func() (*syntax.File, error) {
				return parsePart(blank[:bounds[i]], script[bounds[i]:bounds[i+1]])
			}, anyAssign)
			later <- p
			if !p.ok {
				return
			}
		}
	}()
	p0 := parsePartCounts(func() (*syntax.File, error) { return parseScript(script[:first]) }, anyAssign)
	if !p0.ok {
		return nil, nil, false, false
	}
	w = newWalker(c, script, 0)
	w.spec = specAnswers{}
	count := map[string]int{}
	top := map[string]bool{}
	noTrack := false
	// add merges a part's counts and sets the walker's to the parts' so
	// far (as trustedAssignments would for their text).
	add := func(p partCounts) {
		if !anyAssign {
			return
		}
		for k, n := range p.count {
			count[k] += n
		}
		for k := range p.top {
			top[k] = true
		}
		noTrack = noTrack || p.noTrack
		if noTrack {
			w.trusted, w.assignCount = nil, nil
			return
		}
		w.trusted, w.assignCount = trustedFrom(top, count), count
	}
	for p := p0; ; {
		add(p)
		parts = append(parts, p.stmts)
		w.stmts(p.stmts)
		var more bool
		if p, more = <-later; !more {
			break
		}
		if !p.ok {
			return nil, nil, false, false
		}
	}
	var trusted map[string]bool
	if anyAssign && !noTrack {
		trusted = trustedFrom(top, count)
	} else {
		count = nil
	}
	return w, parts, w.spec.agrees(trusted, count), true
}

// parsePartCounts parses one part and counts its assignments. A panic in
// the parser counts as a failed part, as in parseSplit.
func parsePartCounts(parse func() (*syntax.File, error), anyAssign bool) (p partCounts) {
	defer func() {
		if recover() != nil {
			p = partCounts{}
		}
	}()
	f, err := parse()
	if err != nil || f == nil || len(f.Last) != 0 {
		return partCounts{}
	}
	return countPart(f.Stmts, anyAssign)
}
