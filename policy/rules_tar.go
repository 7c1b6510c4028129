package policy

import "strings"

func init() { register(patchRule, "patch") }

// patchRule: the files a patch creates or changes are named in the diff,
// not on the command line (`patch -d ~ -p1 < x.diff` may create
// .hermes/config.yaml): run in (-d) a directory that holds the Hermes home
// or hermes-exec's programs it is judged as an extraction there. A file
// named on the line (patch FILE < x.diff) is the only one it writes.
func patchRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "bcCeEfnNRstuZ", shortArg: "BdDFgiopQrVxYz", long: []string{"backup", "binary", "context", "dry-run", "ed", "force", "forward", "normal", "posix", "quiet", "reverse", "silent", "unified", "verbose", "remove-empty-files", "set-time", "set-utc", "batch", "follow-symlinks", "merge"}, longArg: []string{"directory", "input", "strip", "output", "prefix", "suffix", "reject-file", "fuzz", "ifdef", "basename-prefix", "get", "quoting-style", "version-control", "backup-if-mismatch", "no-backup-if-mismatch", "read-only", "reject-format"}})
	if p.has("--dry-run") || len(p.operands) > 0 {
		return
	}
	dir := arg{s: ".", static: true}
	if d, ok := p.value("-d", "--directory"); ok {
		dir = d
	}
	extractsOverHermes(c, []arg{dir}, "patch")
}

// tar's paths. tar -C DIR (--directory DIR, --directory=DIR, -CDIR, a C
// in a bundle: -xC DIR, xfC a.tar DIR) changes tar's own directory for
// the names after it, as `cd DIR && tar ...` would, and each -C is taken
// relative to the one before. So the names it archives (reads) or
// extracts (writes) are judged as DIR/NAME, and an extraction into DIR is
// one into DIR. The archive itself (-f) is opened before any -C, in the
// directory tar started in.

// tarShortArg are GNU tar's (and bsdtar's) short options that take an
// argument: in a bundle, the rest of the bundle or else the next word; in
// the old form (a first word without a dash, `tar xfC a.tar DIR`), the
// next words in the order of the letters.
const tarShortArg = "bCfFgHIKLNTVX"

// tarLongArg are long options that take an argument (as --opt=VAL or
// --opt VAL). GNU tar also accepts any unambiguous prefix of a long
// option: tarLong matches those.
var tarLongArg = []string{
	"--after-date", "--blocking-factor", "--cd", "--checkpoint-action", "--directory", "--exclude", "--exclude-from",
	"--exclude-tag", "--exclude-tag-all", "--exclude-tag-under", "--file", "--files-from", "--format", "--group",
	"--group-map", "--index-file", "--info-script", "--label", "--listed-incremental", "--mode", "--mtime",
	"--new-volume-script", "--newer", "--newer-mtime", "--owner", "--owner-map", "--pax-option", "--quoting-style",
	"--record-size", "--rmt-command", "--rsh-command", "--starting-file", "--strip-components", "--suffix",
	"--tape-length", "--to-command", "--transform", "--use-compress-program", "--volno-file", "--xform",
}

// tarLong is the long option s names (s itself, or the one long option
// with arguments that s abbreviates), and whether it takes an argument.
func tarLong(s string) (string, bool) {
	match := ""
	for _, o := range tarLongArg {
		if o == s {
			return o, true
		}
		if len(s) >= len("--dir") && strings.HasPrefix(o, s) {
			if match != "" {
				return s, false // ambiguous: tar refuses it
			}
			match = o
		}
	}
	return match, match != ""
}

// tarPlan is what a tar command line reads, writes and where.
type tarPlan struct {
	extract, create bool // -x; -c, -r, -u (write the archive)
	stdout          bool // -O, --to-stdout: extracts onto stdout, no files
	absolute        bool // -P, --absolute-names: names keep their leading /
	archives        []arg
	dirs            []arg // each -C, as a path from tar's start
	// members are the names given, each joined to the -C in effect
	// before it (index into the command's arguments: operandAt).
	members   []arg
	operandAt []int
	// cdWords are the words that hold the -C options; cdTrim, a bundle
	// with the C cut off (-xC DIR: -x).
	cdWords map[int]bool
	cdTrim  map[int]string
}

// parseTar reads tar's arguments.
func parseTar(args []arg) tarPlan {
	t := tarPlan{cdWords: map[int]bool{}, cdTrim: map[int]string{}}
	var dir *arg // the directory in effect: nil is where tar started
	chdir := func(d arg) {
		if dir != nil && dir.static && d.static && !strings.HasPrefix(d.s, "/") && !strings.HasPrefix(d.s, "~") {
			j := *dir
			j.s = strings.TrimSuffix(dir.s, "/") + "/" + d.s
			d = j
		} else if dir != nil && !dir.static {
			d = *dir // below an unknown directory: unknown
		}
		t.dirs = append(t.dirs, d)
		dir = &t.dirs[len(t.dirs)-1]
	}
	value := func(opt byte, v arg) {
		switch opt {
		case 'C':
			chdir(v)
		case 'f':
			t.archives = append(t.archives, v)
		}
	}
	mode := func(letter byte) {
		switch letter {
		case 'x':
			t.extract = true
		case 'c', 'r', 'u':
			t.create = true
		case 'O':
			t.stdout = true
		case 'P':
			t.absolute = true
		}
	}
	word := func(a arg, s string) arg {
		a.s = s
		return a
	}
	operands := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		s := a.s
		switch {
		case !a.static && !operands && strings.HasPrefix(s, "-"):
			continue // an option tar is given at run time: not ours to read
		case operands || !strings.HasPrefix(s, "-") && i > 0 || s == "-":
			t.addMember(a, i, dir)
		case s == "--":
			operands = true
		case i == 0 && !strings.HasPrefix(s, "-"):
			// Old form: letters, their arguments following in order.
			next := i + 1
			for k := 0; k < len(s); k++ {
				mode(s[k])
				if strings.IndexByte(tarShortArg, s[k]) >= 0 && next < len(args) {
					value(s[k], args[next])
					if s[k] == 'C' {
						t.cdWords[next] = true
						t.cdTrim[i] = strings.ReplaceAll(s, "C", "")
					}
					next++
				}
			}
			i = next - 1
		case strings.HasPrefix(s, "--"):
			name, val, hasVal := strings.Cut(s, "=")
			long, takes := tarLong(name)
			switch name {
			case "--extract", "--get":
				t.extract = true
			case "--create", "--append", "--update", "--concatenate", "--catenate":
				t.create = true
			case "--to-stdout":
				t.stdout = true
			}
			if len(name) >= len("--ab") && strings.HasPrefix("--absolute-names", name) {
				t.absolute = true
			}
			if !takes {
				continue
			}
			var v arg
			at := i
			if hasVal {
				v = word(a, val)
			} else if i+1 < len(args) {
				i++
				v = args[i]
			} else {
				continue
			}
			switch long {
			case "--directory", "--cd":
				chdir(v)
				t.cdWords[at], t.cdWords[i] = true, true
			case "--file":
				t.archives = append(t.archives, v)
			}
		default:
			// A bundle: -xzf a.tar, -CDIR, -xC DIR.
			for k := 1; k < len(s); k++ {
				mode(s[k])
				if strings.IndexByte(tarShortArg, s[k]) < 0 {
					continue
				}
				if s[k] == 'C' {
					t.cdTrim[i] = s[:k]
					if k == 1 {
						t.cdWords[i] = true
					}
				}
				if k+1 < len(s) {
					value(s[k], word(a, s[k+1:]))
				} else if i+1 < len(args) {
					i++
					value(s[k], args[i])
					if s[k] == 'C' {
						t.cdWords[i] = true
					}
				}
				break
			}
		}
	}
	return t
}

// addMember records a name given to tar, joined to the directory tar is
// in when it reaches it.
func (t *tarPlan) addMember(a arg, i int, dir *arg) {
	m := a
	if dir != nil && a.static && !strings.HasPrefix(a.s, "/") {
		if dir.static {
			m.s = strings.TrimSuffix(dir.s, "/") + "/" + a.s
		} else {
			m.static = false // below a directory not known before it runs
		}
	}
	t.members = append(t.members, m)
	t.operandAt = append(t.operandAt, i)
}

// tarWrites checks where tar writes: the directories it extracts into,
// the names it extracts, the archive it creates.
func tarWrites(c *cmd) {
	t := parseTar(c.args())
	if t.extract {
		for _, d := range t.dirs {
			system := false
			for _, p := range c.w.paths(d) {
				if p == "/" || classifyPath(p) == riskSystem {
					system = true
				}
			}
			if system {
				c.emit(RuleSysconfigWrite, "tar extracts files over a system directory ("+d.s+")")
				break
			}
			writeTargets(c, []arg{d}, "tar -C")
		}
		writeTargets(c, t.members, "tar extracts")
		// The whole archive (no names given), or a name that is a
		// directory above the Hermes home: what lands there is not on
		// the command line, and may be the Hermes home's config or
		// audit log.
		over := t.members
		if len(over) == 0 {
			over = t.dirs
			if len(over) == 0 {
				over = []arg{{s: ".", static: true}}
			}
		}
		if !t.stdout {
			extractsOverHermes(c, over, "tar")
			if t.absolute {
				// The archive's names, not on the command line, are
				// written where they say, from any directory: one may
				// be $HERMES_HOME/config.yaml.
				c.emit(RuleSysconfigWrite, "tar -P extracts the archive's absolute names wherever they point: one may overwrite the Hermes configuration or audit log, or a system file")
			}
		}
	}
	if t.create {
		var out []arg
		for _, a := range t.archives {
			if !a.is("-") {
				out = append(out, a)
			}
		}
		writeTargets(c, out, "tar -f")
	}
}

// tarView is c as the rules about what a command reads see it: each name
// given to tar as DIR/NAME, and no -C (DIR itself is not read; it is
// judged as a destination by tarWrites).
func tarView(c *cmd) *cmd {
	t := parseTar(c.args())
	if len(t.dirs) == 0 {
		return c
	}
	args := append([]arg(nil), c.args()...)
	for k, i := range t.operandAt {
		args[i] = t.members[k]
	}
	argv := []arg{c.argv[0]}
	for i, a := range args {
		switch trim, ok := t.cdTrim[i]; {
		case t.cdWords[i]:
		case ok:
			a.s = trim
			argv = append(argv, a)
		default:
			argv = append(argv, a)
		}
	}
	v := *c
	v.argv = argv
	return &v
}

// tarCreates reports a tar command line that writes an archive, reading
// the files it names.
func tarCreates(args []arg) bool { return parseTar(args).create }

// extractsOverHermes asks for an extraction into a directory that holds
// a Hermes home (the home itself is refused by writeTargets) or
// hermes-exec's own programs: the archive's names are not on the command
// line, and one of them may be .hermes/config.yaml or the shell, as when a
// tree is copied over the directory.
func extractsOverHermes(c *cmd, dirs []arg, how string) {
	k := c.w.ctx()
	for _, d := range dirs {
		for _, p := range c.w.paths(d) {
			// A relative one (its working directory is not sensitive,
			// or paths would have made it absolute) is judged where it
			// really is when the context gives it; "." alone is no
			// directory above anything.
			if p = k.absolute(p); p == "" {
				continue
			}
			if k.aboveHermes(p) {
				c.emit(RuleSysconfigWrite, how+" extracts an archive over a directory that holds the Hermes home ("+d.s+"): its names may overwrite the Hermes configuration or audit log")
				return
			}
			if len(k.selfNamesIn(p)) > 0 {
				c.emit(RuleSysconfigWrite, how+" extracts an archive over the directory of hermes-exec's own programs ("+d.s+"): its names may replace them")
				return
			}
		}
	}
}
