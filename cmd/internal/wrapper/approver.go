package wrapper

import (
	"errors"

	"hermes-exec/approval"
	"hermes-exec/approval/deadline"
	"hermes-exec/approval/first"
	"hermes-exec/approval/gatewayexec"
	"hermes-exec/internal/hermeshome"
	"hermes-exec/internal/sibling"
)

// AdminName is the program that holds the subcommands (gateway, doctor,
// audit, ...): hermes-exec runs it for them, from its own directory.
const AdminName = sibling.Admin

// adminPathEnv names a stand-in for it in test builds (sibling.Find).
const adminPathEnv = "HERMES_ADMIN_BIN"

// AdminPath is hermes-exec-admin next to the running hermes-exec.
func AdminPath() (string, error) { return sibling.Find(AdminName, adminPathEnv) }

// GatewayLayout is the HERMES_HOME that the gateway daemon and the
// wrappers reaching it share: $HERMES_HOME, else the one under the user
// database's home (never $HOME, which an agent may have changed).
func GatewayLayout() hermeshome.Layout { return HomeLayout() }

// openApprover is the flow's approval channel: the terminal and the
// gateway, whichever are there, both asked when both are (the first
// answer wins). A gateway whose socket exists but that does not answer is
// an error when it is the only channel: the user set it up to be asked
// there, so it is a denial, not a silent skip. The gateway is asked
// through hermes-exec-admin (approval/gatewayexec), which links the HTTP
// client this program does without.
func (s *Setup) openApprover() (approval.Approver, error) {
	var chans []approval.Approver
	t, terr := openTTYApprover()
	if terr == nil {
		chans = append(chans, t)
	}
	g, gerr := gatewayexec.Open(GatewayLayout().GatewaySocket(), AdminPath)
	switch {
	case gerr == nil:
		chans = append(chans, g)
	case errors.Is(gerr, gatewayexec.ErrNotRunning):
	case len(chans) == 0:
		return nil, gerr
	default:
		s.Log.Warnf("%v; asking on the terminal only", gerr)
	}
	if len(chans) == 0 {
		return nil, terr
	}
	return deadline.Wrap(first.New(chans...), s.Cfg.Approvals.TimeoutFor), nil
}
