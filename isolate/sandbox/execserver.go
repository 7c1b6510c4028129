package sandbox

import (
	"hermes-exec/isolate/execwire"
	"hermes-exec/isolate/sandbox/execproto"
)

// A session container's reaper starts the commands of later wrappers
// itself: it is already inside every namespace, under the seccomp filter,
// without capabilities and with no_new_privs, so a command it forks is
// exactly like one libcontainer would start with a second process, minus
// the second start. The protocol's client is in execproto (the main binary
// speaks it too); the server is execwire's, which the containerd backend's
// init serves too.
const (
	execSocketName = execproto.SocketName
	execSocketArg  = "exec-socket" // the session reaper's flag: fd 4 is the socket
	reaperSocketFd = 4             // session mode: the listening socket
)

func newExecServer() *execwire.Server { return execwire.NewServer() }
