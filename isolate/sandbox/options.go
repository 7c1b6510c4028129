package sandbox

import "hermes-exec/isolate/sandbox/execproto"

// Options configure the sandbox backend. They live in execproto, which the
// pure-Go main binary imports too, so that it derives a session's container
// (and its exec socket) from the very same defaults and fingerprint.
type Options = execproto.Options

const (
	defaultIdle    = execproto.DefaultIdle
	persistSession = execproto.PersistSession
	persistNone    = execproto.PersistNone
	networkNone    = execproto.NetworkNone
)

// DefaultStateDir is where container state lives when Options.StateDir is
// empty.
func DefaultStateDir(hermesHome string) string { return execproto.DefaultStateDir(hermesHome) }

func sessionID(session, fingerprint string) string { return execproto.SessionID(session, fingerprint) }
