package shim

import (
	"os"
	"os/user"
	"strconv"
)

// currentUser names the real user for the audit log. It trusts the uid, not
// $USER, which the caller can set to anything.
func currentUser() string {
	uid := os.Getuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid:" + strconv.Itoa(uid)
}
