package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hermes-exec/isolate/ocispec"
)

// A root supervisor runs a sandbox for another user: the owner is input,
// and the command runs as that user, not as root.
func TestRootRunsASandboxForAnotherOwner(t *testing.T) {
	requireRoot(t)
	for _, persist := range []string{"none", "session"} {
		o := testOptions(t, persist)
		// The owner's container root sets the container up: its state
		// directory is the owner's, under directories it can traverse.
		if err := os.Chmod(filepath.Dir(o.StateDir), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{o.Workspace, o.StateDir} {
			if err := os.Chown(d, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
		o.Owner = &ocispec.Owner{UID: 65534, GID: 65534, Home: "/nonexistent"}
		b, err := New(o)
		if err != nil {
			t.Fatalf("%s: %v", persist, err)
		}
		st, out := run(t, b, "owner-test", "cd "+o.Workspace+" && echo $(id -u) $(id -g); touch made-by-owner && stat -c %u made-by-owner")
		if st.Code != 0 || strings.TrimSpace(out) != "65534 65534\n65534" {
			t.Errorf("%s: %+v %q, want the owner's ids", persist, st, out)
		}
	}
}
