package sandbox

import "hermes-exec/isolate/sandbox/execproto"

// forwardSignals is shared with the main binary's socket client.
var forwardSignals = execproto.ForwardSignals
