//go:build hermes_testpolicy

package sibling

// Test builds only (make build EXTRATAGS=hermes_testpolicy, as tests/
// does): the tests point hermes-exec at a stand-in program through the
// variable Find is given. The shipped binaries are built without this tag.
func init() { testOverride = true }
