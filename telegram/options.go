package telegram

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"hermes-exec/internal/hermeshome"
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
	// Approvers, when set, lists more Telegram user ids to send cards to:
	// those that pairing made approvers. (Without it a paired user gets
	// cards once they have written to the bot since it started.) Every
	// recipient is checked with Hub.Authorized before each card.
	Approvers func() []int64
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
	dotenv, err := readDotEnv(home.Env())
	if err != nil {
		return Options{}, err
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

// readDotEnv reads KEY=value lines: "export " prefixes, # comments, and
// single- or double-quoted values are understood. Only what the bridge
// needs is kept.
func readDotEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("telegram: cannot read %s: %w", path, errors.Unwrap(err))
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		if name != EnvToken && name != EnvAllowedUsers {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		} else if i := strings.Index(value, " #"); i >= 0 {
			value = strings.TrimSpace(value[:i])
		}
		out[name] = value
	}
	return out, nil
}
