package telegram

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"hermes-exec/internal/hermeshome"
	"hermes-exec/policy/config"
)

// Names of the settings, as Hermes Agent spells them.
const (
	EnvToken        = "TELEGRAM_BOT_TOKEN"
	EnvAllowedUsers = "TELEGRAM_ALLOWED_USERS"
	DefaultAPIURL   = "https://api.telegram.org"
)

// Options configure the bridge.
type Options struct {
	// Token is the bot's token from @BotFather (TELEGRAM_BOT_TOKEN).
	Token string
	// APIURL is the Bot API server (gateway.telegram.api_url): the public
	// one by default, a self-hosted one, or a test stand-in. Plain http is
	// accepted only for loopback addresses, since the token travels in
	// every request's path.
	APIURL string
	// AllowedUsers are the numeric user ids of TELEGRAM_ALLOWED_USERS.
	// They are where cards go (a private chat's id is its user's id); who
	// may approve is still the gateway's decision (Hub.Authorized).
	AllowedUsers []int64
	// Logger receives the bridge's log lines (default: logrus's standard
	// logger). Nothing logged holds the token.
	Logger logrus.FieldLogger
	// HTTPClient makes the requests (default: a client with the
	// environment's proxy settings and no redirects).
	HTTPClient *http.Client
	// PollTimeout is getUpdates' long-poll timeout (default 50s).
	PollTimeout time.Duration
	// Retries bounds the tries of one Bot API call on network failures,
	// 5xx and 429 (default 6). Polling itself never gives up.
	Retries int
	// Countdown is how often open cards are edited to show the time left
	// (default 30s; negative: never, the card shows its deadline only).
	Countdown time.Duration
	// MaxBackoff caps the wait between tries after a failure (default
	// 30s); a 429's retry_after is honoured up to MaxRetryAfter (default
	// 5m).
	MaxBackoff    time.Duration
	MaxRetryAfter time.Duration
}

// String shows the options without the token, should they be logged.
func (o Options) String() string {
	tok := "unset"
	if o.Token != "" {
		tok = "set"
	}
	return fmt.Sprintf("telegram.Options{Token: %s, APIURL: %q, AllowedUsers: %v}", tok, o.APIURL, o.AllowedUsers)
}

// GoString is String, for %#v.
func (o Options) GoString() string { return o.String() }

// LoadOptions reads TELEGRAM_BOT_TOKEN and TELEGRAM_ALLOWED_USERS from the
// environment (getenv) or else from HERMES_HOME/.env, the way Hermes Agent
// keeps them. APIURL is left for the caller (config.yaml's
// gateway.telegram.api_url). A missing .env is no error; an unreadable one
// is. Errors never quote the token.
func LoadOptions(home hermeshome.Layout, getenv hermeshome.Env) (Options, error) {
	dotenv, err := config.DotEnv(home.Env())
	if err != nil {
		return Options{}, fmt.Errorf("telegram: cannot read %s: %w", home.Env(), errors.Unwrap(err))
	}
	return OptionsFrom(func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return dotenv[name]
	})
}

// OptionsFrom reads the token and the allowlist through lookup: the
// gateway's own reader of its environment and HERMES_HOME/.env.
func OptionsFrom(lookup func(string) string) (Options, error) {
	users, err := ParseAllowedUsers(lookup(EnvAllowedUsers))
	if err != nil {
		return Options{}, err
	}
	return Options{Token: strings.TrimSpace(lookup(EnvToken)), AllowedUsers: users}, nil
}

// ParseAllowedUsers reads TELEGRAM_ALLOWED_USERS: numeric user ids,
// comma separated. A name (@alice) is refused: names can be changed by
// their owner and so cannot identify an approver.
func ParseAllowedUsers(s string) ([]int64, error) {
	var out []int64
	seen := map[int64]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("%s: %q is not a numeric Telegram user id (ask @userinfobot for yours)", EnvAllowedUsers, f)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// validToken checks the token's characters: it goes into the URL path, so
// a "/", "?" or "#" in it would change which URL is called.
func validToken(t string) error {
	if t == "" {
		return errors.New("telegram: " + EnvToken + " is not set (in the environment or HERMES_HOME/.env)")
	}
	for _, r := range t {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == ':' || r == '_' || r == '-') {
			return errors.New("telegram: " + EnvToken + " has characters a bot token does not have")
		}
	}
	if !strings.Contains(t, ":") {
		return errors.New("telegram: " + EnvToken + " does not look like a bot token (ID:SECRET from @BotFather)")
	}
	return nil
}

// apiBase checks api_url and returns it without a trailing slash.
func apiBase(raw string) (string, error) {
	if raw == "" {
		raw = DefaultAPIURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("telegram: api_url %q is not a base URL such as %s", raw, DefaultAPIURL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("telegram: api_url %q: plain http only to a loopback address (the token is in every request)", raw)
		}
	default:
		return "", fmt.Errorf("telegram: api_url %q: the scheme must be https", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
