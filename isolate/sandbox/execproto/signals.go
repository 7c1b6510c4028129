package execproto

import (
	"context"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// ForwardSignals relays the signals a shell would pass to its foreground job
// (Ctrl-C from the agent, a supervisor's SIGTERM) to the command while it
// runs, and kills it when ctx is cancelled. The container process is a
// session leader (libcontainer calls setsid), so it is not in the wrapper's
// process group and would not get them otherwise. The returned function
// stops relaying.
func ForwardSignals(ctx context.Context, send func(os.Signal)) func() {
	sigs := make(chan os.Signal, 16)
	relayed := []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2}
	// A signal the wrapper was started with ignored (nohup's SIGHUP)
	// stays ignored: relaying it would deliver what the caller meant to
	// keep from the command.
	for _, sig := range relayed {
		if !signal.Ignored(sig) {
			signal.Notify(sigs, sig)
		}
	}
	stop := RelayFrom(ctx, sigs, send)
	return func() {
		signal.Stop(sigs)
		stop()
	}
}

// RelayFrom passes each signal from sigs to send, and SIGKILL when ctx is
// cancelled, until the returned function is called (once). ForwardSignals
// feeds it the wrapper's own signals; the supervisor feeds it those a
// client asks it to relay.
func RelayFrom(ctx context.Context, sigs <-chan os.Signal, send func(os.Signal)) (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				send(sig)
			case <-ctx.Done():
				send(unix.SIGKILL)
				return
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}
