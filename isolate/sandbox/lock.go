package sandbox

import "hermes-exec/isolate/sandbox/execproto"

// The lock protocol (execproto/lock.go) is shared with the main binary,
// which holds a session's lock while the session's reaper runs its command.
type lock = execproto.Lock

var errLocked = execproto.ErrLocked

func lockPath(stateDir, id string) string { return execproto.LockPath(stateDir, id) }

func acquireLock(stateDir, id string, how int, nonblock bool) (*lock, error) {
	return execproto.AcquireLock(stateDir, id, how, nonblock)
}
