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
		// The owner's home (not root's) is the one hidden, but for its
		// readable entries.
		home := filepath.Join(filepath.Dir(o.StateDir), "home")
		for _, d := range []string{".cargo/bin", ".ssh"} {
			if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(home, "notes.txt"), []byte("SECRET-OWNER-NOTES"), 0o644); err != nil {
			t.Fatal(err)
		}
		o.Owner = &ocispec.Owner{UID: 65534, GID: 65534, Home: home}
		b, err := New(o)
		if err != nil {
			t.Fatalf("%s: %v", persist, err)
		}
		st, out := run(t, b, "owner-test", "cd "+o.Workspace+" && echo $(id -u) $(id -g); touch made-by-owner && stat -c %u made-by-owner; cat "+home+"/notes.txt; ls -A "+home)
		if st.Code != 0 || !strings.HasPrefix(out, "65534 65534\n65534\n") {
			t.Errorf("%s: %+v %q, want the owner's ids", persist, st, out)
		}
		if strings.Contains(out, "SECRET-OWNER-NOTES") || strings.Contains(out, ".ssh") || !strings.Contains(out, ".cargo") {
			t.Errorf("%s: the owner's home is not hidden but for .cargo: %q", persist, out)
		}
	}
}
