package execcheck

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"hermes-exec/policy"
)

func TestScriptOperand(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		inline string
		want   string
		ok     bool
	}{
		{[]string{"x.sh", "a"}, "cs", "x.sh", true},
		{[]string{"-e", "-x", "x.sh"}, "cs", "x.sh", true}, // bash -e is errexit, not code
		{[]string{"-o", "pipefail", "x.sh"}, "cs", "x.sh", true},
		{[]string{"-c", "rm -rf /"}, "cs", "", false},
		{[]string{"-s"}, "cs", "", false},
		{[]string{"-"}, "cs", "", false},
		{[]string{"-u", "x.py"}, "cm", "x.py", true},
		{[]string{"-m", "http.server"}, "cm", "", false},
		{[]string{"-W", "ignore", "x.py"}, "cm", "x.py", true},
		{[]string{"-e", "print 1"}, "eE", "", false},
		{[]string{"--", "x.sh"}, "cs", "x.sh", true},
	} {
		got, ok := scriptOperand(tc.args, tc.inline)
		if got != tc.want || ok != tc.ok {
			t.Errorf("scriptOperand(%q, %q) = %q %v, want %q %v", tc.args, tc.inline, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIsShellText(t *testing.T) {
	for argv, want := range map[string]bool{
		"bash -c true x": true, "/usr/bin/bash -e -c true": true, "sh -c x": true,
		"bash x.sh": false, "rm -rf /": false, "python3 -c x": false,
	} {
		if got := isShellText(splitWords(argv)); got != want {
			t.Errorf("isShellText(%q) = %v", argv, got)
		}
	}
}

// A human's approval of a command covers its execs with the same argv
// (whatever path the shell executes them by), never anything else.
func TestGrant(t *testing.T) {
	cls, err := policy.NewClassifier(policy.Rules{Deny: []string{"terraform destroy"}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Supervisor{Classifier: cls}
	top := cls.Classify("rm -rf /etc/x")
	if top.Decision != policy.Ask {
		t.Fatalf("premise: %v", top.Decision)
	}
	s.Grant(top)
	if !s.isGranted(cls.ClassifyArgv([]string{"/usr/bin/rm", "-rf", "/etc/x"})) {
		t.Error("the approved argv, executed by path, is asked again")
	}
	if s.isGranted(cls.ClassifyArgv([]string{"/usr/bin/rm", "-rf", "/etc/y"})) {
		t.Error("another argv is covered by the grant")
	}
	s.Grant(cls.Classify("terraform destroy"))
	if s.isGranted(cls.ClassifyArgv([]string{"terraform", "destroy"})) {
		t.Error("a denial can be granted")
	}
}

func TestShebangAndScriptClassified(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.sh")
	os.WriteFile(p, []byte("#!/bin/sh -e\necho hi\nrm -rf /etc/x\n"), 0o755)
	interp, arg, ok := shebang(os.Getpid(), procPath(os.Getpid(), p), nil)
	if !ok || interp != "/bin/sh" || arg != "-e" {
		t.Fatalf("shebang: %q %q %v", interp, arg, ok)
	}
	cls, _ := policy.NewClassifier(policy.Rules{ExecChecked: true})
	s := &Supervisor{Classifier: cls}
	e := &Exec{Pid: os.Getpid(), Path: p, Argv: []string{"./x.sh"}}
	s.classify(e, nil, nil)
	if e.Script != p || e.Verdict.Decision != policy.Ask {
		t.Fatalf("a #! script: script %q verdict %v; want its text classified (rm -rf /etc/x)", e.Script, e.Verdict.Decision)
	}
	// A script that only starts programs is let through: each of them is
	// checked when it runs.
	os.WriteFile(p, []byte("#!/bin/sh\nrm -rf /etc/x\n"), 0o755)
	s.Scripts, _ = policy.NewClassifier(policy.Rules{DeferPrograms: true})
	e = &Exec{Pid: os.Getpid(), Path: "/bin/sh", Argv: []string{"sh", p}}
	s.classify(e, nil, nil)
	if e.Script != p || e.Verdict.Decision != policy.Allow {
		t.Fatalf("sh x.sh with deferred programs: script %q verdict %v", e.Script, e.Verdict.Decision)
	}
}

func splitWords(s string) []string {
	var out []string
	cur := ""
	for _, r := range s + " " {
		if r == ' ' {
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
			continue
		}
		cur += string(r)
	}
	return out
}

// Memory is read a page at a time: a string or a pointer that ends just
// before an unmapped page is read, one that runs into it is an error, and
// the strings of one page come from one read.
func TestReadAtPageEdges(t *testing.T) {
	b, err := unix.Mmap(-1, 0, 2*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	if err := unix.Mprotect(b[pageSize:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	base := uint64(uintptr(unsafe.Pointer(&b[0])))
	m := &mem{pid: os.Getpid()}
	defer m.close()
	// "edge\0" ending on the page's last byte.
	copy(b[pageSize-5:], "edge\x00")
	if s, err := m.cstring(base+pageSize-5, maxPath); err != nil || s != "edge" {
		t.Fatalf("a string at the page's end: %q %v", s, err)
	}
	// No NUL before the unmapped page.
	copy(b[pageSize-3:], "abc")
	m.reset(os.Getpid())
	if _, err := m.cstring(base+pageSize-3, maxPath); err == nil {
		t.Fatal("a string running into an unmapped page was read")
	}
	// argv: two pointers and the NULL ending on the page's last byte,
	// strings in the same page.
	copy(b[100:], "rm\x00-rf\x00")
	at := pageSize - 3*8
	binary.LittleEndian.PutUint64(b[at:], base+100)
	binary.LittleEndian.PutUint64(b[at+8:], base+103)
	binary.LittleEndian.PutUint64(b[at+16:], 0)
	m.reset(os.Getpid())
	argv, err := m.argv(base+uint64(at), 8)
	if err != nil || strings.Join(argv, " ") != "rm -rf" {
		t.Fatalf("argv at the page's end: %q %v", argv, err)
	}
	// The array not ended before the unmapped page.
	binary.LittleEndian.PutUint64(b[at+16:], base+100)
	m.reset(os.Getpid())
	if argv, err := m.argv(base+uint64(at), 8); err == nil {
		t.Fatalf("an argv running into an unmapped page was read: %q", argv)
	}
	// x32/i386: 4-byte pointers.
	at4 := pageSize - 3*4
	binary.LittleEndian.PutUint32(b[at4:], uint32(base+100))
	binary.LittleEndian.PutUint32(b[at4+4:], uint32(base+103))
	binary.LittleEndian.PutUint32(b[at4+8:], 0)
	if base>>32 == 0 {
		m.reset(os.Getpid())
		if argv, err := m.argv(base+uint64(at4), 4); err != nil || strings.Join(argv, " ") != "rm -rf" {
			t.Fatalf("a 32-bit argv: %q %v", argv, err)
		}
	}
}

// The path and the argv array are read with one system call, and an argv
// whose strings alternate between pages costs one read per page, not per
// string; a page that cannot be read is still reported.
func TestReadArgvAcrossPages(t *testing.T) {
	b, err := unix.Mmap(-1, 0, 4*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	if err := unix.Mprotect(b[3*pageSize:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	base := uint64(uintptr(unsafe.Pointer(&b[0])))
	// Page 0: the path; page 1: the argv array; strings alternate
	// between pages 0 and 2.
	copy(b, "/bin/echo\x00")
	var want []string
	for i := 0; i < 40; i++ {
		s := fmt.Sprintf("arg%d", i)
		off := uint64(pageSize/2 + i*16)
		if i%2 == 1 {
			off += 2 * pageSize
		}
		copy(b[off:], s+"\x00")
		binary.LittleEndian.PutUint64(b[pageSize+8*i:], base+off)
		want = append(want, s)
	}
	binary.LittleEndian.PutUint64(b[pageSize+8*40:], 0)
	m := &mem{pid: os.Getpid()}
	defer m.close()
	m.prefetch(base, base+pageSize)
	path, err := m.cstring(base, maxPath)
	if err != nil || path != "/bin/echo" {
		t.Fatalf("path: %q %v", path, err)
	}
	argv, err := m.argv(base+pageSize, 8)
	if err != nil || strings.Join(argv, " ") != strings.Join(want, " ") {
		t.Fatalf("argv: %q %v", argv, err)
	}
	if m.reads != 2 {
		t.Errorf("read the path, the array and 40 strings on 3 pages with %d system calls, want 2", m.reads)
	}
	// The array's page unreadable: the path is still read, and the
	// argv's error is reported.
	m.reset(os.Getpid())
	m.prefetch(base, base+3*pageSize)
	if path, err := m.cstring(base, maxPath); err != nil || path != "/bin/echo" {
		t.Fatalf("path with the array's page unmapped: %q %v", path, err)
	}
	if argv, err := m.argv(base+3*pageSize, 8); err == nil {
		t.Fatalf("an argv on an unmapped page was read: %q", argv)
	}
}
