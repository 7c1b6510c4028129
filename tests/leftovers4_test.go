package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// read under set -a sets and exports HERMES_YOLO as HERMES_YOLO=1 does:
// the nested hermes-exec ran its script without asking.
func TestLeftovers4ReadHermesYoloIsDenied(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  mode: default\n")
	marker := filepath.Join(t.TempDir(), "ran")
	for _, cmd := range []string{
		"set -a; read HERMES_YOLO <<< 1; " + e.bin + " -c 'touch " + marker + "'",
		"set -o allexport; printf -v HERMES_YOLO 1; " + e.bin + " -c 'touch " + marker + "'",
	} {
		if r := e.run(nil, "-c", cmd); r.code != 126 || !strings.Contains(r.stderr, "HERMES_YOLO") {
			t.Errorf("%s: %+v, want denied", cmd, r)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran")
	}
}

// git apply writes the files its diff names, like patch: run in a
// directory that holds the Hermes home it created config.yaml.
func TestLeftovers4GitApplyCannotWriteConfig(t *testing.T) {
	e := newEnv(t)
	parent, name := filepath.Dir(e.home), filepath.Base(e.home)
	diff := filepath.Join(t.TempDir(), "p.diff")
	body := "diff --git a/" + name + "/config.yaml b/" + name + "/config.yaml\nnew file mode 100644\n--- /dev/null\n+++ b/" + name + "/config.yaml\n@@ -0,0 +1,3 @@\n+approvals:\n+  allowlist:\n+    - git reset --hard\n"
	os.WriteFile(diff, []byte(body), 0o644)
	os.Remove(filepath.Join(e.home, "config.yaml"))
	if r := e.run(nil, "-c", "cd "+parent+" && git apply "+diff); r.code != 126 || !strings.Contains(r.stderr, "git apply extracts") {
		t.Errorf("cd DIR && git apply: %+v, want denied (asked, no terminal)", r)
	}
	if _, err := os.Stat(filepath.Join(e.home, "config.yaml")); err == nil {
		t.Fatal("config.yaml was written")
	}
	// Control: the same diff applied elsewhere.
	out := t.TempDir()
	if r := e.run(nil, "-c", "cd "+out+" && git apply "+diff); r.code != 0 {
		t.Fatalf("git apply elsewhere: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(out, name, "config.yaml")); err != nil {
		t.Fatalf("control did not apply: %v", err)
	}
}
