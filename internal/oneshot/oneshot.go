// Package oneshot records that this process runs one command and then
// exits (hermes-exec's shell mode). Code that would otherwise tidy up for a
// process that lives on (unsubscribing signals) may then leave it to the
// exit, which is cheaper and, for signals, safer: a signal that arrives
// after the command ended no longer ends the wrapper before the command's
// outcome is on record.
package oneshot

import "sync/atomic"

var on atomic.Bool

// Set marks the process as one-shot. It cannot be undone.
func Set() { on.Store(true) }

// On reports whether Set was called.
func On() bool { return on.Load() }
