// Package fakehub is an in-memory gateway.Hub for the Telegram bridge's
// tests. It keeps the contract's rules (Decide authorizes by itself, a
// request is decided once, pairing is closed to strangers while an
// allowlist is configured) and lets the test play the agent waiting on a
// request (Wait) and the other channels (Withdraw, Expire, DecideElsewhere).
package fakehub

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"hermes-exec/approval"
	"hermes-exec/gateway"
)

// Audit is one state change the hub recorded (as the gateway audits).
type Audit struct {
	Kind    string // "decision", "unauthorized", "yolo", "pairing"
	Request string
	Who     gateway.Identity
	Detail  string
}

// Hub is the fake gateway.
type Hub struct {
	mu sync.Mutex
	// Allowlist are the identities (Identity.String()) configured as
	// approvers; a non-empty allowlist closes pairing unless PairingOpen.
	allowlist   map[string]bool
	paired      map[string]bool
	pairingOpen bool
	codes       map[string]gateway.Identity // code -> requester
	issued      map[string]bool             // requester -> has a code
	pending     []gateway.Pending
	outcomes    map[string]gateway.Event
	waiters     map[string]chan gateway.Event
	subs        map[int]chan gateway.Event
	nextSub     int
	yolo        map[string]bool
	audit       []Audit
	changed     chan struct{}
	lagging     bool
	listed      []gateway.Identity
}

// New makes a hub whose allowlist holds these identities.
func New(allow ...gateway.Identity) *Hub {
	h := &Hub{
		allowlist: map[string]bool{}, paired: map[string]bool{},
		codes: map[string]gateway.Identity{}, issued: map[string]bool{},
		outcomes: map[string]gateway.Event{}, waiters: map[string]chan gateway.Event{},
		subs: map[int]chan gateway.Event{}, yolo: map[string]bool{}, changed: make(chan struct{}),
	}
	for _, id := range allow {
		h.allowlist[id.String()] = true
	}
	return h
}

// Telegram is a Telegram identity by user id.
func Telegram(id int64) gateway.Identity {
	return gateway.Identity{Platform: "telegram", ID: fmt.Sprint(id)}
}

// Allow adds an identity to the allowlist.
func (h *Hub) Allow(who gateway.Identity) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.allowlist[who.String()] = true
	h.changeLocked()
}

// OpenPairing makes pairing available to strangers even with an allowlist
// (the configuration asking for it explicitly).
func (h *Hub) OpenPairing() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pairingOpen = true
}

func (h *Hub) changeLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *Hub) emitLocked(ev gateway.Event) {
	for _, ch := range h.subs {
		select {
		case ch <- ev:
		default:
			panic("fakehub: a subscriber's event buffer is full")
		}
	}
	h.changeLocked()
}

// Add puts a request up for approval, as a wrapper would.
func (h *Hub) Add(r approval.Request) gateway.Pending {
	if r.ID == "" {
		r.ID = approval.NewID()
	}
	if r.Deadline.IsZero() {
		t := r.Timeout
		if t == 0 {
			t = approval.DefaultTimeout
		}
		r.Deadline = time.Now().Add(t)
	}
	p := gateway.Pending{Request: r, Created: time.Now()}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = append(h.pending, p)
	h.waiters[r.ID] = make(chan gateway.Event, 1)
	h.emitLocked(gateway.Event{Kind: gateway.EventNew, Request: p})
	return p
}

// Wait is the agent's side: it blocks until request id ends.
func (h *Hub) Wait(ctx context.Context, id string) (gateway.Event, error) {
	h.mu.Lock()
	ch := h.waiters[id]
	h.mu.Unlock()
	if ch == nil {
		return gateway.Event{}, gateway.ErrUnknownRequest
	}
	select {
	case ev := <-ch:
		ch <- ev
		return ev, nil
	case <-ctx.Done():
		return gateway.Event{}, ctx.Err()
	}
}

// Outcome returns how request id ended, if it has.
func (h *Hub) Outcome(id string) (gateway.Event, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ev, ok := h.outcomes[id]
	return ev, ok
}

func (h *Hub) endLocked(id string, ev gateway.Event) error {
	if _, done := h.outcomes[id]; done {
		return gateway.ErrAlreadyDecided
	}
	for i, p := range h.pending {
		if p.ID == id {
			h.pending = append(h.pending[:i:i], h.pending[i+1:]...)
			ev.Request = p
			h.outcomes[id] = ev
			h.waiters[id] <- ev
			h.emitLocked(ev)
			return nil
		}
	}
	return gateway.ErrUnknownRequest
}

// Withdraw ends a request as the wrapper going away would.
func (h *Hub) Withdraw(id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.endLocked(id, gateway.Event{Kind: gateway.EventWithdrawn})
}

// Expire ends a request as its deadline passing would.
func (h *Hub) Expire(id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.endLocked(id, gateway.Event{Kind: gateway.EventExpired})
}

// Pending implements gateway.Hub.
func (h *Hub) Pending() []gateway.Pending {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]gateway.Pending(nil), h.pending...)
}

// Lag drops every subscriber (closing its channel, as the gateway does to
// one that falls behind) and runs f before anyone may subscribe again:
// what f does, no subscriber hears of.
func (h *Hub) Lag(f func()) {
	h.mu.Lock()
	for id, ch := range h.subs {
		close(ch)
		delete(h.subs, id)
	}
	h.lagging = true
	h.mu.Unlock()
	f()
	h.mu.Lock()
	h.lagging = false
	h.changeLocked()
	h.mu.Unlock()
}

// Subscribe implements gateway.Hub.
func (h *Hub) Subscribe() (<-chan gateway.Event, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.lagging {
		ch := h.changed
		h.mu.Unlock()
		<-ch
		h.mu.Lock()
	}
	ch := make(chan gateway.Event, 1024)
	id := h.nextSub
	h.nextSub++
	h.subs[id] = ch
	h.changeLocked()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if ch, ok := h.subs[id]; ok {
				delete(h.subs, id)
				close(ch)
			}
			h.changeLocked()
		})
	}
}

// Subscribers counts the live subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Decide implements gateway.Hub, authorizing d.By itself.
func (h *Hub) Decide(id string, d gateway.Decision) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.authorizedLocked(d.By) {
		h.audit = append(h.audit, Audit{Kind: "unauthorized", Request: id, Who: d.By})
		h.changeLocked()
		return gateway.ErrUnauthorized
	}
	err := h.endLocked(id, gateway.Event{Kind: gateway.EventResolved, Answer: d.Answer, Reason: d.Reason, By: d.By})
	if err == nil {
		h.audit = append(h.audit, Audit{Kind: "decision", Request: id, Who: d.By, Detail: d.Answer.String() + " " + d.Reason})
	}
	return err
}

// Authorized implements gateway.Hub: the allowlist, then pairings.
func (h *Hub) Authorized(who gateway.Identity) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.authorizedLocked(who)
}

func (h *Hub) authorizedLocked(who gateway.Identity) bool {
	if who.Platform == "" || who.ID == "" {
		return false
	}
	return h.allowlist[who.String()] || h.paired[who.String()]
}

// RequestPairing implements gateway.Hub: closed while an allowlist is
// configured (unless OpenPairing), one code per requester.
func (h *Hub) RequestPairing(who gateway.Identity) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.allowlist) > 0 && !h.pairingOpen {
		return "", gateway.ErrStrangersIgnored
	}
	if h.issued[who.String()] {
		return "", gateway.ErrRateLimited
	}
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b [8]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	code := string(b[:])
	h.codes[code] = who
	h.issued[who.String()] = true
	h.audit = append(h.audit, Audit{Kind: "pairing", Who: who})
	h.changeLocked()
	return code, nil
}

// Pair is the operator running `hermes-exec gateway pair CODE`.
func (h *Hub) Pair(code string) (gateway.Identity, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	who, ok := h.codes[code]
	if !ok {
		return gateway.Identity{}, fmt.Errorf("fakehub: no such code")
	}
	delete(h.codes, code)
	h.paired[who.String()] = true
	h.changeLocked()
	return who, nil
}

// Revoke removes a paired approver.
func (h *Hub) Revoke(who gateway.Identity) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.paired, who.String())
	delete(h.allowlist, who.String())
	h.changeLocked()
}

// Codes counts the codes issued and not yet used.
func (h *Hub) Codes() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.codes)
}

// Yolo implements gateway.Hub.
func (h *Hub) Yolo(session string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.yolo[session]
}

// SetYolo implements gateway.Hub, authorizing and auditing.
func (h *Hub) SetYolo(session string, on bool, who gateway.Identity) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.authorizedLocked(who) {
		h.audit = append(h.audit, Audit{Kind: "unauthorized", Who: who, Detail: "yolo"})
		return gateway.ErrUnauthorized
	}
	if session == "" {
		return fmt.Errorf("fakehub: no session")
	}
	h.yolo[session] = on
	h.audit = append(h.audit, Audit{Kind: "yolo", Who: who, Detail: fmt.Sprintf("%s=%v", session, on)})
	h.changeLocked()
	return nil
}

// AuditUnauthorized records an attempt the bridge refused itself (as the
// gateway's server offers).
func (h *Hub) AuditUnauthorized(who gateway.Identity, what string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.audit = append(h.audit, Audit{Kind: "unauthorized", Who: who, Detail: what})
	h.changeLocked()
}

// ListApprovers sets what Approvers lists (as the gateway lists its
// allowlists and pairing records), whether or not they are authorized.
func (h *Hub) ListApprovers(ids ...gateway.Identity) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listed = ids
}

// Approvers is the gateway server's optional Hub extension.
func (h *Hub) Approvers(platform string) []gateway.Identity {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []gateway.Identity
	for _, id := range h.listed {
		if id.Platform == platform {
			out = append(out, id)
		}
	}
	return out
}

// Audit returns what the hub recorded.
func (h *Hub) Audit() []Audit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Audit(nil), h.audit...)
}

// WaitUntil blocks until cond holds (re-checked on every change) or ctx is
// done.
func (h *Hub) WaitUntil(ctx context.Context, cond func() bool) error {
	for {
		h.mu.Lock()
		ch := h.changed
		h.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fakehub: condition not met: %w", ctx.Err())
		}
	}
}
