// Package botapitest is a stand-in for the Telegram Bot API server, on
// loopback, for tests. It is written against the API's documented shapes
// (https://core.telegram.org/bots/api), not against the bridge, and it is
// as strict as the real server where a client could go wrong:
//
//   - requests are accepted the way the real server accepts them: the token
//     in the path (/bot<TOKEN>/<method>, method names case-insensitive),
//     parameters as a JSON body, an urlencoded or multipart form, or a
//     query string (objects such as reply_markup JSON-encoded inside forms);
//   - every answer is {"ok":true,"result":...} or {"ok":false,
//     "error_code":N,"description":"..."} with HTTP status N, and 429 carries
//     parameters.retry_after;
//   - getUpdates long-polls for `timeout` seconds, confirms everything
//     below `offset`, and a second concurrent poll ends the first with 409,
//     as does polling while a webhook is set;
//   - sendMessage to a user who never wrote to the bot is 403, HTML that
//     the API would not parse is 400, callback_data over 64 bytes is 400,
//     an edit that changes nothing is 400 "message is not modified", a
//     callback query answered twice is 400;
//   - editMessageText without reply_markup drops the inline keyboard.
//
// The test drives the users' side: Send, Reply, Click; and inspects the
// bot's side: Messages, WaitUntil, Answer, Calls. Faults (429, dropped
// connections, errors) are queued per method with Fail.
package botapitest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits of the Bot API.
const (
	MaxTextLen         = 4096 // characters of a message after entity parsing
	MaxCallbackDataLen = 64   // bytes of an inline button's callback_data
	MaxAnswerTextLen   = 200  // characters of answerCallbackQuery's text
)

// Call is one request the bot made, after its token was checked.
type Call struct {
	Method string            // as documented: "sendMessage"
	Params map[string]string // values as text; objects as JSON text
	Time   time.Time
	Fault  *Fault // the injected fault it got, if any
}

// Fault is an injected failure for the next request(s) of a method.
type Fault struct {
	// Code and Description make an API error ({"ok":false,...}); 429 with
	// RetryAfter adds parameters.retry_after.
	Code        int
	Description string
	RetryAfter  int
	// Drop closes the connection without an answer (a network failure).
	Drop bool
}

// RateLimit is the API's flood-control answer.
func RateLimit(retryAfter int) Fault {
	return Fault{Code: 429, Description: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), RetryAfter: retryAfter}
}

// CallbackAnswer is what answerCallbackQuery said about a click.
type CallbackAnswer struct {
	Text      string
	ShowAlert bool
}

type chat struct {
	chat    Chat
	user    User
	started bool // the user wrote to the bot: the bot may write back
	blocked bool
	msgs    []*Message // every message of the chat, both directions
	edits   map[int64]int
	nextID  int64
}

type query struct {
	answered bool
	answer   CallbackAnswer
}

// Server is a running stand-in.
type Server struct {
	Token string
	Bot   User

	http *httptest.Server

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	closing chan struct{}
	updates []Update
	nextUpd int64
	webhook string
	pollGen int64
	// polls numbers getUpdates requests in the order they arrived (were
	// recorded in calls): the later one ends an earlier one still
	// waiting, as at Telegram, even when its handler happens to run
	// first.
	polls   int64
	chats   map[int64]*chat
	queries map[string]*query
	nextQ   int64
	calls   []Call
	faults  map[string][]Fault
	users   map[int64]User
}

// New starts a stand-in on loopback for the bot with this token.
func New(token string) *Server {
	s := &Server{
		Token:   token,
		Bot:     User{ID: botIDFromToken(token), IsBot: true, FirstName: "Hermes", Username: "hermes_exec_test_bot"},
		changed: make(chan struct{}),
		closing: make(chan struct{}),
		nextUpd: 700000001,
		chats:   map[int64]*chat{},
		queries: map[string]*query{},
		faults:  map[string][]Fault{},
		users:   map[int64]User{},
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func botIDFromToken(token string) int64 {
	id, _ := strconv.ParseInt(strings.SplitN(token, ":", 2)[0], 10, 64)
	if id <= 0 {
		id = 424242
	}
	return id
}

// URL is the server's base address, the bridge's api_url.
func (s *Server) URL() string { return s.http.URL }

// Close stops the server, ending pending long polls.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	s.mu.Unlock()
	s.http.CloseClientConnections()
	s.http.Close()
}

// changeLocked wakes every waiter; s.mu is held.
func (s *Server) changeLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitUntil blocks until cond (which may call the Server's getters) holds,
// re-checking it after every change, or until ctx is done.
func (s *Server) WaitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("botapitest: condition not met: %w", ctx.Err())
		}
	}
}

// SetWebhook sets a webhook, as a previous deployment might have left.
func (s *Server) SetWebhook(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = u
	s.changeLocked()
}

// Webhook is the webhook URL in force ("" when none).
func (s *Server) Webhook() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook
}

// Fail queues faults for the next requests of method (e.g. "sendMessage").
func (s *Server) Fail(method string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(method)
	s.faults[k] = append(s.faults[k], faults...)
}

// Calls returns the requests made to method ("" for all), in order.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || strings.EqualFold(c.Method, method) {
			out = append(out, c)
		}
	}
	return out
}

// AddUser makes u known to Telegram without a chat with the bot: the bot
// cannot write to u until u writes first.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
	s.chatLocked(u)
}

// Block makes u block the bot: sends to u fail with 403.
func (s *Server) Block(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(u).blocked = true
}

func (s *Server) chatLocked(u User) *chat {
	c := s.chats[u.ID]
	if c == nil {
		c = &chat{
			chat:  Chat{ID: u.ID, Type: "private", FirstName: u.FirstName, Username: u.Username},
			user:  u,
			edits: map[int64]int{},
		}
		s.chats[u.ID] = c
	}
	return c
}

// Send is u writing text to the bot in their private chat.
func (s *Server) Send(u User, text string) Message {
	return s.send(u, text, 0)
}

// Reply is u replying with text to message replyTo of their private chat.
func (s *Server) Reply(u User, replyTo int64, text string) Message {
	return s.send(u, text, replyTo)
}

// SendAt is Send with the message's date set to at: a message written
// while the bot was down, delivered late.
func (s *Server) SendAt(u User, text string, at time.Time) Message {
	return s.sendAt(u, text, 0, at)
}

func (s *Server) send(u User, text string, replyTo int64) Message {
	return s.sendAt(u, text, replyTo, time.Now())
}

func (s *Server) sendAt(u User, text string, replyTo int64, at time.Time) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(u)
	c.started = true
	c.nextID++
	from := u
	m := &Message{MessageID: c.nextID, From: &from, Chat: c.chat, Date: at.Unix(), Text: text, Entities: commandEntities(text)}
	if replyTo != 0 {
		if orig := c.find(replyTo); orig != nil {
			cp := *orig
			m.ReplyToMessage = &cp
		}
	}
	c.msgs = append(c.msgs, m)
	cp := *m
	s.addUpdateLocked(Update{Message: &cp})
	return cp
}

func (c *chat) find(id int64) *Message {
	for _, m := range c.msgs {
		if m.MessageID == id {
			return m
		}
	}
	return nil
}

func (s *Server) addUpdateLocked(u Update) {
	u.UpdateID = s.nextUpd
	s.nextUpd++
	s.updates = append(s.updates, u)
	s.changeLocked()
}

// Click is u pressing the button with callback data on message m (which
// must be in u's chat and still carry that button). It returns the
// callback query's id.
func (s *Server) Click(u User, m Message, data string) (string, error) {
	s.mu.Lock()
	c := s.chats[m.Chat.ID]
	var cur *Message
	if c != nil {
		cur = c.find(m.MessageID)
	}
	s.mu.Unlock()
	if cur == nil {
		return "", fmt.Errorf("botapitest: no message %d in chat %d", m.MessageID, m.Chat.ID)
	}
	if _, ok := cur.Button(data); !ok {
		return "", fmt.Errorf("botapitest: message %d has no button %q now", m.MessageID, data)
	}
	return s.ClickData(u, m, data), nil
}

// ClickData sends a callback query with any data, as a modified client
// could, on message m (which need not be in u's chat).
func (s *Server) ClickData(u User, m Message, data string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextQ++
	id := strconv.FormatInt(4000000000000000000+s.nextQ, 10)
	s.queries[id] = &query{}
	var msg *Message
	if c := s.chats[m.Chat.ID]; c != nil {
		if cur := c.find(m.MessageID); cur != nil {
			cp := *cur
			msg = &cp
		}
	}
	if msg == nil {
		cp := m
		msg = &cp
	}
	s.addUpdateLocked(Update{CallbackQuery: &CallbackQuery{
		ID: id, From: u, Message: msg, ChatInstance: strconv.FormatInt(m.Chat.ID*7+1, 10), Data: data,
	}})
	return id
}

// Answer waits for the bot to answer callback query id.
func (s *Server) Answer(ctx context.Context, id string) (CallbackAnswer, error) {
	var a CallbackAnswer
	err := s.WaitUntil(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		q := s.queries[id]
		if q != nil && q.answered {
			a = q.answer
			return true
		}
		return false
	})
	return a, err
}

// Messages returns the bot's messages in chatID, as they are now.
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return nil
	}
	var out []Message
	for _, m := range c.msgs {
		if m.From != nil && m.From.ID == s.Bot.ID {
			out = append(out, *m)
		}
	}
	return out
}

// Message returns message id of chatID as it is now.
func (s *Server) Message(chatID, id int64) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		if m := c.find(id); m != nil {
			return *m, true
		}
	}
	return Message{}, false
}

// Edits counts the successful edits of a message.
func (s *Server) Edits(chatID, id int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		return c.edits[id]
	}
	return 0
}

// WaitMessage waits for a bot message in chatID for which match holds.
func (s *Server) WaitMessage(ctx context.Context, chatID int64, match func(Message) bool) (Message, error) {
	var found Message
	err := s.WaitUntil(ctx, func() bool {
		for _, m := range s.Messages(chatID) {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found, err
}

// ConfirmAll drops every pending update, as an earlier poller confirming
// them would: the chats stay started, but the bot hears nothing of them.
func (s *Server) ConfirmAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates = nil
	s.changeLocked()
}

// Pending counts updates not yet confirmed by an offset.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// ---- the HTTP side ----

type apiError struct {
	code        int
	description string
	retryAfter  int
}

func (e *apiError) Error() string { return e.description }

func badRequest(format string, a ...any) *apiError {
	return &apiError{code: 400, description: "Bad Request: " + fmt.Sprintf(format, a...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	if !ok {
		writeError(w, &apiError{code: 404, description: "Not Found"})
		return
	}
	token, method, ok := strings.Cut(rest, "/")
	if !ok || token != s.Token {
		writeError(w, &apiError{code: 401, description: "Unauthorized"})
		return
	}
	params, err := readParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name, h := s.method(method)
	if h == nil {
		writeError(w, &apiError{code: 404, description: "Not Found: method not found"})
		return
	}
	s.mu.Lock()
	call := Call{Method: name, Params: params, Time: time.Now()}
	var fault *Fault
	if q := s.faults[strings.ToLower(name)]; len(q) > 0 {
		f := q[0]
		s.faults[strings.ToLower(name)] = q[1:]
		fault = &f
		call.Fault = fault
	}
	s.calls = append(s.calls, call)
	ctx := r.Context()
	if name == "getUpdates" {
		s.polls++
		ctx = context.WithValue(ctx, pollKey{}, s.polls)
	}
	s.changeLocked()
	s.mu.Unlock()
	if fault != nil {
		if fault.Drop {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		writeError(w, &apiError{code: fault.Code, description: fault.Description, retryAfter: fault.RetryAfter})
		return
	}
	result, err := h(ctx, params)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"ok": true, "result": result})
}

type handler func(ctx context.Context, p map[string]string) (any, error)

// pollKey carries a getUpdates request's arrival number (Server.polls).
type pollKey struct{}

func (s *Server) method(name string) (string, handler) {
	methods := map[string]handler{
		"getMe":                  s.getMe,
		"deleteWebhook":          s.deleteWebhook,
		"setWebhook":             s.setWebhook,
		"getWebhookInfo":         s.getWebhookInfo,
		"getUpdates":             s.getUpdates,
		"sendMessage":            s.sendMessage,
		"editMessageText":        s.editMessageText,
		"editMessageReplyMarkup": s.editMessageReplyMarkup,
		"answerCallbackQuery":    s.answerCallbackQuery,
	}
	for k, h := range methods {
		if strings.EqualFold(k, name) {
			return k, h
		}
	}
	return name, nil
}

func writeError(w http.ResponseWriter, err error) {
	e, ok := err.(*apiError)
	if !ok {
		e = badRequest("%v", err)
	}
	body := map[string]any{"ok": false, "error_code": e.code, "description": e.description}
	if e.retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": e.retryAfter}
	}
	writeJSON(w, e.code, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// readParams reads a request's parameters as the Bot API does: the query
// string, then a JSON object, an urlencoded form or a multipart form body.
// Every value becomes text; in a JSON body, strings are unquoted and other
// values (numbers, booleans, objects) kept as JSON text, so that
// reply_markup reads the same from a form (where it is JSON-encoded text)
// and from JSON (where it is an object).
func readParams(r *http.Request) (map[string]string, error) {
	p := map[string]string{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, &apiError{code: 405, description: "Method Not Allowed"}
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	r.Body = http.MaxBytesReader(nil, r.Body, 10<<20)
	switch ct {
	case "", "text/plain":
		// No body, or none the API reads.
	case "application/json":
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, badRequest("can't read request body")
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			break
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, badRequest("can't parse JSON object")
		}
		for k, raw := range obj {
			var str string
			if err := json.Unmarshal(raw, &str); err == nil {
				p[k] = str
			} else if string(raw) != "null" {
				p[k] = string(raw)
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, badRequest("can't parse form")
		}
		for k, v := range r.PostForm {
			p[k] = v[0]
		}
	case "multipart/form-data":
		if ctParams["boundary"] == "" {
			return nil, badRequest("can't parse multipart form")
		}
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			return nil, badRequest("can't parse multipart form")
		}
		for k, v := range r.MultipartForm.Value {
			p[k] = v[0]
		}
	default:
		return nil, badRequest("unsupported Content-Type %q", ct)
	}
	return p, nil
}

func intParam(p map[string]string, name string, required bool) (int64, error) {
	v, ok := p[name]
	if !ok || v == "" {
		if required {
			return 0, badRequest("%s is empty", name)
		}
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, badRequest("invalid %s specified", name)
	}
	return n, nil
}

func boolParam(p map[string]string, name string) bool {
	v := strings.ToLower(p[name])
	return v == "true" || v == "1"
}

func (s *Server) getMe(ctx context.Context, p map[string]string) (any, error) {
	return map[string]any{
		"id": s.Bot.ID, "is_bot": true, "first_name": s.Bot.FirstName, "username": s.Bot.Username,
		"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
	}, nil
}

func (s *Server) deleteWebhook(ctx context.Context, p map[string]string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = ""
	if boolParam(p, "drop_pending_updates") {
		s.updates = nil
	}
	s.changeLocked()
	return true, nil
}

func (s *Server) setWebhook(ctx context.Context, p map[string]string) (any, error) {
	u := p["url"]
	if u != "" {
		if pu, err := url.Parse(u); err != nil || pu.Scheme != "https" {
			return nil, badRequest("bad webhook: An HTTPS URL must be provided for webhook")
		}
	}
	s.SetWebhook(u)
	return true, nil
}

func (s *Server) getWebhookInfo(ctx context.Context, p map[string]string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return WebhookInfo{URL: s.webhook, PendingUpdateCount: len(s.updates)}, nil
}

func (s *Server) getUpdates(ctx context.Context, p map[string]string) (any, error) {
	offset, err := intParam(p, "offset", false)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(p, "limit", false)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, err := intParam(p, "timeout", false)
	if err != nil {
		return nil, err
	}
	var allowed map[string]bool
	if a := p["allowed_updates"]; a != "" {
		var list []string
		if err := json.Unmarshal([]byte(a), &list); err != nil {
			return nil, badRequest("can't parse allowed_updates")
		}
		if len(list) > 0 {
			allowed = map[string]bool{}
			for _, k := range list {
				allowed[k] = true
			}
		}
	}
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()

	s.mu.Lock()
	if s.webhook != "" {
		s.mu.Unlock()
		return nil, &apiError{code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	gen, _ := ctx.Value(pollKey{}).(int64)
	if gen == 0 { // not through serve
		s.polls++
		gen = s.polls
	}
	if gen < s.pollGen {
		// A request that arrived after this one is polling already.
		s.mu.Unlock()
		return nil, &apiError{code: 409, description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
	}
	s.pollGen = gen
	s.changeLocked()
	for {
		// An offset confirms every update below it.
		if offset > 0 {
			i := 0
			for i < len(s.updates) && s.updates[i].UpdateID < offset {
				i++
			}
			if i > 0 {
				s.updates = s.updates[i:]
				s.changeLocked()
			}
		}
		var out []Update
		start := 0
		if offset < 0 && int(-offset) < len(s.updates) {
			start = len(s.updates) + int(offset)
		}
		for _, u := range s.updates[start:] {
			if allowed != nil && !(allowed["message"] && u.Message != nil || allowed["callback_query"] && u.CallbackQuery != nil) {
				continue
			}
			out = append(out, u)
			if int64(len(out)) == limit {
				break
			}
		}
		if len(out) > 0 {
			s.mu.Unlock()
			return out, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return []Update{}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.closing:
			return nil, &apiError{code: 502, description: "Bad Gateway"}
		}
		s.mu.Lock()
		if s.pollGen != gen {
			s.mu.Unlock()
			return nil, &apiError{code: 409, description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		}
		if s.webhook != "" {
			s.mu.Unlock()
			return nil, &apiError{code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
		}
	}
}

// checkText parses text under parse_mode and checks its length.
func checkText(text, parseMode string) (string, error) {
	if text == "" {
		return "", badRequest("message text is empty")
	}
	plain := text
	switch strings.ToLower(parseMode) {
	case "":
	case "html":
		var err error
		if plain, err = ParseHTML(text); err != nil {
			return "", &apiError{code: 400, description: err.Error()}
		}
	case "markdown", "markdownv2":
		// Accepted; the stand-in does not model Markdown entities.
	default:
		return "", badRequest("unsupported parse_mode")
	}
	if strings.TrimSpace(plain) == "" {
		return "", badRequest("message text is empty")
	}
	if utf16Len(plain) > MaxTextLen {
		return "", badRequest("message is too long")
	}
	return plain, nil
}

// parseMarkup reads reply_markup; ok is false when it is absent.
func parseMarkup(p map[string]string) (m *InlineKeyboardMarkup, ok bool, err error) {
	raw, present := p["reply_markup"]
	if !present || raw == "" {
		return nil, false, nil
	}
	var obj struct {
		InlineKeyboard *[][]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, true, badRequest("can't parse reply keyboard markup JSON object")
	}
	if obj.InlineKeyboard == nil {
		// A reply keyboard or force-reply: not modelled; keep none.
		return nil, true, nil
	}
	out := &InlineKeyboardMarkup{InlineKeyboard: [][]InlineKeyboardButton{}}
	for _, row := range *obj.InlineKeyboard {
		var r []InlineKeyboardButton
		for _, rb := range row {
			var b InlineKeyboardButton
			if err := json.Unmarshal(rb, &b); err != nil {
				return nil, true, badRequest("can't parse inline keyboard button: Field \"text\" must be of type String")
			}
			if b.Text == "" {
				return nil, true, badRequest("can't parse inline keyboard button: Text must be non-empty")
			}
			if b.CallbackData == "" && b.URL == "" {
				return nil, true, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
			}
			if len(b.CallbackData) > MaxCallbackDataLen {
				return nil, true, badRequest("BUTTON_DATA_INVALID")
			}
			r = append(r, b)
		}
		if len(r) > 0 {
			out.InlineKeyboard = append(out.InlineKeyboard, r)
		}
	}
	return out, true, nil
}

func (s *Server) target(p map[string]string) (*chat, error) {
	raw := p["chat_id"]
	if raw == "" {
		return nil, badRequest("chat_id is empty")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, badRequest("chat not found")
	}
	c := s.chats[id]
	if c == nil {
		return nil, badRequest("chat not found")
	}
	return c, nil
}

func (s *Server) sendMessage(ctx context.Context, p map[string]string) (any, error) {
	plain, err := checkText(p["text"], p["parse_mode"])
	if err != nil {
		return nil, err
	}
	markup, _, err := parseMarkup(p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.target(p)
	if err != nil {
		return nil, err
	}
	if c.blocked {
		return nil, &apiError{code: 403, description: "Forbidden: bot was blocked by the user"}
	}
	if !c.started {
		return nil, &apiError{code: 403, description: "Forbidden: bot can't initiate conversation with a user"}
	}
	var replyTo *Message
	replyID, _ := intParam(p, "reply_to_message_id", false)
	if rp := p["reply_parameters"]; rp != "" {
		var r struct {
			MessageID int64 `json:"message_id"`
		}
		if json.Unmarshal([]byte(rp), &r) == nil {
			replyID = r.MessageID
		}
	}
	if replyID != 0 {
		if orig := c.find(replyID); orig != nil {
			cp := *orig
			replyTo = &cp
		} else {
			return nil, badRequest("message to be replied not found")
		}
	}
	c.nextID++
	bot := s.Bot
	m := &Message{MessageID: c.nextID, From: &bot, Chat: c.chat, Date: time.Now().Unix(), Text: plain, ReplyToMessage: replyTo}
	if markup != nil && len(markup.InlineKeyboard) > 0 {
		m.ReplyMarkup = markup
	}
	c.msgs = append(c.msgs, m)
	s.changeLocked()
	return *m, nil
}

func (s *Server) editable(p map[string]string) (*chat, *Message, error) {
	if p["inline_message_id"] != "" {
		return nil, nil, badRequest("inline messages are not modelled")
	}
	c, err := s.target(p)
	if err != nil {
		return nil, nil, err
	}
	id, err := intParam(p, "message_id", true)
	if err != nil {
		return nil, nil, err
	}
	m := c.find(id)
	if m == nil {
		return nil, nil, badRequest("message to edit not found")
	}
	if m.From == nil || m.From.ID != s.Bot.ID {
		return nil, nil, badRequest("message can't be edited")
	}
	return c, m, nil
}

func sameMarkup(a, b *InlineKeyboardMarkup) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func (s *Server) editMessageText(ctx context.Context, p map[string]string) (any, error) {
	plain, err := checkText(p["text"], p["parse_mode"])
	if err != nil {
		return nil, err
	}
	return s.edit(p, &plain)
}

func (s *Server) editMessageReplyMarkup(ctx context.Context, p map[string]string) (any, error) {
	return s.edit(p, nil)
}

// edit replaces the reply markup of the message p names and, when text is
// not nil, its text: what editMessageText and editMessageReplyMarkup have
// in common, including the Bot API's refusal of an edit that changes
// nothing.
func (s *Server) edit(p map[string]string, text *string) (any, error) {
	markup, _, err := parseMarkup(p)
	if err != nil {
		return nil, err
	}
	if markup != nil && len(markup.InlineKeyboard) == 0 {
		markup = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, err := s.editable(p)
	if err != nil {
		return nil, err
	}
	newText := m.Text
	if text != nil {
		newText = *text
	}
	// Without reply_markup the edited message keeps no inline keyboard.
	if m.Text == newText && sameMarkup(m.ReplyMarkup, markup) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	m.Text = newText
	m.ReplyMarkup = markup
	m.EditDate = time.Now().Unix()
	c.edits[m.MessageID]++
	s.changeLocked()
	return *m, nil
}

func (s *Server) answerCallbackQuery(ctx context.Context, p map[string]string) (any, error) {
	id := p["callback_query_id"]
	text := p["text"]
	if utf8.RuneCountInString(text) > MaxAnswerTextLen {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queries[id]
	if q == nil || q.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	q.answered = true
	q.answer = CallbackAnswer{Text: text, ShowAlert: boolParam(p, "show_alert")}
	s.changeLocked()
	return true, nil
}

// Addr is the listening address, for tests that need a dead port nearby.
func (s *Server) Addr() net.Addr { return s.http.Listener.Addr() }
