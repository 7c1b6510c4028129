package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"hermes-exec/internal/hermeshome"

	"golang.org/x/sys/unix"
)

// ownerName names a uid for messages.
func ownerName(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(int(uid))
}

// wantOwner is whose files HERMES_HOME holds: the caller's; for root
// looking at another user's home, that user's.
func wantOwner(o *Options) (uid, gid int) {
	if o.UID == 0 {
		var st unix.Stat_t
		if unix.Lstat(o.Home, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Uid != 0 {
			return int(st.Uid), int(st.Gid)
		}
	}
	return o.UID, o.GID
}

// openHome opens HERMES_HOME itself without following a symlink: fixes
// happen only through this descriptor and ones opened from it, so root
// never follows a link a user planted.
func openHome(home string) (int, error) {
	return unix.Open(home, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

func checkHome(o *Options) []Result {
	const name = "home"
	var st unix.Stat_t
	err := unix.Lstat(o.Home, &st)
	if errors.Is(err, unix.ENOENT) {
		return []Result{ok(name, "%s does not exist yet: hermes-exec creates it 0700 on first use", o.Home)}
	}
	if err != nil {
		return []Result{fail(name, "", "%s: %v", o.Home, err)}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		target, _ := os.Readlink(o.Home)
		r := warn(name, "make HERMES_HOME the directory itself, or point HERMES_HOME at the target", "%s is a symlink to %s: --fix changes nothing through it", o.Home, target)
		if err := unix.Stat(o.Home, &st); err != nil {
			return []Result{fail(name, "", "%s is a symlink to %s, which cannot be read: %v", o.Home, target, err)}
		}
		return append([]Result{r}, homeModes(o, &st, -1)...)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return []Result{fail(name, "move it away: HERMES_HOME must be a directory", "%s is not a directory", o.Home)}
	}
	fd, err := openHome(o.Home)
	if err != nil {
		return []Result{fail(name, "", "%s: %v", o.Home, err)}
	}
	defer unix.Close(fd)
	return homeModes(o, &st, fd)
}

func homeModes(o *Options, st *unix.Stat_t, fd int) []Result {
	const name = "home"
	uid, gid := wantOwner(o)
	var probs, fixed []string
	var fixes []string
	if int(st.Uid) != uid {
		p := fmt.Sprintf("owned by %s, not %s: whoever owns it can rewrite your rules", ownerName(st.Uid), ownerName(uint32(uid)))
		if o.Fix && fd >= 0 && o.UID == 0 {
			if err := unix.Fchown(fd, uid, gid); err == nil {
				fixed = append(fixed, fmt.Sprintf("chown %s %s (was %s)", ownerName(uint32(uid)), o.Home, ownerName(st.Uid)))
			} else {
				probs = append(probs, p+" (chown failed: "+err.Error()+")")
			}
		} else {
			probs = append(probs, p)
			fixes = append(fixes, fmt.Sprintf("sudo chown -R %s %s", ownerName(uint32(uid)), o.Home))
		}
	}
	if perm := st.Mode & 0o7777; perm&0o077 != 0 {
		p := fmt.Sprintf("mode %04o: other users can look inside or add files", perm)
		if o.Fix && fd >= 0 {
			if err := unix.Fchmod(fd, 0o700); err == nil {
				fixed = append(fixed, fmt.Sprintf("chmod 0700 %s (was %04o)", o.Home, perm))
			} else {
				probs = append(probs, p+" (chmod failed: "+err.Error()+")")
			}
		} else {
			probs = append(probs, p)
			fixes = append(fixes, "chmod 700 "+o.Home+" (or hermes-exec doctor --fix)")
		}
	}
	if len(probs) > 0 {
		r := fail(name, strings.Join(fixes, "; "), "%s: %s", o.Home, strings.Join(probs, "; "))
		r.Fixed = strings.Join(fixed, "; ")
		return []Result{r}
	}
	r := ok(name, "%s: a directory, 0700, owned by %s", o.Home, ownerName(uint32(uid)))
	r.Fixed = strings.Join(fixed, "; ")
	return []Result{r}
}

// fileSpec is a file or directory HERMES_HOME may hold.
type fileSpec struct {
	rel    string // relative to HERMES_HOME
	dir    bool
	report bool // say "absent" when it is not there
	why    string
}

func checkFiles(o *Options) []Result {
	l := hermeshome.Layout{Dir: o.Home}
	specs := []fileSpec{
		{rel: hermeshome.ConfigFile, report: true, why: "your rules"},
		{rel: hermeshome.EnvFile, report: true, why: "API keys"},
		{rel: hermeshome.EnvAgeFile, why: "encrypted secrets"},
		{rel: hermeshome.EnvAgeNamesFile, why: "the names of the encrypted secrets"},
		{rel: hermeshome.AgeIdentityFile, why: "the key to .env.age"},
		{rel: hermeshome.AuditFile, report: true, why: "the audit log"},
		{rel: hermeshome.TLSKeyFile, why: "the gateway's TLS key"},
		{rel: hermeshome.TLSCertFile, why: "the gateway's certificate"},
		{rel: hermeshome.SessionsDir, dir: true, why: "session approvals"},
		{rel: hermeshome.PairingDir, dir: true, why: "gateway pairing"},
		{rel: hermeshome.RunDir, dir: true, why: "helpers' sockets"},
	}
	for _, p := range rotated(l.Audit()) {
		specs = append(specs, fileSpec{rel: filepath.Base(p), why: "a rotated audit log"})
	}
	for _, d := range []string{hermeshome.SessionsDir, hermeshome.PairingDir} {
		ents, _ := os.ReadDir(filepath.Join(o.Home, d))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".lock") || e.Name() == ".lock" {
				continue
			}
			specs = append(specs, fileSpec{rel: filepath.Join(d, e.Name()), dir: e.IsDir(), why: d + " state"})
		}
	}
	homefd, err := openHome(o.Home)
	if err != nil {
		homefd = -1 // absent, or a symlink: look, but fix nothing
	} else {
		defer unix.Close(homefd)
	}
	var rs []Result
	counts := map[string]int{}
	for _, s := range specs {
		r, present := checkOne(o, homefd, s)
		if !present && !s.report {
			continue
		}
		// Many small state files: one line for the healthy ones.
		if d, _, nested := strings.Cut(s.rel, "/"); nested && r.Status == OK && r.Fixed == "" {
			counts[d]++
			continue
		}
		rs = append(rs, r)
	}
	var dirs []string
	for d := range counts {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		rs = append(rs, ok(d+"/*", "%d files in %s: regular, private, yours", counts[d], filepath.Join(o.Home, d)))
	}
	// The identity may live outside HERMES_HOME.
	if p := o.Getenv("HERMES_AGE_IDENTITY"); p != "" && filepath.Dir(p) != o.Home {
		rs = append(rs, checkOutside(o, p))
	}
	return rs
}

func rotated(audit string) []string {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(audit), "audit.*.jsonl"))
	return m
}

// checkOne checks one entry: not a symlink, the right type, private, the
// right owner; with Fix it narrows the mode and corrects the owner through
// a descriptor opened without following links.
func checkOne(o *Options, homefd int, s fileSpec) (Result, bool) {
	path := filepath.Join(o.Home, s.rel)
	name := s.rel
	var st unix.Stat_t
	var err error
	if homefd >= 0 {
		err = unix.Fstatat(homefd, s.rel, &st, unix.AT_SYMLINK_NOFOLLOW)
	} else {
		err = unix.Lstat(path, &st)
	}
	if errors.Is(err, unix.ENOENT) {
		return ok(name, "%s: absent", path), false
	}
	if err != nil {
		return fail(name, "", "%s: %v", path, err), true
	}
	kind := "regular file"
	wantType, wantMode := uint32(unix.S_IFREG), uint32(0o600)
	if s.dir {
		kind, wantType, wantMode = "directory", unix.S_IFDIR, 0o700
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		target, _ := os.Readlink(path)
		return fail(name, fmt.Sprintf("replace the link with the %s itself (e.g. cp --remove-destination %q %q); --fix does not touch symlinks", kind, target, path),
			"%s is a symlink to %s: hermes-exec does not follow symlinks in HERMES_HOME (%s; a link could point root's writes at /etc/passwd)", path, target, s.why), true
	}
	if st.Mode&unix.S_IFMT != wantType {
		return fail(name, "move it away and let hermes-exec recreate it", "%s is not a %s", path, kind), true
	}
	uid, gid := wantOwner(o)
	perm := st.Mode & 0o7777
	var probs, fixes, fixed []string
	needOwner := int(st.Uid) != uid
	needMode := perm&0o077 != 0 || (s.dir && perm&0o700 != 0o700)
	if s.rel == hermeshome.TLSCertFile {
		needMode = perm&0o022 != 0 // a certificate is public; only writes matter
		wantMode = perm &^ 0o022
	}
	if needOwner || needMode {
		var fd = -1
		if o.Fix && homefd >= 0 {
			flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK
			if s.dir {
				flags |= unix.O_DIRECTORY
			}
			fd, err = openBeneath(homefd, s.rel, flags)
			var fst unix.Stat_t
			if err != nil || unix.Fstat(fd, &fst) != nil || fst.Ino != st.Ino || fst.Dev != st.Dev {
				if fd >= 0 {
					unix.Close(fd)
				}
				fd = -1
			}
		}
		if fd >= 0 {
			defer unix.Close(fd)
		}
		if needOwner {
			p := fmt.Sprintf("owned by %s, not %s", ownerName(st.Uid), ownerName(uint32(uid)))
			if fd >= 0 && o.UID == 0 {
				if err := unix.Fchown(fd, uid, gid); err == nil {
					fixed = append(fixed, fmt.Sprintf("chown %s %s (was %s)", ownerName(uint32(uid)), path, ownerName(st.Uid)))
					p = ""
				} else {
					p += " (chown failed: " + err.Error() + ")"
				}
			}
			if p != "" {
				probs = append(probs, p)
				fixes = append(fixes, fmt.Sprintf("sudo chown %s %q (or sudo hermes-exec doctor --fix)", ownerName(uint32(uid)), path))
			}
		}
		if needMode {
			p := fmt.Sprintf("mode %04o: readable or writable by other users (%s)", perm, s.why)
			if fd >= 0 {
				if err := unix.Fchmod(fd, wantMode); err == nil {
					fixed = append(fixed, fmt.Sprintf("chmod %04o %s (was %04o)", wantMode, path, perm))
					p = ""
				} else {
					p += " (chmod failed: " + err.Error() + ")"
				}
			}
			if p != "" {
				probs = append(probs, p)
				fixes = append(fixes, fmt.Sprintf("chmod %o %q (or hermes-exec doctor --fix)", wantMode, path))
			}
		}
	}
	if len(probs) > 0 {
		r := fail(name, strings.Join(fixes, "; "), "%s: %s", path, strings.Join(probs, "; "))
		r.Fixed = strings.Join(fixed, "; ")
		return r, true
	}
	r := ok(name, "%s: %s, %04o, owned by %s", path, kind, perm&0o7777, ownerName(uint32(uid)))
	if len(fixed) > 0 {
		r.Message = fmt.Sprintf("%s: %s, now private and owned by %s", path, kind, ownerName(uint32(uid)))
		r.Fixed = strings.Join(fixed, "; ")
	}
	return r, true
}

// openBeneath opens rel (one or two components) under dirfd, following
// no symlink on the way.
func openBeneath(dirfd int, rel string, flags int) (int, error) {
	dir, base := filepath.Split(rel)
	if dir == "" {
		return unix.Openat(dirfd, base, flags, 0)
	}
	sub, err := unix.Openat(dirfd, strings.TrimSuffix(dir, "/"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(sub)
	return unix.Openat(sub, base, flags, 0)
}

// checkOutside reports on a file outside HERMES_HOME (the identity file
// moved elsewhere); it is not fixed, since its directory is not ours to
// vouch for.
func checkOutside(o *Options, path string) Result {
	name := "identity"
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return warn(name, "unset HERMES_AGE_IDENTITY or put the identity there", "$HERMES_AGE_IDENTITY is %s, which does not exist", path)
	}
	if err != nil {
		return fail(name, "", "%s: %v", path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.Mode().IsRegular() {
		return fail(name, "make it a regular file", "%s ($HERMES_AGE_IDENTITY) is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fail(name, "chmod 600 "+path, "%s ($HERMES_AGE_IDENTITY) is mode %04o: other users can read the key", path, fi.Mode().Perm())
	}
	return ok(name, "%s ($HERMES_AGE_IDENTITY): regular, %04o", path, fi.Mode().Perm())
}
