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
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 7 || f[0] == "" || !filepath.IsAbs(f[5]) {
			continue
		}
		if _, dup := out[f[0]]; !dup { // the first entry wins, as getpwnam
			out[f[0]] = filepath.Clean(f[5])
		}
	}
	return out, sc.Err()
}
