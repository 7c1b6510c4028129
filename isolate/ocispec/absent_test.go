package ocispec

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// A container made a workspace's placeholders; the spec another container
// would get once it is gone is the one with them counted absent, as long
// as they are still empty.
func TestAbsentPlaceholdersCountAsMissingWhileEmpty(t *testing.T) {
	ws := t.TempDir()
	rels := []string{".git/hooks", ".envrc", ".vscode"}
	files := []string{"inc.cfg"}
	before, err := protect(ws, nil, rels, files...)
	if err != nil {
		t.Fatal(err)
	}
	made, err := MakePlaceholders(ws, before.Placeholders, os.Getuid(), os.Getgid())
	if err != nil || len(made) != 4 {
		t.Fatalf("placeholders %v: %v", made, err)
	}
	present, _ := protect(ws, nil, rels, files...)
	if reflect.DeepEqual(present.Mounts, before.Mounts) {
		t.Fatal("the placeholders changed nothing: the test proves nothing")
	}
	absent, _ := protect(ws, made, rels, files...)
	if !reflect.DeepEqual(absent, before) {
		t.Errorf("with its own placeholders absent:\n%+v\nwant\n%+v", absent, before)
	}
	// Filled on the host (git init in the .git placeholder, a byte in
	// the file): they count as what they are now.
	if err := os.Mkdir(filepath.Join(ws, ".git", "objects"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "inc.cfg"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	filled, _ := protect(ws, made, rels, files...)
	if reflect.DeepEqual(filled.Mounts, before.Mounts) {
		t.Error("filled placeholders still counted as absent")
	}
	if want, _ := protect(ws, nil, rels, files...); !reflect.DeepEqual(filled.Mounts, want.Mounts) {
		t.Errorf("filled placeholders: %+v, want the mounts of what the workspace has: %+v", filled.Mounts, want.Mounts)
	}
}
