// Package ident names the user a process runs as, from the kernel's uid and
// the user database, never from $USER or $HOME, which the caller can set to
// anything.
package ident

import (
	"os"
	"os/user"
	"strconv"
)

// UserName is uid's login name, or "uid:N" when the user database has none.
func UserName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid:" + strconv.Itoa(uid)
}

// Current is the real user of this process, for the audit log and prompts.
func Current() string { return UserName(os.Getuid()) }
