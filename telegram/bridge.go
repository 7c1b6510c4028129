// Package telegram is the gateway's Telegram bridge: it puts every pending
// request as a card with buttons in the private chat of every Telegram
// approver, relays clicks and text commands to the gateway (which
// authorizes them itself), edits every card when its request ends, and
// hands strangers a pairing code when the gateway's rules allow it.
//
// It only makes outbound requests to the Bot API (deleteWebhook at start,
// then long-polling getUpdates), so it works behind NAT with no public
// address. It uses net/http directly rather than a bot library: the bridge
// needs control over every request's retries (429 retry_after, bounded
// backoff, also while polling), the order updates are handled in, and
// where the token can end up (errors and logs are scrubbed of it).
package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"hermes-exec/gateway"
)

// Platform is the bridge's name in identities and in
// TELEGRAM_ALLOWED_USERS.
const Platform = "telegram"

// NotAuthorized is the alert an unauthorized click gets.
const NotAuthorized = "⛔ You are not authorized to approve commands."

// approverLister is an optional extension of gateway.Hub (the gateway's
// Server has it): the identities authorized on a platform by allowlist or
// pairing. With it, paired users get cards without having written to the
// bot since it started.
type approverLister interface {
	Approvers(platform string) []gateway.Identity
}

// unauthorizedAuditor is an optional extension of gateway.Hub: it records
// an unauthorized attempt that the bridge refused itself, before any call
// to Decide or SetYolo (which audit their own refusals).
type unauthorizedAuditor interface {
	AuditUnauthorized(who gateway.Identity, what string)
}

// Bridge is the Telegram bridge; New makes one.
type Bridge struct {
	opts Options
	api  *client
	log  logrus.FieldLogger

	running atomic.Bool
	// ticker makes the countdown's ticks; ticked is told after each
	// (tests drive both).
	ticker  func(time.Duration) (<-chan time.Time, func())
	ticked  func()
	botName string // the bot's username, from getMe
	botID   int64

	mu        sync.Mutex
	cards     map[string]*card  // by request id
	byMsg     map[msgKey]string // card message -> request id
	doneOrder []string          // finished cards, oldest first, for pruning
	seen      map[int64]bool    // users who wrote to the bot since start: true once carded as an approver
	yolo      map[string]bool   // sessions switched from here, for /status
	lastYolo  string
	notices   map[int64]time.Time // when a stranger was last told to wait
	sending   int                 // cards being sent
	idle      chan struct{}       // closed when sending drops to 0
	wg        sync.WaitGroup
}

// maxDoneCards bounds the finished cards kept for replies to old cards.
const maxDoneCards = 1000

type msgKey struct{ chat, msg int64 }

type card struct {
	p    gateway.Pending
	msgs []msgKey
	to   map[int64]bool // chats a card was (or is being) sent to
	sent chan struct{}  // closed once the first round of sends has been tried
	done bool
	end  gateway.Event // how it ended, once done
	// edit orders the edits of the card's messages, so that a countdown
	// edit (which keeps the buttons) never lands after the final one.
	edit sync.Mutex
}

var _ gateway.Bridge = (*Bridge)(nil)

// New checks opts and makes a bridge; it makes no request yet.
func New(opts Options) (gateway.Bridge, error) {
	return newBridge(opts)
}

func newBridge(opts Options) (*Bridge, error) {
	if err := validToken(opts.Token); err != nil {
		return nil, err
	}
	base, err := apiBase(opts.APIURL)
	if err != nil {
		return nil, err
	}
	opts.APIURL = base
	if opts.Logger == nil {
		opts.Logger = logrus.StandardLogger()
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = 50 * time.Second
	}
	if opts.Retries <= 0 {
		opts.Retries = 6
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 5 * time.Minute
	}
	if opts.Countdown == 0 {
		opts.Countdown = 30 * time.Second
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			// The Bot API does not redirect; following one could take
			// the request (and its token-bearing path) elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	b := &Bridge{
		opts: opts,
		log:  opts.Logger.WithField("bridge", Platform),
		api: &client{
			base: base, token: opts.Token, http: hc, sleep: sleepCtx,
			attempts: opts.Retries, maxBackoff: opts.MaxBackoff, maxRetryAfter: opts.MaxRetryAfter,
			pollTimeout: opts.PollTimeout,
		},
		ticker:  realTicker,
		cards:   map[string]*card{},
		byMsg:   map[msgKey]string{},
		seen:    map[int64]bool{},
		yolo:    map[string]bool{},
		notices: map[int64]time.Time{},
		idle:    make(chan struct{}),
	}
	return b, nil
}

// Platform implements gateway.Bridge.
func (b *Bridge) Platform() string { return Platform }

// Run implements gateway.Bridge: it serves until ctx is done (then it
// returns nil), the Bot API rejects the token, or the gateway closes its
// event stream.
func (b *Bridge) Run(ctx context.Context, h gateway.Hub) error {
	if h == nil {
		return errors.New("telegram: no gateway to serve")
	}
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("telegram: the bridge is already running")
	}
	defer b.running.Store(false)

	ctx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		b.wg.Wait()
	}()
	if err := b.start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return tokenRejected(err)
	}
	// Subscribe before listing, so that nothing falls between the two;
	// a request in both is carded once.
	events, cancel := h.Subscribe()
	defer func() { cancel() }()
	b.resync(ctx, h)
	polled := make(chan error, 1)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		polled <- b.poll(ctx, h)
	}()
	if b.opts.Countdown > 0 {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.countdown(ctx)
		}()
	}
	b.log.Infof("telegram: polling for updates as @%s", b.botName)
	pause := 50 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-polled:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case ev, ok := <-events:
			if ok {
				b.event(ctx, h, ev)
				pause = 50 * time.Millisecond
				continue
			}
			// The gateway dropped the subscription (it closes a
			// subscriber that falls behind): subscribe again and catch
			// up from its list of pending requests.
			b.log.Warn("telegram: the gateway's event stream ended; subscribing again")
			cancel()
			if b.api.sleep(ctx, pause) != nil {
				return nil
			}
			pause = min(pause*2, 5*time.Second)
			events, cancel = h.Subscribe()
			b.resync(ctx, h)
		}
	}
}

// resync makes the cards match the gateway's pending requests: cards for
// requests it has not carded, and closed cards for requests that ended
// while the bridge was not listening (how they ended is unknown here).
func (b *Bridge) resync(ctx context.Context, h gateway.Hub) {
	pending := h.Pending()
	live := map[string]bool{}
	for _, p := range pending {
		live[p.ID] = true
		b.newRequest(ctx, h, p)
	}
	b.mu.Lock()
	var gone []gateway.Pending
	for id, c := range b.cards {
		if !c.done && !live[id] {
			gone = append(gone, c.p)
		}
	}
	b.mu.Unlock()
	for _, p := range gone {
		b.finish(ctx, gateway.Event{Request: p})
	}
}

// start removes any webhook (getUpdates is refused while one is set) and
// learns the bot's name. Network trouble is waited out; a rejected token
// is an error.
func (b *Bridge) start(ctx context.Context) error {
	if err := b.persist(ctx, "deleteWebhook", deleteWebhookParams{}, nil); err != nil {
		return err
	}
	var me apiUser
	if err := b.persist(ctx, "getMe", nil, &me); err != nil {
		return err
	}
	b.botName, b.botID = me.Username, me.ID
	return nil
}

// persist calls method until it succeeds, ctx is done, or the API gives
// an answer that will not change (a rejected token).
func (b *Bridge) persist(ctx context.Context, method string, params, result any) error {
	backoff := time.Second
	for {
		err := b.api.call(ctx, method, params, result)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if fatal(err) {
			return err
		}
		b.log.Warnf("%v; trying again in %s", err, backoff)
		if b.api.sleep(ctx, backoff) != nil {
			return ctx.Err()
		}
		backoff = min(backoff*2, b.opts.MaxBackoff)
	}
}

// fatal says whether err means the bot cannot work at all: the token is
// wrong or revoked (401), or api_url is no Bot API (404).
func fatal(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Code == http.StatusUnauthorized || ae.Code == http.StatusNotFound
}

func tokenRejected(err error) error {
	return fmt.Errorf("%w (check %s and gateway.telegram.api_url)", err, EnvToken)
}

// poll long-polls getUpdates and handles each update in order.
func (b *Bridge) poll(ctx context.Context, h gateway.Hub) error {
	var offset, confirmed int64
	defer func() { b.confirm(offset, confirmed) }()
	backoff := 250 * time.Millisecond
	failing := false
	for {
		var ups []apiUpdate
		began := time.Now()
		err := b.api.once(ctx, "getUpdates", getUpdatesParams{
			Offset: offset, Timeout: int(b.opts.PollTimeout / time.Second),
			AllowedUpdates: []string{"message", "callback_query"},
		}, &ups)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if fatal(err) {
				return tokenRejected(err)
			}
			wait := backoff
			var ae *APIError
			if errors.As(err, &ae) && ae.Code == http.StatusTooManyRequests && ae.RetryAfter > 0 {
				wait = min(ae.RetryAfter, b.opts.MaxRetryAfter)
			} else {
				backoff = min(backoff*2, b.opts.MaxBackoff)
			}
			if !failing {
				b.log.Warnf("%v; polling again in %s", err, wait)
			} else {
				b.log.Debugf("%v; polling again in %s", err, wait)
			}
			failing = true
			if b.api.sleep(ctx, wait) != nil {
				return nil
			}
			continue
		}
		confirmed = offset // asking from offset confirmed everything below it
		if failing {
			b.log.Info("telegram: polling works again")
		}
		failing, backoff = false, 250*time.Millisecond
		if len(ups) == 0 && time.Since(began) < time.Second {
			// A server that does not hold the poll open (a proxy, an old
			// stand-in) would make this loop spin: pace it.
			if sleepCtx(ctx, 250*time.Millisecond) != nil {
				return nil
			}
		}
		for _, u := range ups {
			if ctx.Err() != nil {
				return nil // the rest stays unconfirmed, for the next start
			}
			if u.UpdateID >= offset {
				offset = u.UpdateID + 1
			}
			switch {
			case u.CallbackQuery != nil:
				b.onCallback(ctx, h, u.CallbackQuery)
			case u.Message != nil:
				b.onMessage(ctx, h, u.Message)
			}
		}
	}
}

// confirm tells the Bot API, on the way out, that the updates handled
// since the last poll are done with; otherwise the next start would get
// them again and, say, apply an "/approve" (the oldest request) to a
// request that did not exist when it was written.
func (b *Bridge) confirm(offset, confirmed int64) {
	if offset <= confirmed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var ups []apiUpdate
	if err := b.api.once(ctx, "getUpdates", getUpdatesParams{Offset: offset, Limit: 1, AllowedUpdates: []string{"message", "callback_query"}}, &ups); err != nil {
		b.log.Debugf("telegram: confirming the last updates: %v", err)
	}
}

// ---- requests and their cards ----

// countdown edits the open cards every Options.Countdown with the time
// left.
func (b *Bridge) countdown(ctx context.Context) {
	ticks, stop := b.ticker(b.opts.Countdown)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticks:
			b.refresh(ctx, now)
			if b.ticked != nil {
				b.ticked()
			}
		}
	}
}

func realTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// refresh edits every open card to show the time left at now. A failed
// edit is not retried: the next tick makes another.
func (b *Bridge) refresh(ctx context.Context, now time.Time) {
	b.mu.Lock()
	var open []*card
	for _, c := range b.cards {
		if !c.done {
			open = append(open, c)
		}
	}
	b.mu.Unlock()
	for _, c := range open {
		select {
		case <-c.sent:
		default:
			continue // still being sent
		}
		if !now.Before(deadline(c.p)) {
			continue // the gateway is about to say it expired
		}
		c.edit.Lock()
		b.mu.Lock()
		done := c.done
		msgs := append([]msgKey(nil), c.msgs...)
		b.mu.Unlock()
		if !done {
			text, kb := cardText(c.p, now), cardButtons(c.p)
			for _, k := range msgs {
				ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := b.api.once(ectx, "editMessageText", editMessageTextParams{
					ChatID: k.chat, MessageID: k.msg, Text: text, ParseMode: parseMode,
					ReplyMarkup: kb, LinkPreview: &linkPreviewOptions{IsDisabled: true},
				}, nil)
				cancel()
				if err != nil && !notModified(err) && ctx.Err() == nil {
					b.log.Debugf("telegram: countdown of the card in chat %d: %v", k.chat, err)
				}
			}
		}
		c.edit.Unlock()
	}
}

func (b *Bridge) event(ctx context.Context, h gateway.Hub, ev gateway.Event) {
	switch ev.Kind {
	case gateway.EventNew:
		b.newRequest(ctx, h, ev.Request)
	case gateway.EventResolved, gateway.EventExpired, gateway.EventWithdrawn:
		b.finish(ctx, ev)
	}
}

func (b *Bridge) newRequest(ctx context.Context, h gateway.Hub, p gateway.Pending) {
	if len(p.ID) == 0 || len(p.ID) > maxIDLen {
		b.log.Errorf("telegram: request id %q does not fit in a button's data; no cards for it", p.ID)
		return
	}
	b.mu.Lock()
	if b.cards[p.ID] != nil {
		b.mu.Unlock()
		return
	}
	c := &card{p: p, to: map[int64]bool{}, sent: make(chan struct{})}
	b.cards[p.ID] = c
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer close(c.sent)
		b.sendCards(ctx, h, c)
	}()
}

// recipients are the private chats of every Telegram user the gateway
// authorizes now and whom the bridge knows of: the allowlist, the hub's
// list of approvers (allowlists and pairing records), and users who wrote
// to the bot.
func (b *Bridge) recipients(h gateway.Hub) []int64 {
	set := map[int64]bool{}
	for _, id := range b.opts.AllowedUsers {
		set[id] = true
	}
	if l, ok := h.(approverLister); ok {
		for _, who := range l.Approvers(Platform) {
			if id, err := strconv.ParseInt(who.ID, 10, 64); err == nil && who.Platform == Platform && id > 0 {
				set[id] = true
			}
		}
	}
	b.mu.Lock()
	for id := range b.seen {
		set[id] = true
	}
	b.mu.Unlock()
	var out []int64
	for id := range set {
		if h.Authorized(gateway.Identity{Platform: Platform, ID: strconv.FormatInt(id, 10)}) {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (b *Bridge) sendCards(ctx context.Context, h gateway.Hub, c *card) {
	// Past its deadline a card is of no use: stop retrying then.
	ctx, cancel := context.WithDeadline(ctx, deadline(c.p))
	defer cancel()
	to := b.recipients(h)
	var mine []int64 // not already taken by catchUp
	b.mu.Lock()
	for _, chat := range to {
		if !c.to[chat] {
			c.to[chat] = true
			mine = append(mine, chat)
		}
	}
	b.mu.Unlock()
	sent := 0
	for _, chat := range mine {
		if b.sendCard(ctx, c, chat) {
			sent++
		}
	}
	if sent == 0 && len(mine) == len(to) && ctx.Err() == nil {
		b.log.Warnf("telegram: request %s has no Telegram approver (no card could be sent to anyone); it still waits on the other channels", shortID(c.p.ID))
	}
}

// sendCard sends c's card to one chat and records it.
func (b *Bridge) sendCard(ctx context.Context, c *card, chat int64) bool {
	b.mu.Lock()
	b.sending++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.sending--
		if b.sending == 0 {
			close(b.idle)
			b.idle = make(chan struct{})
		}
		b.mu.Unlock()
	}()
	var m apiMessage
	err := b.api.call(ctx, "sendMessage", sendMessageParams{
		ChatID: chat, Text: cardText(c.p, time.Now()), ParseMode: parseMode, ReplyMarkup: cardButtons(c.p),
		LinkPreview: &linkPreviewOptions{IsDisabled: true},
	}, &m)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warnf("telegram: no card for request %s to user %d: %v%s", shortID(c.p.ID), chat, err, sendHint(err))
		}
		return false
	}
	k := msgKey{chat, m.MessageID}
	b.mu.Lock()
	c.msgs = append(c.msgs, k)
	b.byMsg[k] = c.p.ID
	// A card sent late (catchUp) to a request that ended meanwhile: the
	// finishing round may not have seen it, so close it here.
	done, end := c.done, c.end
	b.mu.Unlock()
	if done {
		// The request may have ended by its deadline, which ended ctx.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		c.edit.Lock()
		b.closeCard(cctx, k, finalText(c.p, end))
		c.edit.Unlock()
	}
	return true
}

// catchUp sends a user who has just shown up as an approver the cards of
// every request still pending that they have not been sent.
func (b *Bridge) catchUp(ctx context.Context, chat int64) {
	b.mu.Lock()
	var late []*card
	for _, c := range b.cards {
		if !c.done && !c.to[chat] {
			c.to[chat] = true
			late = append(late, c)
		}
	}
	b.mu.Unlock()
	sort.Slice(late, func(i, j int) bool { return late[i].p.Created.Before(late[j].p.Created) })
	for _, c := range late {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			ctx, cancel := context.WithDeadline(ctx, deadline(c.p))
			defer cancel()
			b.sendCard(ctx, c, chat)
		}()
	}
}

func sendHint(err error) string {
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == http.StatusForbidden {
		return " (the user must write to the bot first, and not block it)"
	}
	return ""
}

// finish edits every card of a request that ended to say how, without
// buttons.
func (b *Bridge) finish(ctx context.Context, ev gateway.Event) {
	b.mu.Lock()
	c := b.cards[ev.Request.ID]
	if c == nil || c.done {
		b.mu.Unlock()
		return
	}
	c.done, c.end = true, ev
	b.doneOrder = append(b.doneOrder, c.p.ID)
	b.pruneLocked()
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		<-c.sent
		c.edit.Lock()
		defer c.edit.Unlock()
		b.mu.Lock()
		msgs := append([]msgKey(nil), c.msgs...)
		b.mu.Unlock()
		text := finalText(c.p, ev)
		for _, k := range msgs {
			b.closeCard(ctx, k, text)
		}
	}()
}

func (b *Bridge) closeCard(ctx context.Context, k msgKey, text string) {
	err := b.api.call(ctx, "editMessageText", editMessageTextParams{
		ChatID: k.chat, MessageID: k.msg, Text: text, ParseMode: parseMode,
		ReplyMarkup: noButtons, LinkPreview: &linkPreviewOptions{IsDisabled: true},
	}, nil)
	if err == nil || notModified(err) || ctx.Err() != nil {
		return
	}
	b.log.Warnf("telegram: cannot update the card in chat %d: %v", k.chat, err)
	// At least take the buttons away.
	b.dropButtons(ctx, k)
}

func (b *Bridge) dropButtons(ctx context.Context, k msgKey) {
	err := b.api.call(ctx, "editMessageReplyMarkup", struct {
		ChatID      int64           `json:"chat_id"`
		MessageID   int64           `json:"message_id"`
		ReplyMarkup *inlineKeyboard `json:"reply_markup"`
	}{k.chat, k.msg, noButtons}, nil)
	if err != nil && !notModified(err) && ctx.Err() == nil {
		b.log.Warnf("telegram: cannot remove the buttons in chat %d: %v", k.chat, err)
	}
}

func notModified(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == http.StatusBadRequest && containsFold(ae.Description, "message is not modified")
}

// pruneLocked forgets the oldest finished cards beyond maxDoneCards.
func (b *Bridge) pruneLocked() {
	for len(b.doneOrder) > maxDoneCards {
		id := b.doneOrder[0]
		b.doneOrder = b.doneOrder[1:]
		if c := b.cards[id]; c != nil {
			for _, k := range c.msgs {
				delete(b.byMsg, k)
			}
			delete(b.cards, id)
		}
	}
}

// waitSends waits (a little) for the cards being sent to be recorded.
func (b *Bridge) waitSends(ctx context.Context) {
	b.mu.Lock()
	busy, idle := b.sending > 0, b.idle
	b.mu.Unlock()
	if !busy {
		return
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
}

// cardOf returns the request a card message belongs to.
func (b *Bridge) cardOf(chat, msg int64) (*card, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id, ok := b.byMsg[msgKey{chat, msg}]
	if !ok {
		return nil, false
	}
	c := b.cards[id]
	return c, c != nil
}
