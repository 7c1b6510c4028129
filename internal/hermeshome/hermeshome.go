// Package hermeshome is the one place that knows where a user's Hermes
// files live: which directory is HERMES_HOME, and the name of every file and
// directory inside it. Everything that reads or writes there (config, .env,
// audit log, sessions, sandbox state, gateway, pairing) takes its path from
// here, so the layout is written once.
//
// A user's home directory comes from the user database, never from $HOME:
// an agent can run with HOME=/ or HOME=/nonexistent, and a home taken from
// the environment would then hide nothing and find no configuration.
package hermeshome

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// Names inside HERMES_HOME.
const (
	DirName     = ".hermes"     // the default HERMES_HOME under a user's home
	ConfigFile  = "config.yaml" // Hermes Agent's configuration
	EnvFile     = ".env"        // the agent's keys, KEY=value lines
	EnvAgeFile  = ".env.age"    // .env encrypted with age (secrets at rest)
	AuditFile   = "audit.jsonl" // the audit log, JSON Lines
	SessionsDir = "sessions"    // per-session approvals and yolo switches
	RunDir      = "run"         // sockets and state of running helpers
	PairingDir  = "pairing"     // gateway pairing records
	GatewaySock = "gateway.sock"
	HookGrants  = "hook-grants" // under RunDir: one-shot approvals asked for in an agent's own dialog
	TLSCertFile = "gateway-cert.pem"
	TLSKeyFile  = "gateway-key.pem"
)

// Env is how the environment is read: os.Getenv in programs, a map in tests.
type Env func(string) string

// UserHome is uid's home directory from the user database.
func UserHome(uid int) (string, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return "", err
	}
	if u.HomeDir == "" || !filepath.IsAbs(u.HomeDir) {
		return "", errors.New("the user database gives no absolute home directory for uid " + strconv.Itoa(uid))
	}
	return filepath.Clean(u.HomeDir), nil
}

// Default is the HERMES_HOME a user has when the variable is not set.
func Default(userHome string) string {
	return filepath.Join(userHome, DirName)
}

// Resolve is the HERMES_HOME in force: $HERMES_HOME when set (made
// absolute), else the default under userHome. userHome should come from
// UserHome. With neither, it returns "/nonexistent/.hermes": never a
// relative path, since a .hermes directory in the working directory (a
// cloned repository, say) must not be trusted as the user's configuration.
func Resolve(env Env, userHome string) string {
	if h := env("HERMES_HOME"); h != "" {
		if abs, err := filepath.Abs(h); err == nil {
			return abs
		}
		return h
	}
	if userHome == "" {
		userHome = "/nonexistent"
	}
	return Default(userHome)
}

// Layout names the files of one HERMES_HOME.
type Layout struct {
	Dir string
}

func (l Layout) Config() string   { return filepath.Join(l.Dir, ConfigFile) }
func (l Layout) Env() string      { return filepath.Join(l.Dir, EnvFile) }
func (l Layout) EnvAge() string   { return filepath.Join(l.Dir, EnvAgeFile) }
func (l Layout) Audit() string    { return filepath.Join(l.Dir, AuditFile) }
func (l Layout) Sessions() string { return filepath.Join(l.Dir, SessionsDir) }
func (l Layout) Run() string      { return filepath.Join(l.Dir, RunDir) }
func (l Layout) Pairing() string  { return filepath.Join(l.Dir, PairingDir) }
func (l Layout) GatewaySocket() string {
	return filepath.Join(l.Dir, RunDir, GatewaySock)
}
func (l Layout) HookGrants() string {
	return filepath.Join(l.Dir, RunDir, HookGrants)
}
func (l Layout) TLSCert() string { return filepath.Join(l.Dir, TLSCertFile) }
func (l Layout) TLSKey() string  { return filepath.Join(l.Dir, TLSKeyFile) }

// ErrNoHome says that neither $HERMES_HOME nor the user database names a
// place for the caller's Hermes files.
var ErrNoHome = errors.New("no HERMES_HOME: the user database has no home directory for this user (as under docker -u UID); set HERMES_HOME to a directory you own")

// Find is the HERMES_HOME of uid in force: $HERMES_HOME when set, else the
// default under uid's home from the user database ($HOME is never read).
// With neither it returns ErrNoHome, so that the caller can say what to
// set instead of failing later on a made-up path.
func Find(env Env, uid int) (string, error) {
	if env("HERMES_HOME") != "" {
		return Resolve(env, ""), nil
	}
	home, err := UserHome(uid)
	if err != nil {
		return "", ErrNoHome
	}
	if _, err := os.Stat(home); err != nil {
		return "", fmt.Errorf("no HERMES_HOME: the home directory %s that the user database gives uid %d cannot be used (%v); set HERMES_HOME to a directory you own", home, uid, err)
	}
	return Default(home), nil
}

// Secrets at rest (secretstore): the names .env.age defines, kept in clear
// so that the environment filter knows them without the key, and the local
// age identity that decrypts it when no gateway or supervisor holds it.
const (
	EnvAgeNamesFile = ".env.age.names"
	AgeIdentityFile = "age-identity.txt"
)

func (l Layout) EnvAgeNames() string { return filepath.Join(l.Dir, EnvAgeNamesFile) }
func (l Layout) AgeIdentity() string { return filepath.Join(l.Dir, AgeIdentityFile) }

// The audit log's anchor (the head `audit verify` last found intact and the
// head at each rotation) and the key that authenticates hermes-exec's own
// state files (hook grants, pairing records): a file of those written by
// anything but hermes-exec does not carry a valid MAC and is ignored.
const (
	AuditAnchorFile = "audit.anchor"
	StateKeyFile    = "state.key"
)

func (l Layout) AuditAnchor() string { return filepath.Join(l.Dir, AuditAnchorFile) }
func (l Layout) StateKey() string    { return filepath.Join(l.Dir, RunDir, StateKeyFile) }

// Secrets are the paths inside HERMES_HOME (relative to it, directories
// cover what is in them) whose contents a command must not read unasked:
// the agent's keys, the age identity that decrypts .env.age, the gateway's
// TLS key, pairing records (approvers' ids), hook grants and the key that
// authenticates them. The classifier asks before a command reads one;
// .env.age.names (names only) and config.yaml are not secrets.
var Secrets = []string{
	EnvFile, EnvAgeFile, AgeIdentityFile, TLSKeyFile, PairingDir,
	RunDir + "/" + HookGrants, RunDir + "/" + StateKeyFile,
}

// Controls are the paths inside HERMES_HOME whose change changes what
// hermes-exec allows or what it remembers: the configuration (allowlist),
// the audit log, its rotated files and anchor, session approvals, hook
// grants, pairing records, and the secrets. The classifier denies a
// command that writes, deletes, renames or links one of them (in fact it
// denies any write inside HERMES_HOME: these are the ones that must never
// be left out of that rule).
var Controls = append([]string{
	ConfigFile, AuditFile, "audit.*.jsonl", AuditAnchorFile, SessionsDir, EnvAgeNamesFile,
}, Secrets...)
