package containerdexec

import (
	"path/filepath"
	"testing"

	"hermes-exec/isolate/sandbox/execproto"
)

func TestDefaults(t *testing.T) {
	ws := t.TempDir()
	o, err := Options{Options: execproto.Options{Workspace: ws, HermesHome: t.TempDir()}}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Address != DefaultAddress || o.Namespace != DefaultNamespace {
		t.Errorf("defaults: %q %q", o.Address, o.Namespace)
	}
	sandboxDir := execproto.DefaultStateDir(o.HermesHome)
	if o.StateDir != filepath.Join(filepath.Dir(sandboxDir), "containerd") {
		t.Errorf("state dir %s is not beside the sandbox's %s", o.StateDir, sandboxDir)
	}
}

// A session's container follows from everything that shapes it: another
// image, namespace or daemon is another container, never a reused one.
func TestSessionIDFollowsTheShape(t *testing.T) {
	base, err := Options{Options: execproto.Options{Workspace: t.TempDir(), HermesHome: t.TempDir()}}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	id := base.SessionID("s1")
	if base.SessionID("s1") != id || base.SessionID("s2") == id {
		t.Error("session id is not a function of the session")
	}
	for name, o := range map[string]Options{
		"image":     func() Options { o := base; o.Image = "x"; return o }(),
		"namespace": func() Options { o := base; o.Namespace = "other"; return o }(),
		"address":   func() Options { o := base; o.Address = "/other.sock"; return o }(),
		"memory":    func() Options { o := base; o.Memory = 1 << 30; return o }(),
	} {
		if o.SessionID("s1") == id {
			t.Errorf("another %s gives the same container", name)
		}
	}
}
