// Package ocispec builds the OCI runtime spec of a hermes-exec sandbox: the
// mounts that make the host read-only and the workspace writable, the
// paths it hides and the ones it keeps read-only, the namespaces, the
// capabilities (none), the seccomp profile and the limits. It is pure Go
// (no cgo, no libcontainer) so that every backend that runs OCI containers
// shares it: the embedded libcontainer sandbox converts the spec with
// specconv, a containerd backend would hand it to containerd.
//
// The spec is made for an Owner given as input, not read from the current
// process, so that a root supervisor can build one for another user.
package ocispec

import "hermes-exec/isolate/owner"

// Owner is the user a sandbox runs commands for (see package owner).
type Owner = owner.Owner

// CurrentOwner is the owner the running process acts for.
func CurrentOwner() Owner { return owner.Current() }

// UserHome is uid's home from the user database with symlinks resolved, or
// "" when there is none.
func UserHome(uid int) string { return owner.UserHome(uid) }
