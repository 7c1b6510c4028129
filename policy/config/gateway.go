package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Gateway is the `gateway:` section: the per-user approval daemon
// (`hermes-exec gateway run`) and its chat bridges.
type Gateway struct {
	// Listen is the approver web page's and API's address. The default is
	// loopback: exposing it is a choice the user makes.
	Listen string
	// TLS is "auto" (a self-signed certificate made under HERMES_HOME on
	// first start, unless CertFile/KeyFile name one) or "off" (plain HTTP,
	// refused unless Listen is a loopback address).
	TLS      string
	CertFile string
	KeyFile  string
	Telegram GatewayTelegram
}

// GatewayTelegram is `gateway.telegram:`.
type GatewayTelegram struct {
	Enabled bool
	// APIURL is the Bot API's base URL; a local stand-in or a self-hosted
	// Bot API server can replace api.telegram.org.
	APIURL string
	// Pairing is "auto" (codes for strangers only while no allowlist is
	// configured), "on" (codes even beside an allowlist) or "off".
	Pairing string
}

// Values and defaults of the gateway settings.
const (
	DefaultGatewayListen = "127.0.0.1:8787"
	TLSAuto              = "auto"
	TLSOff               = "off"
	DefaultTelegramAPI   = "https://api.telegram.org"
	PairingAuto          = "auto"
	PairingOn            = "on"
	PairingOff           = "off"
)

// WithDefaults fills the settings config.yaml left out. (Load leaves them
// empty so that a Config says what the file says.)
func (g Gateway) WithDefaults() Gateway {
	if g.Listen == "" {
		g.Listen = DefaultGatewayListen
	}
	if g.TLS == "" {
		g.TLS = TLSAuto
	}
	if g.Telegram.APIURL == "" {
		g.Telegram.APIURL = DefaultTelegramAPI
	}
	if g.Telegram.Pairing == "" {
		g.Telegram.Pairing = PairingAuto
	}
	return g
}

type rawGateway struct {
	Listen   yaml.Node   `yaml:"listen"`
	TLS      yaml.Node   `yaml:"tls"`
	CertFile yaml.Node   `yaml:"cert_file"`
	KeyFile  yaml.Node   `yaml:"key_file"`
	Telegram rawTelegram `yaml:"telegram"`
}

type rawTelegram struct {
	Enabled yaml.Node `yaml:"enabled"`
	APIURL  yaml.Node `yaml:"api_url"`
	Pairing yaml.Node `yaml:"pairing"`
}

func (r *rawGateway) apply(g *Gateway) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if v, ok, err := scalar(&r.Listen, "gateway.listen"); err != nil {
		add(err)
	} else if ok {
		g.Listen = v
	}
	if v, ok, err := scalar(&r.TLS, "gateway.tls"); err != nil {
		add(err)
	} else if ok {
		// YAML 1.1 readers turn a bare off into false; accept both spellings.
		switch strings.ToLower(v) {
		case "auto", "on", "true":
			g.TLS = TLSAuto
		case "off", "false":
			g.TLS = TLSOff
		default:
			add(nodeErr(&r.TLS, "gateway.tls: %q is not one of auto, off", v))
		}
	}
	if v, ok, err := scalar(&r.CertFile, "gateway.cert_file"); err != nil {
		add(err)
	} else if ok {
		g.CertFile = expandHome(v)
	}
	if v, ok, err := scalar(&r.KeyFile, "gateway.key_file"); err != nil {
		add(err)
	} else if ok {
		g.KeyFile = expandHome(v)
	}
	if (g.CertFile == "") != (g.KeyFile == "") {
		add(nodeErr(&r.CertFile, "gateway.cert_file and gateway.key_file go together"))
	}
	if v, ok, err := boolean(&r.Telegram.Enabled, "gateway.telegram.enabled"); err != nil {
		add(err)
	} else if ok {
		g.Telegram.Enabled = v
	}
	if v, ok, err := scalar(&r.Telegram.APIURL, "gateway.telegram.api_url"); err != nil {
		add(err)
	} else if ok {
		g.Telegram.APIURL = strings.TrimRight(v, "/")
	}
	if v, ok, err := scalar(&r.Telegram.Pairing, "gateway.telegram.pairing"); err != nil {
		add(err)
	} else if ok {
		switch strings.ToLower(v) {
		case "auto":
			g.Telegram.Pairing = PairingAuto
		case "on", "true", "yes":
			g.Telegram.Pairing = PairingOn
		case "off", "false", "no":
			g.Telegram.Pairing = PairingOff
		default:
			add(nodeErr(&r.Telegram.Pairing, "gateway.telegram.pairing: %q is not one of auto, on, off", v))
		}
	}
	return errors.Join(errs...)
}

// boolean reads true/false (and YAML 1.1's yes/no/on/off).
func boolean(n *yaml.Node, name string) (bool, bool, error) {
	v, ok, err := scalar(n, name)
	if err != nil || !ok {
		return false, false, err
	}
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true, true, nil
	case "false", "no", "off":
		return false, true, nil
	}
	return false, false, nodeErr(n, "%s: %q is not true or false", name, v)
}

// timeoutMap reads approvals.timeouts: a mapping from a rule id (or a rule
// class, the part of the id before its first "-") to a duration.
func timeoutMap(n *yaml.Node, name string) (map[string]time.Duration, error) {
	if absent(n) {
		return nil, nil
	}
	r := resolve(n)
	if r.Kind != yaml.MappingNode {
		return nil, nodeErr(n, "%s: want a mapping of rule (or class) to seconds, not a %s", name, kindName(r.Kind))
	}
	out := make(map[string]time.Duration, len(r.Content)/2)
	var errs []error
	for i := 0; i+1 < len(r.Content); i += 2 {
		k, v := resolve(r.Content[i]), r.Content[i+1]
		key := strings.TrimSpace(k.Value)
		if k.Kind != yaml.ScalarNode || key == "" {
			errs = append(errs, nodeErr(k, "%s: a key must be a rule id or class", name))
			continue
		}
		d, ok, err := duration(v, fmt.Sprintf("%s.%s", name, key))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out[key] = d
		}
	}
	return out, errors.Join(errs...)
}

// TimeoutFor is how long a request about findings of these rules waits:
// the shortest timeout named for any of them (by rule id, else by class,
// the id's first word: "git" for "git-force-push"), else
// approvals.timeout. The shortest wins because the most sensitive finding
// sets the pace.
func (a Approvals) TimeoutFor(rules []string) time.Duration {
	var best time.Duration
	for _, rule := range rules {
		d, ok := a.Timeouts[rule]
		if !ok {
			class, _, _ := strings.Cut(rule, "-")
			d, ok = a.Timeouts[class]
		}
		if ok && (best == 0 || d < best) {
			best = d
		}
	}
	if best > 0 {
		return best
	}
	if a.Timeout > 0 {
		return a.Timeout
	}
	return DefaultTimeout
}
