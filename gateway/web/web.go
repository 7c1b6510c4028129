// Package web is the gateway's approver page and its HTTP API (v1):
//
//	POST /api/v1/pair                      {"name":N} -> {"code":C}, and a session cookie not yet authorized
//	GET  /api/v1/session                   {"paired":bool,"name":N}
//	GET  /api/v1/requests                  the pending requests; 401 unless authorized
//	POST /api/v1/requests/{id}/decision    {"decision":"once|session|always|deny","reason":R}
//	                                       -> 200; 401, 404 unknown id, 409 already decided
//	GET  /api/v1/events                    server-sent events: snapshot, new, resolved, expired, withdrawn
//
// A browser (or script) is identified by its session cookie only; the
// identity the gateway authorizes is the SHA-256 of that cookie, so the
// pairing store never holds a usable session secret. Every request is
// authorized anew with the gateway's one authorization function, so a
// revoked pairing stops the next click and ends open event streams.
package web

import (
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"
	"unicode"

	"hermes-exec/gateway"
	"hermes-exec/gateway/pairing"
	"hermes-exec/gateway/wire"
)

// CookieName has the __Host- prefix: Secure, Path=/, no Domain, so no
// other host or path can set or read it.
const CookieName = "__Host-hermes-session"

// Platform is the web page's platform name in identities and the pairing
// store.
const Platform = "web"

//go:embed static
var static embed.FS

// CSP allows the page's own script and style and nothing else: no inline
// code, no other origin, no framing, no form posts.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Options configure the handler.
type Options struct {
	Hub     *gateway.Server
	Pairing *pairing.Store
	// Heartbeat is how often an idle event stream gets a comment (and its
	// authorization is checked again); 0 means 15 s.
	Heartbeat time.Duration
}

// Handler returns the page and the API, behind Go's cross-origin
// protection (every state change must come from the page's own origin).
func Handler(o Options) http.Handler {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	h := &handler{o: o}
	sub, _ := fs.Sub(static, "static")
	files := http.FileServerFS(sub)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, sub, "index.html")
	})
	mux.Handle("GET /app.js", files)
	mux.Handle("GET /app.css", files)
	mux.HandleFunc("POST /api/v1/pair", h.pair)
	mux.HandleFunc("GET /api/v1/session", h.session)
	mux.HandleFunc("GET /api/v1/requests", h.list)
	mux.HandleFunc("POST /api/v1/requests/{id}/decision", h.decide)
	mux.HandleFunc("GET /api/v1/events", h.events)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusForbidden, "cross-origin request refused")
	}))
	return securityHeaders(cop.Handler(mux))
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

type handler struct{ o Options }

// identity is the caller's web identity: the hash of its session cookie.
// ok is false without a well-formed cookie.
func (h *handler) identity(r *http.Request) (gateway.Identity, string, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return gateway.Identity{}, "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) != 32 {
		return gateway.Identity{}, "", false
	}
	id := IdentityID(c.Value)
	who := gateway.Identity{Platform: Platform, ID: id}
	if h.o.Pairing != nil {
		if a, ok := h.o.Pairing.Lookup(Platform, id); ok {
			who.Name = a.Name
		}
	}
	return who, c.Value, true
}

// IdentityID is the stable id of a session token: the first 128 bits of
// its SHA-256, hex.
func IdentityID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// cleanName keeps a display name short and plain: letters, digits and a
// few marks; it is shown on cards and written to the audit log.
func cleanName(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_', r == '.', r == '@':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

func (h *handler) pair(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "want {\"name\": \"...\"}")
		return
	}
	name := cleanName(body.Name)
	if name == "" {
		apiError(w, http.StatusBadRequest, "a name (letters, digits, - _ . @) is needed")
		return
	}
	who, token, ok := h.identity(r)
	if !ok {
		token = newToken()
		who = gateway.Identity{Platform: Platform, ID: IdentityID(token)}
	}
	who.Name = name
	code, err := h.o.Hub.RequestPairing(who)
	switch {
	case err == nil:
	case errors.Is(err, gateway.ErrRateLimited):
		apiError(w, http.StatusTooManyRequests, err.Error())
		return
	case errors.Is(err, gateway.ErrLocked):
		apiError(w, http.StatusTooManyRequests, err.Error())
		return
	case errors.Is(err, gateway.ErrStrangersIgnored):
		apiError(w, http.StatusForbidden, err.Error())
		return
	default:
		apiError(w, http.StatusInternalServerError, "pairing failed")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: 400 * 24 * 3600,
	})
	writeJSON(w, http.StatusOK, map[string]any{
		"code":       code,
		"expires_at": time.Now().Add(pairing.CodeTTL).UTC(),
		"confirm":    "on the gateway's host run: hermes-exec gateway pair " + code,
	})
}

func (h *handler) session(w http.ResponseWriter, r *http.Request) {
	who, _, ok := h.identity(r)
	paired := ok && h.o.Hub.Authorized(who)
	out := map[string]any{"paired": paired}
	if paired {
		out["name"] = gateway.ApproverName(who)
	}
	writeJSON(w, http.StatusOK, out)
}

// authorized answers 401 (and audits the attempt) for callers the
// gateway does not authorize.
func (h *handler) authorized(w http.ResponseWriter, r *http.Request, what string) (gateway.Identity, bool) {
	who, _, ok := h.identity(r)
	if ok && h.o.Hub.Authorized(who) {
		return who, true
	}
	h.o.Hub.AuditUnauthorized(who, what+" from "+r.RemoteAddr)
	apiError(w, http.StatusUnauthorized, "this session is not paired: POST /api/v1/pair, then confirm the code on the host")
	return who, false
}

// Request is a pending request as the API shows it.
func Request(p gateway.Pending) wire.Request {
	wr := wire.FromRequest(p.Request)
	wr.CreatedAt = p.Created.UTC()
	return wr
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorized(w, r, "list requests"); !ok {
		return
	}
	out := []wire.Request{}
	for _, p := range h.o.Hub.Pending() {
		out = append(out, Request(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) decide(w http.ResponseWriter, r *http.Request) {
	who, _, _ := h.identity(r)
	var d wire.Decision
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<10)).Decode(&d); err != nil {
		apiError(w, http.StatusBadRequest, "want {\"decision\": \"once|session|always|deny\", \"reason\": \"...\"}")
		return
	}
	ans, err := wire.ParseAnswer(d.Decision)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	reason := strings.Join(strings.Fields(d.Reason), " ")
	if len(reason) > 500 {
		reason = reason[:500]
	}
	err = h.o.Hub.Decide(r.PathValue("id"), gateway.Decision{Answer: ans, Reason: reason, By: who})
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "decision": ans.String(), "by": gateway.ApproverName(who)})
	case errors.Is(err, gateway.ErrUnauthorized):
		apiError(w, http.StatusUnauthorized, err.Error())
	case errors.Is(err, gateway.ErrUnknownRequest):
		apiError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, gateway.ErrAlreadyDecided):
		apiError(w, http.StatusConflict, err.Error())
	default:
		apiError(w, http.StatusBadRequest, err.Error())
	}
}

// Event converts a hub event.
func Event(ev gateway.Event) wire.Event {
	we := wire.Event{Kind: string(ev.Kind), Request: Request(ev.Request), Reason: ev.Reason}
	if ev.Kind == gateway.EventResolved {
		we.Answer = ev.Answer.String()
		we.By = gateway.ApproverName(ev.By)
	}
	return we
}

func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	who, ok := h.authorized(w, r, "open the event stream")
	if !ok {
		return
	}
	fl, okf := w.(http.Flusher)
	if !okf {
		apiError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	events, cancel := h.o.Hub.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The snapshot comes after subscribing, so nothing falls between it
	// and the first event (a client may see a request twice, by id).
	snap := []wire.Request{}
	for _, p := range h.o.Hub.Pending() {
		snap = append(snap, Request(p))
	}
	send(w, map[string]any{"kind": "snapshot", "requests": snap})
	fl.Flush()
	tick := time.NewTicker(h.o.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, more := <-events:
			if !more || !h.o.Hub.Authorized(who) {
				return
			}
			send(w, Event(ev))
			fl.Flush()
		case <-tick.C:
			if !h.o.Hub.Authorized(who) {
				return
			}
			io.WriteString(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}

func send(w io.Writer, v any) {
	b, _ := json.Marshal(v)
	io.WriteString(w, "data: ")
	w.Write(b)
	io.WriteString(w, "\n\n")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
