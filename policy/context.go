package policy

import (
	"hermes-exec/internal/hermeshome"
	"path"
	"sort"
	"strings"
)

// Context is what the classifier knows about the machine it decides for,
// handed in as data (the way mvdan.cc/sh's expand.Config takes an Environ)
// so that the package stays pure: the caller looks these up, the
// classifier only reads them. The zero Context is valid: the home is then
// known only as ~ and $HOME, and the Hermes home only as $HERMES_HOME and
// ~/.hermes.
type Context struct {
	// Home is the caller's home directory from the user database (never
	// $HOME, which the agent controls): a literal path inside it is judged
	// as the same path written with ~.
	Home string
	// Homes maps every user name in the user database to its home, for
	// ~name and for deletes in other users' homes.
	Homes map[string]string
	// HermesHome is the HERMES_HOME in force; DefaultHermesHome is the one
	// the caller has without the variable (~/.hermes). Writes into either
	// are self-disabling and denied.
	HermesHome        string
	DefaultHermesHome string
	// Cwd is the directory the command starts in. Relative operands stay
	// relative ("rm -rf ." is judged as the whole working directory), but
	// when Cwd is itself sensitive (the home, /, a top-level directory, the
	// Hermes home) they are judged where they really point.
	Cwd string
	// SelfPrograms are the absolute paths of hermes-exec's own programs
	// (the shell, hermes-exec-admin, the backends' helpers, in the
	// directory the running one is installed in) and of the links the
	// shell is started through (a `bash` first on PATH that is
	// hermes-exec). Writing, moving or deleting one replaces or removes
	// the agent's own shell: self-disabling, denied like a write into
	// the Hermes home.
	SelfPrograms []string
}

// pathCtx is a Context prepared for lookups.
type pathCtx struct {
	home, hermes, defHermes string
	// others are the other users' homes, longest first, that hold user
	// data (not /, not system trees: service accounts' homes such as
	// /var/lib/postgresql or /nonexistent are judged as what they are).
	others []string
	homes  map[string]string
	cwd    string // canonical initial working directory, "" when relative
	absCwd string // canonical Cwd, whatever it is
	known  bool   // the caller's home is known
	// self are SelfPrograms' canonical paths; selfDirs, each one's
	// directory and the names in it.
	self     []string
	selfDirs map[string][]string
}

func newPathCtx(c Context) *pathCtx {
	k := &pathCtx{homes: c.Homes}
	clean := func(p string) string {
		if p == "" || !strings.HasPrefix(p, "/") {
			return ""
		}
		return path.Clean(p)
	}
	k.home = clean(c.Home)
	if k.home == "/" {
		k.home = ""
	}
	k.known = k.home != ""
	k.hermes, k.defHermes = clean(c.HermesHome), clean(c.DefaultHermesHome)
	for _, h := range c.Homes {
		h = clean(h)
		if h == "" || h == k.home || h == "/" {
			continue
		}
		if r := classifyPath(h); r == riskSystem && !strings.HasPrefix(h, "/home/") || r == riskRoot {
			continue
		}
		k.others = append(k.others, h)
	}
	sort.Slice(k.others, func(i, j int) bool { return len(k.others[i]) > len(k.others[j]) })
	for _, p := range c.SelfPrograms {
		if p = clean(p); p != "" && p != "/" {
			p = k.canon(p)
			if k.selfDirs == nil {
				k.selfDirs = map[string][]string{}
			}
			d := path.Dir(p)
			k.self = append(k.self, p)
			k.selfDirs[d] = append(k.selfDirs[d], path.Base(p))
		}
	}
	if cwd := clean(c.Cwd); cwd != "" {
		cc := k.canon(cwd)
		k.absCwd = cc
		if cc == homeDir || inHermesHome(cc) || len(pathComponents(cc)) <= 1 {
			k.cwd = cc
		}
	}
	return k
}

func under(p, dir string) bool {
	// Not HasPrefix(p, dir+"/"): that builds a string on every call, and
	// this is asked of every path of every command.
	return strings.HasPrefix(p, dir) && (len(p) == len(dir) || p[len(dir)] == '/')
}

// globUnder is under for a path whose components may be globs, which the
// shell expands (in redirections too): it returns what follows dir in p
// ("" or "/..."), and ok when every component of dir is matched by p's
// component at the same place. A literal path is just under.
func globUnder(p, dir string) (rest string, ok bool) {
	if !hasGlob(p) {
		if under(p, dir) {
			return p[len(dir):], true
		}
		return "", false
	}
	pc, dc := pathComponents(p), pathComponents(dir)
	if len(pc) < len(dc) {
		return "", false
	}
	for i, d := range dc {
		if !componentMatches(pc[i], d) {
			return "", false
		}
	}
	if len(pc) == len(dc) {
		return "", true
	}
	return "/" + strings.Join(pc[len(dc):], "/"), true
}

// globAbove reports a path (its components maybe globs) that names a
// directory dir lies in: "/", "/home", "~" for ~/.hermes.
func globAbove(p, dir string) bool {
	pc, dc := pathComponents(p), pathComponents(dir)
	if len(pc) >= len(dc) {
		return false
	}
	for i, c := range pc {
		if !componentMatches(c, dc[i]) {
			return false
		}
	}
	return true
}

// componentMatches reports whether the path component c, a literal or a
// glob, can name the directory entry name. It errs towards a match: a
// pattern it cannot read as Go's path.Match does (bash's extended globs,
// a malformed class) matches, and `[!...]` is read as bash reads it. As
// in bash by default, a pattern that does not start with a dot names no
// dot-file (with dotglob on, `~/*` also names ~/.hermes: a delete there
// asks anyway, as a delete in the home).
func componentMatches(c, name string) bool {
	if !hasGlob(c) && !extGlob(c) {
		return c == name
	}
	if strings.HasPrefix(name, ".") && !strings.HasPrefix(c, ".") {
		return false
	}
	if extGlob(c) {
		return true
	}
	ok, err := path.Match(strings.ReplaceAll(c, "[!", "[^"), name)
	return ok || err != nil
}

// extGlob reports one of bash's extended patterns: ?(..) *(..) +(..)
// @(..) !(..).
func extGlob(c string) bool {
	for _, op := range [...]string{"?(", "*(", "+(", "@(", "!("} {
		if strings.Contains(c, op) {
			return true
		}
	}
	return false
}

// canon maps a cleaned absolute path onto the classifier's names: the
// Hermes homes onto hermesHome, the caller's home onto homeDir. Other
// paths are returned as they are.
func (k *pathCtx) canon(p string) string {
	if k == nil || !strings.HasPrefix(p, "/") {
		return p
	}
	for _, h := range [...]string{k.hermes, k.defHermes} {
		if rest, ok := globUnder(p, h); h != "" && ok {
			return hermesHome + rest
		}
	}
	if rest, ok := globUnder(p, k.home); k.home != "" && ok {
		return homeDir + rest
	}
	return p
}

// aboveHermes reports a directory that holds a Hermes home (the
// caller's, as configured or by default, or another user's ~/.hermes):
// a recursive reader given it reads the agent's secrets too.
func (k *pathCtx) aboveHermes(p string) bool {
	if p == "/" || globAbove(p, hermesHome) || globAbove(p, "/root/"+hermeshome.DirName) {
		return true
	}
	if pc := pathComponents(p); len(pc) == 2 && componentMatches(pc[0], "home") {
		return true // /home/NAME holds /home/NAME/.hermes
	}
	if k == nil {
		return false
	}
	for _, h := range [...]string{k.hermes, k.defHermes} {
		if h != "" && globAbove(p, h) {
			return true
		}
	}
	return false
}

// otherHome reports a path inside another user's home (not the home
// directory itself, which classifyPath already protects). It needs the
// caller's home: without it every /home/NAME could be the caller's own.
func (k *pathCtx) otherHome(p string) bool {
	if k == nil || !k.known || !strings.HasPrefix(p, "/") || under(p, homeDir) ||
		k.absCwd != "" && under(p, k.absCwd) {
		return false
	}
	for _, h := range k.others {
		if under(p, h) && p != h {
			return true
		}
	}
	comps := pathComponents(p)
	return len(comps) >= 3 && (comps[0] == "home" || comps[0] == "Users" && comps[1] != "Shared") && !strings.HasPrefix(comps[1], "~")
}

// userHome is ~name's home: the user database's when the context has it.
func (k *pathCtx) userHome(name string) (string, bool) {
	if k != nil {
		if h, ok := k.homes[name]; ok && strings.HasPrefix(h, "/") {
			return k.canon(path.Clean(h)), true
		}
	}
	if name == "root" {
		return k.canon("/root"), true
	}
	return k.canon("/home/" + name), true
}

// ctx is the walker's prepared context (nil for user-rule compilation).
func (w *walker) ctx() *pathCtx {
	if w.c == nil {
		return nil
	}
	return w.c.ctx
}

// pathRisk is classifyPath with the context: a path inside another
// user's home is theirs to delete, not ours.
func (w *walker) pathRisk(p string) pathRisk {
	r := classifyPath(p)
	if r == riskNone && w.ctx().otherHome(p) {
		return riskOtherHome
	}
	return r
}

// absolute is p (a canonical path from walker.paths) as an absolute path:
// a relative one is joined to the starting working directory when the
// context gives it, else "".
func (k *pathCtx) absolute(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	if k == nil || k.absCwd == "" {
		return ""
	}
	return k.canon(cleanPath(p, k.absCwd))
}

// selfProgram reports a path (its components maybe globs) that is one of
// hermes-exec's own programs, or, with holder, a directory one of them is
// in (deleting or moving it away removes the program too).
func (k *pathCtx) selfProgram(p string, holder bool) (string, bool) {
	if k == nil || len(k.self) == 0 {
		return "", false
	}
	if p = k.absolute(p); p == "" {
		return "", false
	}
	for _, s := range k.self {
		if globSame(p, s) || holder && globAbove(p, s) {
			return s, true
		}
	}
	return "", false
}

// globSame reports that p, whose components may be globs, names the
// literal path s.
func globSame(p, s string) bool {
	rest, ok := globUnder(p, s)
	return ok && rest == ""
}

// selfNamesIn are the names of hermes-exec's programs in directory p.
func (k *pathCtx) selfNamesIn(p string) []string {
	if k == nil || len(k.selfDirs) == 0 {
		return nil
	}
	if p = k.absolute(p); p == "" {
		return nil
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return k.selfDirs[p]
}
