package gateway

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"hermes-exec/approval"
	"hermes-exec/gateway/pairing"
	"hermes-exec/gateway/wire"
)

// More errors of Server's own (the bridge contract's are in bridge.go).
var (
	ErrDuplicate   = errors.New("a request with this id is already pending")
	ErrBadRequest  = errors.New("bad request")
	ErrNotOffered  = errors.New(`"always" is not offered for this request: a finding cannot be allowlisted`)
	ErrStoreFailed = errors.New("the pairing store failed")
)

// AuditEntry is something the daemon itself records: unauthorized
// attempts, pairing and yolo changes. (Decisions are recorded by the
// wrapper, with the command's outcome, in the same log.)
type AuditEntry struct {
	Kind    string // "unauthorized", "yolo", "pairing"
	Request *Pending
	By      Identity
	Detail  string
}

// YoloStore is the sessions' "skip approvals" switches (shim.Sessions).
type YoloStore interface {
	Yolo(session string) bool
	SetYolo(session string, on bool) error
}

// Options configure a Server.
type Options struct {
	// Authorized is the one authorization function (authz.Authorizer).
	Authorized func(Identity) bool
	// HasApprovers reports whether anybody at all is authorized: a request
	// that expires then ends as "no approver" rather than "timed out".
	HasApprovers func() bool
	// Approvers lists the identities authorized on a platform (the
	// allowlists' ids and the pairing records): where a bridge sends cards.
	Approvers func(platform string) []Identity
	// PairingOpen reports whether strangers on platform get pairing codes.
	PairingOpen func(platform string) bool
	Pairing     *pairing.Store
	Yolo        YoloStore
	Audit       func(AuditEntry)
	Now         func() time.Time
}

// Server is the daemon's request table; it implements Hub.
type Server struct {
	opt Options

	mu       sync.Mutex
	pending  map[string]*entry
	finished map[string]wire.Result // recent outcomes, for "already decided"
	order    []string               // finished ids, oldest first
	subs     map[int]chan Event
	nextSub  int
}

// keepFinished bounds the memory of finished requests; a late answer to
// an id forgotten since gets 404 instead of 409, and still changes nothing.
const keepFinished = 4096

// subBuffer is how many events a subscriber may fall behind before it is
// dropped (its channel closed: it must resubscribe and read Pending).
const subBuffer = 1024

type entry struct {
	p        Pending
	done     chan struct{}
	result   wire.Result
	finished bool
}

var _ Hub = (*Server)(nil)

// NewServer makes an empty request table.
func NewServer(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Authorized == nil {
		o.Authorized = func(Identity) bool { return false }
	}
	return &Server{opt: o, pending: map[string]*entry{}, finished: map[string]wire.Result{}, subs: map[int]chan Event{}}
}

// Submit puts a request to the approvers and waits for its outcome: an
// answer, the deadline, or ctx (the wrapper went away, or withdrew it).
func (s *Server) Submit(ctx context.Context, r approval.Request) (wire.Result, error) {
	if !wire.ValidID(r.ID) {
		return wire.Result{}, fmt.Errorf("%w: the id must be 128 bits of hex", ErrBadRequest)
	}
	if r.Command == "" {
		return wire.Result{}, fmt.Errorf("%w: no command", ErrBadRequest)
	}
	now := s.opt.Now()
	if r.Timeout <= 0 {
		r.Timeout = approval.DefaultTimeout
	}
	if r.Deadline.IsZero() {
		r.Deadline = now.Add(r.Timeout)
	}
	e := &entry{p: Pending{Request: r, Created: now}, done: make(chan struct{})}
	s.mu.Lock()
	if _, dup := s.pending[r.ID]; dup {
		s.mu.Unlock()
		return wire.Result{}, ErrDuplicate
	}
	if _, dup := s.finished[r.ID]; dup {
		s.mu.Unlock()
		return wire.Result{}, ErrDuplicate
	}
	s.pending[r.ID] = e
	s.broadcastLocked(Event{Kind: EventNew, Request: e.p})
	s.mu.Unlock()

	timer := time.NewTimer(time.Until(r.Deadline))
	defer timer.Stop()
	select {
	case <-e.done:
	case <-timer.C:
		res := wire.Result{ID: r.ID, Outcome: wire.OutcomeTimeout, Reason: "no answer within " + r.Timeout.String()}
		if s.opt.HasApprovers != nil && !s.opt.HasApprovers() {
			res.Outcome = wire.OutcomeNoApprover
			res.Reason = "no approver is paired with or allowed on the gateway (no answer within " + r.Timeout.String() + ")"
		}
		s.finish(r.ID, res, Event{Kind: EventExpired, Reason: res.Reason})
	case <-ctx.Done():
		reason := "the wrapper went away"
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			reason = c.Error()
		}
		s.withdraw(r.ID, reason)
	}
	<-e.done
	return e.result, nil
}

// Withdraw ends a pending request without an answer: the wrapper says
// another channel answered (or it is giving up). Unknown ids are ignored.
func (s *Server) Withdraw(id, reason string) {
	if reason == "" {
		reason = "withdrawn by the wrapper"
	}
	s.withdraw(id, reason)
}

func (s *Server) withdraw(id, reason string) {
	s.finish(id, wire.Result{ID: id, Outcome: wire.OutcomeWithdrawn, Reason: reason}, Event{Kind: EventWithdrawn, Reason: reason})
}

// finish settles a pending request once; later calls do nothing.
func (s *Server) finish(id string, res wire.Result, ev Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.pending[id]
	if !ok || e.finished {
		return false
	}
	e.finished = true
	e.result = res
	delete(s.pending, id)
	s.finished[id] = res
	s.order = append(s.order, id)
	if len(s.order) > keepFinished {
		delete(s.finished, s.order[0])
		s.order = s.order[1:]
	}
	ev.Request = e.p
	s.broadcastLocked(ev)
	close(e.done)
	return true
}

// Pending lists the waiting requests, oldest first.
func (s *Server) Pending() []Pending {
	s.mu.Lock()
	out := make([]Pending, 0, len(s.pending))
	for _, e := range s.pending {
		out = append(out, e.p)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Get returns a pending request.
func (s *Server) Get(id string) (Pending, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.pending[id]
	if !ok {
		return Pending{}, false
	}
	return e.p, true
}

// Subscribe delivers every later event. A subscriber that falls
// subBuffer events behind has its channel closed.
func (s *Server) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, subBuffer)
	s.mu.Lock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = ch
	s.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.mu.Lock()
			if c, ok := s.subs[id]; ok {
				delete(s.subs, id)
				close(c)
			}
			s.mu.Unlock()
		})
	}
}

func (s *Server) broadcastLocked(ev Event) {
	for id, ch := range s.subs {
		select {
		case ch <- ev:
		default:
			delete(s.subs, id)
			close(ch)
		}
	}
}

// Decide answers request id, after authorizing d.By.
func (s *Server) Decide(id string, d Decision) error {
	if !s.Authorized(d.By) {
		p, _ := s.Get(id)
		s.audit(AuditEntry{Kind: "unauthorized", Request: nonEmpty(p), By: d.By, Detail: "unauthorized attempt to answer " + d.Answer.String() + " to request " + id})
		return ErrUnauthorized
	}
	switch d.Answer {
	case approval.AnswerDeny, approval.AnswerOnce, approval.AnswerSession, approval.AnswerAlways:
	default:
		return fmt.Errorf("%w: unknown answer %v", ErrBadRequest, d.Answer)
	}
	s.mu.Lock()
	e, ok := s.pending[id]
	_, done := s.finished[id]
	s.mu.Unlock()
	if !ok {
		if done {
			return ErrAlreadyDecided
		}
		return ErrUnknownRequest
	}
	if d.Answer == approval.AnswerAlways && !e.p.CanAlways {
		return ErrNotOffered
	}
	res := wire.Result{ID: id, Outcome: wire.OutcomeAnswered, Answer: d.Answer.String(), Approver: ApproverName(d.By), Channel: d.By.Platform}
	if d.Answer == approval.AnswerDeny {
		res.Reason = "denied by " + ApproverName(d.By)
		if d.Reason != "" {
			res.Reason += ": " + d.Reason
		}
	}
	if !s.finish(id, res, Event{Kind: EventResolved, Answer: d.Answer, Reason: d.Reason, By: d.By}) {
		return ErrAlreadyDecided
	}
	return nil
}

func nonEmpty(p Pending) *Pending {
	if p.ID == "" {
		return nil
	}
	return &p
}

// ApproverName is how an approver is named in the audit log and on cards:
// "web:NAME" for the web page (its id is an opaque hash nobody can read),
// "PLATFORM:ID" elsewhere.
func ApproverName(who Identity) string {
	if who.Platform == "web" && who.Name != "" {
		return "web:" + who.Name
	}
	return who.String()
}

// Authorized is the one authorization function, as configured.
func (s *Server) Authorized(who Identity) bool {
	return s.opt.Authorized(who)
}

// RequestPairing issues a pairing code to a stranger.
func (s *Server) RequestPairing(who Identity) (string, error) {
	if s.opt.Pairing == nil {
		return "", ErrStrangersIgnored
	}
	if s.opt.PairingOpen != nil && !s.opt.PairingOpen(who.Platform) {
		return "", ErrStrangersIgnored
	}
	code, err := s.opt.Pairing.Request(who.Platform, who.ID, who.Name)
	switch {
	case err == nil:
		s.audit(AuditEntry{Kind: "pairing", By: who, Detail: "pairing code issued to " + who.String()})
		return code, nil
	case errors.Is(err, pairing.ErrLocked):
		return "", ErrLocked
	case errors.Is(err, pairing.ErrRateLimited), errors.Is(err, pairing.ErrTooMany):
		return "", fmt.Errorf("%w (%v)", ErrRateLimited, err)
	}
	return "", fmt.Errorf("%w: %v", ErrStoreFailed, err)
}

// Yolo reports a session's switch.
func (s *Server) Yolo(session string) bool {
	return s.opt.Yolo != nil && session != "" && s.opt.Yolo.Yolo(session)
}

// SetYolo changes a session's switch for an authorized approver.
func (s *Server) SetYolo(session string, on bool, who Identity) error {
	if !s.Authorized(who) {
		s.audit(AuditEntry{Kind: "unauthorized", By: who, Detail: fmt.Sprintf("unauthorized attempt to set yolo %v for session %q", on, session)})
		return ErrUnauthorized
	}
	if s.opt.Yolo == nil || session == "" {
		return fmt.Errorf("%w: no session", ErrBadRequest)
	}
	if err := s.opt.Yolo.SetYolo(session, on); err != nil {
		return err
	}
	s.audit(AuditEntry{Kind: "yolo", By: who, Detail: fmt.Sprintf("yolo %v for session %q", on, session)})
	return nil
}

func (s *Server) audit(a AuditEntry) {
	if s.opt.Audit != nil {
		s.opt.Audit(a)
	}
}

// AuditUnauthorized records an unauthorized attempt that is not a
// decision (listing requests, opening the event stream).
func (s *Server) AuditUnauthorized(who Identity, what string) {
	s.audit(AuditEntry{Kind: "unauthorized", By: who, Detail: "unauthorized attempt to " + what})
}

// Approvers lists the identities authorized on platform, by allowlist or
// pairing (those GATEWAY_ALLOW_ALL_USERS lets in cannot be listed). A
// bridge sends its cards to them; each click is still authorized anew.
func (s *Server) Approvers(platform string) []Identity {
	if s.opt.Approvers == nil {
		return nil
	}
	return s.opt.Approvers(platform)
}

// The optional extensions of Hub that bridges look for.
var _ interface {
	Approvers(platform string) []Identity
	AuditUnauthorized(who Identity, what string)
} = (*Server)(nil)
