package shim

import "context"

// DecideExec is the decision step alone, for exec checks (package
// execcheck): a program started inside an approved command is decided by
// the same switches, session grants and approval channels as a top-level
// command, and nothing is run or recorded here.
//
// Merge note: the flow branch makes this step public as Flow.Decide; this
// function then becomes `d := f.Decide(ctx, c); return d.Allow, d.Channel,
// d.Approver, d.Reason`.
func (f *Flow) DecideExec(ctx context.Context, c Command) (allow bool, channel, approver, reason string) {
	o := f.decide(ctx, c)
	return o.allow, o.channel, o.approver, o.reason
}
