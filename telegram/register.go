package telegram

import (
	"errors"
	"strings"

	"hermes-exec/gateway"
)

// The gateway daemon (`hermes-exec gateway run`) builds the bridge through
// its registry when config.yaml sets gateway.telegram.enabled; the program
// links this package in for that.
func init() {
	gateway.RegisterBridge(Platform, fromGateway)
}

// fromGateway builds the bridge from the daemon's settings: the token and
// TELEGRAM_ALLOWED_USERS through its Lookup (the environment, else
// HERMES_HOME/.env), api_url from config.yaml.
func fromGateway(c gateway.BridgeConfig) (gateway.Bridge, error) {
	if c.Lookup == nil {
		return nil, errors.New("no settings to read the bot token from")
	}
	opts, err := OptionsFrom(c.Lookup)
	if err == nil {
		opts.APIURL = c.Gateway.Telegram.APIURL
		if c.Log != nil {
			opts.Logger = c.Log
		}
		var b gateway.Bridge
		if b, err = New(opts); err == nil {
			return b, nil
		}
	}
	// The daemon says "telegram: " itself.
	return nil, errors.New(strings.TrimPrefix(err.Error(), "telegram: "))
}
