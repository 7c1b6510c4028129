package gateway

import (
	"sort"
	"sync"

	"hermes-exec/policy/config"

	"github.com/sirupsen/logrus"
)

// BridgeConfig is what a bridge is built from.
type BridgeConfig struct {
	// Home is HERMES_HOME.
	Home string
	// Gateway is config.yaml's gateway section, defaults filled in.
	Gateway config.Gateway
	// Lookup reads a setting from the daemon's environment, else from
	// HERMES_HOME/.env (TELEGRAM_BOT_TOKEN, ...).
	Lookup func(name string) string
	Log    *logrus.Logger
}

// BridgeFactory builds a bridge; `gateway run` calls it for each enabled
// platform.
type BridgeFactory func(BridgeConfig) (Bridge, error)

var (
	regMu    sync.Mutex
	registry = map[string]BridgeFactory{}
)

// RegisterBridge makes a chat bridge available to `gateway run` under
// name ("telegram"); a bridge package calls it from init. `gateway run`
// starts it when config.yaml enables it (gateway.telegram.enabled).
func RegisterBridge(name string, f BridgeFactory) {
	regMu.Lock()
	defer regMu.Unlock()
	registry[name] = f
}

// Bridges lists the registered bridge names.
func Bridges() []string {
	regMu.Lock()
	defer regMu.Unlock()
	var out []string
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LookupBridge returns a registered factory.
func LookupBridge(name string) (BridgeFactory, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	f, ok := registry[name]
	return f, ok
}
