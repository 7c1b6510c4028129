//go:build hermes_testpolicy

package helperexec

// Test builds only (make build EXTRATAGS=hermes_testpolicy, as tests/
// does): the tests point the wrapper at a stand-in helper through
// $PathEnv. The shipped binaries are built without this tag.
func init() { testOverride = true }
