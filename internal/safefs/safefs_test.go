package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"hermes-exec/internal/testutil"
)

func TestCheckDir(t *testing.T) {
	uid := os.Geteuid()
	base := t.TempDir()
	mk := func(p string, mode os.FileMode) string {
		t.Helper()
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Chmod(p, uint32(mode)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := mk(filepath.Join(base, "ok", "home"), 0o700)
	if err := CheckDir(ok, uid); err != nil {
		t.Fatalf("a private directory: %v", err)
	}
	if err := CheckDir(filepath.Join(ok, "not", "yet"), uid); err != nil {
		t.Fatalf("a directory still to be made: %v", err)
	}
	if err := CheckDir("relative", uid); err == nil {
		t.Fatal("a relative path passed")
	}
	open := mk(filepath.Join(base, "open"), 0o777)
	mk(filepath.Join(open, "home"), 0o700)
	if err := CheckDir(filepath.Join(open, "home"), uid); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("under a world-writable directory: %v", err)
	}
	sticky := mk(filepath.Join(base, "sticky"), 0o1777)
	mk(filepath.Join(sticky, "home"), 0o700)
	if err := CheckDir(filepath.Join(sticky, "home"), uid); err != nil {
		t.Fatalf("under a sticky directory: %v", err)
	}
	if err := CheckDir(sticky, uid); err == nil {
		t.Fatal("a world-writable HERMES_HOME passed because it is sticky")
	}
	grp := mk(filepath.Join(base, "grp"), 0o770)
	if err := CheckDir(grp, uid); err == nil {
		t.Fatal("a group-writable HERMES_HOME passed")
	}
	// A link of one's own is followed and its target checked.
	link := filepath.Join(base, "link")
	os.Symlink(filepath.Join(open, "home"), link)
	if err := CheckDir(link, uid); err == nil {
		t.Fatal("a link into a world-writable directory passed")
	}
	os.Remove(link)
	os.Symlink(ok, link)
	if err := CheckDir(link, uid); err != nil {
		t.Fatalf("a link to a private directory: %v", err)
	}
}

func TestCheckDirRefusesOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Require(t, "root, to make files another user owns")
	}
	base := t.TempDir()
	theirs := filepath.Join(base, "theirs")
	os.Mkdir(theirs, 0o700)
	os.Chown(theirs, 65534, 65534)
	if err := CheckDir(theirs, 0); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("another user's directory: %v", err)
	}
	if err := CheckDir(filepath.Join(theirs, "sub"), 0); err == nil {
		t.Fatal("a directory under another user's passed")
	}
	// Their link, even to root's own directory, is not followed.
	mine := filepath.Join(base, "mine")
	os.Mkdir(mine, 0o700)
	link := filepath.Join(base, "link")
	os.Symlink(mine, link)
	os.Lchown(link, 65534, 65534)
	if err := CheckDir(link, 0); err == nil || !strings.Contains(err.Error(), "symbolic link owned by uid 65534") {
		t.Fatalf("another user's link: %v", err)
	}
	// A file they own is refused too.
	f := filepath.Join(mine, "config.yaml")
	os.WriteFile(f, []byte("x: 1\n"), 0o600)
	os.Chown(f, 65534, 65534)
	if _, err := ReadFile(f, 100, 0); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("another user's file: %v", err)
	}
}

func TestReadFile(t *testing.T) {
	uid := os.Geteuid()
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if _, err := ReadFile(p, 10, uid); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	os.WriteFile(p, []byte("0123456789"), 0o600)
	if b, err := ReadFile(p, 10, uid); err != nil || string(b) != "0123456789" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := ReadFile(p, 9, uid); err == nil || !strings.Contains(err.Error(), "larger than 9 bytes") {
		t.Fatalf("over the cap: %v", err)
	}
	os.Remove(p)
	os.Symlink(filepath.Join(dir, "gone"), p)
	if _, err := ReadFile(p, 10, uid); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a dangling link must not read as no file: %v", err)
	}
}

// ReadFileString reads what ReadFile reads, with the same checks and
// errors (it is what config.Load uses).
func TestReadFileString(t *testing.T) {
	uid := os.Geteuid()
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if _, err := ReadFileString(p, 10, uid); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	os.WriteFile(p, []byte("0123456789"), 0o600)
	if s, err := ReadFileString(p, 10, uid); err != nil || s != "0123456789" {
		t.Fatalf("%q %v", s, err)
	}
	if _, err := ReadFileString(p, 9, uid); err == nil || !strings.Contains(err.Error(), "larger than 9 bytes") {
		t.Fatalf("over the cap: %v", err)
	}
	os.Chmod(p, 0o622)
	if _, err := ReadFileString(p, 10, uid); err == nil || !strings.Contains(err.Error(), "writable by") {
		t.Fatalf("writable by others: %v", err)
	}
	os.WriteFile(p, nil, 0o600)
	os.Chmod(p, 0o600)
	if s, err := ReadFileString(p, 10, uid); err != nil || s != "" {
		t.Fatalf("empty: %q %v", s, err)
	}
}
