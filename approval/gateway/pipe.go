package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"

	"hermes-exec/approval"
	"hermes-exec/approval/gatewayexec"
)

// ServePipe is the helper's side of approval/gatewayexec (hermes-exec-admin
// gatewayexec.Arg SOCKET): it opens the daemon at socket, says whether it
// could, then asks the one request the shell sends on in and writes the
// outcome to out. A withdrawal on in withdraws the request with that
// reason; in closing (the shell went away) ends the helper, which the
// daemon sees as the shell's connection closing. The exit status is 0
// when an outcome or an error was written, 1 when out failed.
func ServePipe(socket string, in io.Reader, out io.Writer) int {
	enc := json.NewEncoder(out)
	write := func(m gatewayexec.Message) int {
		if enc.Encode(m) != nil {
			return 1
		}
		return 0
	}
	a, err := Open(socket)
	switch {
	case errors.Is(err, ErrNotRunning):
		return write(gatewayexec.Message{Open: true, Running: false})
	case err != nil:
		return write(gatewayexec.Message{Error: err.Error()})
	}
	if code := write(gatewayexec.Message{Open: true, Running: true}); code != 0 {
		return code
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 32<<20)
	var m gatewayexec.Message
	if !sc.Scan() {
		return 0 // the shell did not ask after all
	}
	if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m.Request == nil {
		return write(gatewayexec.Message{Error: "gateway helper: bad request from the shell"})
	}
	// Not cancelled on the way out: a cancelled ctx withdraws the request
	// in words of its own, and a shell that went away is for the daemon
	// to word (below).
	ctx, cancel := context.WithCancelCause(context.Background())
	gone := make(chan struct{})
	go func() {
		if sc.Scan() {
			var w gatewayexec.Message
			if json.Unmarshal(sc.Bytes(), &w) == nil && w.Withdraw != "" {
				cancel(errors.New(w.Withdraw))
				return
			}
		}
		close(gone)
	}()
	type outcome struct {
		rep approval.Reply
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		rep, err := a.Ask(ctx, m.Request.ToRequest())
		done <- outcome{rep, err}
	}()
	select {
	case <-gone:
		// The shell went away: returning ends this process (the caller
		// exits) and drops the connection, and the daemon withdraws the
		// request as it does for a shell that held the connection itself.
		return 0
	case o := <-done:
		if o.err != nil {
			return write(gatewayexec.Message{Error: o.err.Error()})
		}
		return write(gatewayexec.Message{Reply: gatewayexec.FromReply(o.rep)})
	}
}
