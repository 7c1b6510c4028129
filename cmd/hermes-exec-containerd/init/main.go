// Command hermes-exec-containerd-init is pid 1 of every container the
// containerd backend makes, and the starter of each session command (see
// isolate/containerd/reaper). It is static and tiny on purpose: it runs
// inside images that have no libc, once per command.
package main

import (
	"os"

	"hermes-exec/isolate/containerd/reaper"
)

func main() {
	os.Exit(reaper.Main(os.Args[1:]))
}
