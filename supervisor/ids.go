package supervisor

import (
	"os/user"
	"strconv"
)

// lookupGID is uid's primary group from the user database: the sandbox
// runs with the user's own gid, not one a set-gid wrapper picked.
func lookupGID(uid int) (int, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(u.Gid)
}
