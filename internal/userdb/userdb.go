// Package userdb reads every user's home directory from the local user
// database, for the classifier's judgement of ~name and /home/name paths.
// os/user looks up one user at a time and cannot list them, so the file is
// read directly; users that only NSS services (LDAP, sssd) know are missing,
// and for those the classifier falls back to /home/NAME.
package userdb

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PasswdFile is the local user database.
const PasswdFile = "/etc/passwd"

// Homes returns user name -> absolute home directory from PasswdFile.
func Homes() (map[string]string, error) {
	f, err := os.Open(PasswdFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Parse reads passwd(5) lines: name:password:uid:gid:gecos:home:shell.
// Comments, blank lines, NIS "+" entries and relative homes are skipped.
func Parse(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	// Lines up to 1 MiB; the buffer starts small and grows only for a
	// long line (every command reads this file, and 64 KiB of fresh
	// memory is 16 page faults).
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		name, home, ok := passwdFields(line)
		if !ok || len(name) == 0 || len(home) == 0 || home[0] != '/' {
			continue
		}
		if _, dup := out[string(name)]; !dup { // the first entry wins, as getpwnam
			out[string(name)] = filepath.Clean(string(home))
		}
	}
	return out, sc.Err()
}

// passwdFields is a passwd(5) line's first and sixth fields (name and
// home), and whether it has all seven, found without splitting the line:
// every command reads the whole file, and a slice of seven strings per
// line was most of that.
func passwdFields(line []byte) (name, home []byte, ok bool) {
	colons, start := 0, 0
	for i, c := range line {
		if c != ':' {
			continue
		}
		switch colons {
		case 0:
			name = line[:i]
		case 4:
			start = i + 1
		case 5:
			return name, line[start:i], true // a seventh field follows
		}
		colons++
	}
	return nil, nil, false
}

// LoginShell is the login shell (seventh field) of the first PasswdFile
// entry with uid, as getpwuid(3) finds it in the files database; "" with
// no error when the file has no such user.
func LoginShell(uid int) (string, error) {
	f, err := os.Open(PasswdFile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return loginShell(f, uid)
}

func loginShell(r io.Reader, uid int) (string, error) {
	want := strconv.Itoa(uid)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) == 7 && f[2] == want && f[0] != "" && f[0][0] != '+' && f[0][0] != '-' {
			return f[6], nil
		}
	}
	return "", sc.Err()
}
