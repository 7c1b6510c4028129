package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Many writers doing read-modify-write under the lock lose no update.
func TestConcurrentReadModifyWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := WithLock(path+".lock", func() error {
				old, err := os.ReadFile(path)
				if err != nil && !os.IsNotExist(err) {
					return err
				}
				return Write(path, append(old, fmt.Sprintf("line %d\n", i)...))
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 40 {
		t.Fatalf("%d lines, want 40: updates were lost", n)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".state.tmp-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

func TestWriteFailureLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	// Renaming a file over a non-empty directory fails; nothing may change.
	os.WriteFile(filepath.Join(path, "keep"), []byte("x"), 0o600)
	if err := Write(path, []byte("new")); err == nil {
		t.Fatal("replacing a directory succeeded")
	}
	if _, err := os.Stat(filepath.Join(path, "keep")); err != nil {
		t.Fatal("the old content is gone")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".sub.tmp-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}
