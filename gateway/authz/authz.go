// Package authz is the gateway's one authorization function: every
// approval channel (the web page, chat bridges) and every click goes
// through Authorizer.Authorized, in the seed's order:
//
//  1. GATEWAY_ALLOW_ALL_USERS (true/1/yes): everyone is an approver;
//  2. GATEWAY_ALLOWED_USERS and <PLATFORM>_ALLOWED_USERS: comma-separated
//     stable ids (numeric or opaque, never display names); a
//     GATEWAY_ALLOWED_USERS entry may be "platform:id" to name one
//     platform;
//  3. the pairing records;
//  4. otherwise no.
//
// The variables are read from the daemon's environment, else from
// HERMES_HOME/.env, at every call, so an edit takes effect without a
// restart and a revoked pairing stops the next click.
package authz

import (
	"os"
	"sort"
	"strings"

	"hermes-exec/gateway"
	"hermes-exec/gateway/pairing"
	"hermes-exec/policy/config"
)

// Authorizer holds what authorization reads.
type Authorizer struct {
	// Getenv is the daemon's environment; nil means os.Getenv.
	Getenv func(string) string
	// DotEnv is HERMES_HOME/.env.
	DotEnv  string
	Pairing *pairing.Store
}

// Lookup returns a setting from the environment, else from .env. An
// unreadable .env contributes nothing (authorizes nobody extra).
func (a *Authorizer) Lookup(name string) string {
	get := a.Getenv
	if get == nil {
		get = os.Getenv
	}
	if v := get(name); v != "" {
		return v
	}
	if a.DotEnv == "" {
		return ""
	}
	vals, err := config.DotEnv(a.DotEnv)
	if err != nil {
		return ""
	}
	return vals[name]
}

// AllowAll reports GATEWAY_ALLOW_ALL_USERS.
func (a *Authorizer) AllowAll() bool {
	switch strings.ToLower(strings.TrimSpace(a.Lookup("GATEWAY_ALLOW_ALL_USERS"))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// AllowedIDs lists the ids the allowlists give platform.
func (a *Authorizer) AllowedIDs(platform string) []string {
	var ids []string
	for _, e := range splitList(a.Lookup("GATEWAY_ALLOWED_USERS")) {
		if p, id, ok := strings.Cut(e, ":"); ok {
			if p == platform {
				ids = append(ids, id)
			}
			continue
		}
		ids = append(ids, e)
	}
	ids = append(ids, splitList(a.Lookup(strings.ToUpper(platform)+"_ALLOWED_USERS"))...)
	return ids
}

// HasAllowlist reports whether any allowlist applies to platform: then
// strangers on chat platforms get no pairing codes unless asked for.
func (a *Authorizer) HasAllowlist(platform string) bool {
	return a.AllowAll() || len(a.AllowedIDs(platform)) > 0
}

func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Authorized is the one authorization function. It looks at who.Platform
// and who.ID only: who.Name is whatever the other side chose to be called.
func (a *Authorizer) Authorized(who gateway.Identity) bool {
	if who.Platform == "" || who.ID == "" {
		return false
	}
	if a.AllowAll() {
		return true
	}
	for _, id := range a.AllowedIDs(who.Platform) {
		if id == who.ID {
			return true
		}
	}
	if a.Pairing != nil && a.Pairing.IsApproved(who.Platform, who.ID) {
		return true
	}
	return false
}

// Approver is one entry of `gateway status`'s approver list.
type Approver struct {
	Platform string `json:"platform"`
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Source   string `json:"source"` // "allowlist", "pairing", "allow-all"
}

// Approvers lists who can approve: the allowlists' ids for the given
// platforms and every paired approver.
func (a *Authorizer) Approvers(platforms []string) []Approver {
	var out []Approver
	if a.AllowAll() {
		out = append(out, Approver{Platform: "*", ID: "*", Source: "allow-all"})
	}
	for _, p := range platforms {
		for _, id := range a.AllowedIDs(p) {
			out = append(out, Approver{Platform: p, ID: id, Source: "allowlist"})
		}
	}
	if a.Pairing != nil {
		if l, err := a.Pairing.List(); err == nil {
			for _, ap := range l.Approved {
				out = append(out, Approver{Platform: ap.Platform, ID: ap.ID, Name: ap.Name, Source: "pairing"})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Platform < out[j].Platform })
	return out
}

// Identities lists who is authorized on platform by an allowlist or a
// pairing record, each once.
func (a *Authorizer) Identities(platform string) []gateway.Identity {
	var out []gateway.Identity
	seen := map[string]bool{}
	for _, id := range a.AllowedIDs(platform) {
		if !seen[id] {
			seen[id] = true
			out = append(out, gateway.Identity{Platform: platform, ID: id})
		}
	}
	if a.Pairing != nil {
		if l, err := a.Pairing.List(); err == nil {
			for _, ap := range l.Approved {
				if ap.Platform == platform && !seen[ap.ID] {
					seen[ap.ID] = true
					out = append(out, gateway.Identity{Platform: platform, ID: ap.ID, Name: ap.Name})
				}
			}
		}
	}
	return out
}
