package policy

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Destroying resources through service and infrastructure CLIs. There are
// far more such tools than rules could name, and their subcommands say
// what they do in a shared vocabulary (delete, destroy, purge, revoke ...),
// so one general rule reads those words for any program without a rule of
// its own; the most used CLIs get rules that know their exceptions.

func init() {
	register(packageRule, "apt", "apt-get", "aptitude", "dnf", "yum", "microdnf", "zypper", "pacman", "yay", "paru",
		"apk", "dpkg", "rpm", "snap", "flatpak", "brew", "port", "pkg", "emerge", "xbps-remove", "nix-env", "opkg",
		"winget", "choco", "scoop")
	register(forgeRule, "gh", "glab", "hub", "tea")
	register(secretsRule, "vault", "op", "doppler", "infisical", "bw", "pass", "gopass", "aws-vault", "chamber", "sops")
	register(backupRule, "restic", "borg", "borgmatic", "kopia", "duplicity", "velero", "tarsnap", "rustic")
	register(httpMethodRule, "curl", "wget", "wget2", "http", "https", "xh", "curlie")
}

// destroyVerbs are the words with which CLIs name destructive subcommands
// and options. A subcommand word is split on - _ and : (delete-job,
// delete_vhost, apps:destroy), and any part that is one of these counts.
func destroyVerbs(s string) bool {
	switch s {
	case "delete", "destroy", "purge", "prune", "drop", "wipe", "erase",
		"remove", "rm", "del", "revoke", "disable", "forget", "flush",
		"truncate", "uninstall", "unpublish", "yank", "terminate", "deregister",
		"unregister", "undeploy", "teardown", "obliterate", "nuke", "expunge",
		"deprovision", "decommission", "reset", "undefine", "rmdir", "rmdirs",
		"deletefile", "rb", "seal", "unmerge":
		return true
	}
	return false
}

// destroyOptions are option spellings that make an otherwise ordinary
// command destructive (kafka-topics --delete, dpkg --purge).
func destroyOptionWords(s string) bool {
	switch s {
	case "delete", "purge", "drop", "wipe",
		"destroy", "remove", "erase", "truncate", "unmerge", "uninstall":
		return true
	}
	return false
}

// destroyWord reports the destroy verb in a subcommand word, if any. Words
// that are not plain identifiers (paths, file names, URLs, quoted text)
// are not subcommands.
func destroyWord(s string) (string, bool) {
	if s == "" || len(s) > 48 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return "", false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
				continue
			}
			if c >= 'A' && c <= 'Z' {
				// CamelCase APIs (DeleteInstance): a capital starts a word.
				if i > start {
					if tok := strings.ToLower(s[start:i]); destroyVerbs(tok) {
						return tok, true
					}
				}
				start = i
				continue
			}
			if c != '-' && c != '_' && c != ':' {
				return "", false
			}
		}
		tok := s[start:i]
		if start < len(s) && s[start] >= 'A' && s[start] <= 'Z' {
			tok = strings.ToLower(tok)
		}
		if destroyVerbs(tok) {
			// "flush-caches" and "purge-cache" drop caches, not data.
			rest := s[i:]
			if strings.HasPrefix(rest, "-cache") || strings.HasPrefix(rest, "_cache") || strings.HasPrefix(rest, ":cache") {
				return "", false
			}
			return tok, true
		}
		start = i + 1
	}
	return "", false
}

// destroyOption reports --delete, --delete-config, --purge, --drop=... and
// single-dash -delete spellings. --no-delete and friends are the opposite.
func destroyOption(s string) (string, bool) {
	if !strings.HasPrefix(s, "-") || strings.HasPrefix(s, "--no-") {
		return "", false
	}
	name := strings.TrimLeft(s, "-")
	name, _, _ = strings.Cut(name, "=")
	first, _, _ := strings.Cut(name, "-")
	if destroyOptionWords(first) || strings.HasPrefix(name, "reset-offsets") || strings.HasPrefix(name, "force-delete") {
		return name, true
	}
	return "", false
}

// dataPrograms take words that are data (text to print, patterns to find,
// names to look up), never subcommands.
func dataPrograms(s string) bool {
	switch s {
	case "echo", "printf", "print", "say", "figlet", "cowsay", "toilet", "banner",
		"notify-send", "logger", "espeak", "wall", "write", "grep", "egrep",
		"fgrep", "rg", "ag", "ack", "man", "info", "help", "apropos",
		"whatis", "tldr", "which", "whereis", "type", "command", "hash",
		"ls", "cat", "bat", "less", "more", "head", "tail", "wc",
		"file", "stat", "touch", "mkdir", "test", "[", "expr", "seq",
		"basename", "dirname", "realpath", "readlink", "sort", "uniq", "cut",
		"tr", "column", "fold", "fmt", "jq", "yq", "dig", "host",
		"nslookup", "ping", "traceroute", "open", "xdg-open", "code", "subl",
		"vim", "vi", "nvim", "nano", "emacs", "read", "true", "false",
		"sleep", "watch", "time", "xdotool", "awk", "sed", "diff", "cmp",
		"tee", "export", "declare", "local", "set", "unset", "alias",
		"history", "getent", "id", "finger", "locate", "mlocate", "fzf",
		"complete", "compgen", "tput", "stty", "tset", "zcat", "strings", "hexdump", "xxd", "od":
		return true
	}
	return false
}

// taskRunners take target or script names, which are the project's own
// words (make clean, just drop-db): what they run is in the project.
func taskRunners(s string) bool {
	switch s {
	case "make", "gmake", "just", "task", "ninja", "mage", "invoke", "nox",
		"tox", "gradle", "gradlew", "mvn", "mvnw", "ant", "sbt", "bazel",
		"bazelisk", "buck", "pants", "cmake", "meson", "scons", "xcodebuild",
		"fastlane", "earthly", "turbo", "nx", "lerna":
		return true
	}
	return false
}

// projectPackageManagers change the current project or the user's own
// tool installs: their remove/uninstall/prune are everyday. Publishing
// verbs (unpublish, yank) reach the registry and still count.
func projectPackageManagers(s string) bool {
	switch s {
	case "npm", "npx", "yarn", "pnpm", "bun", "pip", "pip3", "pipx",
		"uv", "poetry", "pipenv", "pdm", "hatch", "conda", "mamba",
		"micromamba", "cargo", "gem", "bundle", "bundler", "composer", "go",
		"dotnet", "mix", "rebar3", "nuget", "nimble", "opam", "cabal",
		"stack", "rustup", "nvm", "fnm", "volta", "n", "pyenv", "rbenv",
		"goenv", "jenv", "asdf", "mise", "rtx", "proto", "sdk",
		"corepack", "pre-commit", "husky", "jupyter", "code-insiders", "hg",
		"krew", "flutter", "dart", "pub", "swift", "pod", "carthage",
		"elm", "lein", "vcpkg", "conan", "direnv", "chezmoi":
		return true
	}
	return false
}

// generalToo have rules for one concern (bq's SQL) but subcommands the
// general rule still reads (bq rm).
func generalToo(s string) bool {
	switch s {
	case "bq":
		return true
	}
	return false
}

// destroyRule is the general rule: a program without a rule of its own
// whose subcommand (one of its first three non-option words) or an option
// says it destroys something.
func destroyRule(c *cmd) {
	p := c.w.prog(c.name)
	if len(p.checks) > 0 && !p.generalToo || len(c.argv) < 2 && !strings.ContainsAny(c.name, "-_") ||
		p.data || p.task || c.w.funcs[c.name] {
		return
	}
	pkgMgr := projectPackageManagers(c.name)
	if !pkgMgr {
		if v, ok := destroyWord(c.name); ok && strings.ContainsAny(c.name, "-_") {
			// kafka-delete-records, pg-drop-replica: the program is the verb.
			c.emit(RuleServiceDestroy, c.name+" is a "+v+" command of a service tool")
			return
		}
	}
	positional := 0
	for i, a := range c.args() {
		if pkgMgr && i == 0 && a.is("owner", "owners", "dist-tag", "access", "team", "org", "token") {
			// Registry operations: removing an owner or a tag is not about
			// this project.
			pkgMgr = false
		}
		if !a.static {
			positional++
			continue
		}
		if a.s == "--" {
			return
		}
		if strings.HasPrefix(a.s, "-") {
			if pkgMgr {
				continue
			}
			if o, ok := destroyOption(a.s); ok {
				c.emit(RuleServiceDestroy, c.name+" --"+o+" deletes or purges what it names")
				return
			}
			continue
		}
		positional++
		if positional > 3 {
			continue
		}
		if v, ok := destroyWord(a.s); ok {
			if pkgMgr && v != "unpublish" && v != "yank" {
				continue
			}
			c.emit(RuleServiceDestroy, c.name+" "+a.s+": a "+v+" subcommand, which removes resources or data")
			return
		}
	}
}

// subcommandWords are the first non-option static words (the subcommand
// path of a CLI such as gh or vault), skipping option values it knows of.
func subcommandWords(args []arg, max int, valueOpts ...string) []string {
	var out []string
	for i := 0; i < len(args) && len(out) < max; i++ {
		a := args[i]
		if !a.static {
			out = append(out, "")
			continue
		}
		if a.s == "--" {
			break
		}
		if strings.HasPrefix(a.s, "-") {
			if !strings.Contains(a.s, "=") && contains(valueOpts, a.s) {
				i++
			}
			continue
		}
		out = append(out, a.s)
	}
	return out
}

// packageRule: removing system packages (apt remove, dnf erase, pacman -R,
// dpkg --purge, rpm -e ...) can take the system's own tools with it.
func packageRule(c *cmd) {
	args := c.args()
	hit := ""
	// apt remove, dnf erase, snap remove, brew uninstall: the first word
	// is the subcommand, the rest are package names.
	if words := subcommandWords(args, 1, "-o", "-c", "--config", "-t", "--root", "--installroot"); len(words) == 1 &&
		isOneOf(words[0], "remove", "purge", "erase", "uninstall", "del", "delete", "rm") {
		hit = words[0]
	}
	// dpkg -r, rpm -e, pacman -R..., emerge -C: options are the operation.
	optionBased := isOneOf(c.name, "dpkg", "rpm", "pacman", "yay", "paru", "emerge", "nix-env", "opkg", "xbps-remove")
	for _, a := range args {
		if hit != "" || !optionBased {
			break
		}
		if !a.static {
			continue
		}
		switch {
		case a.is("--remove", "--purge", "--erase", "--unmerge", "--uninstall", "--depclean"):
			hit = a.s
		case c.name == "dpkg" && a.is("-r", "-P"), c.name == "rpm" && a.is("-e"),
			c.name == "emerge" && a.is("-C", "-c"), c.name == "nix-env" && a.is("-e"):
			hit = a.s
		case (c.name == "pacman" || c.name == "yay" || c.name == "paru") && strings.HasPrefix(a.s, "-R"):
			hit = a.s
		}
	}
	if c.name == "xbps-remove" {
		hit = "(the program)"
	}
	if hit != "" {
		c.emit(RulePackageRemove, c.name+" "+hit+" removes installed system packages")
	}
}

// forgeRule: gh, glab and friends delete repositories, releases, secrets,
// keys and more; `gh api -X DELETE` is an HTTP delete. Their own local
// settings (aliases, extensions, config, auth) are not resources.
func forgeRule(c *cmd) {
	args := c.args()
	words := subcommandWords(args, 3, "-R", "--repo", "-X", "--method", "--hostname", "-H", "--header", "-f", "-F", "--field", "--raw-field")
	if len(words) == 0 {
		return
	}
	if words[0] == "api" {
		httpMethodRule(c)
		return
	}
	if isOneOf(words[0], "alias", "extension", "ext", "config", "auth", "completion", "help") {
		return
	}
	for _, w := range words[1:] {
		if v, ok := destroyWord(w); ok && v != "reset" {
			c.emit(RuleForgeDestroy, c.name+" "+words[0]+" "+w+" deletes "+words[0]+" data on the forge")
			return
		}
	}
	if words[0] == "repo" && len(words) > 1 && words[1] == "edit" {
		for _, a := range args {
			if a.static && (a.s == "--visibility=public" || a.s == "public") {
				c.emit(RuleForgeDestroy, c.name+" repo edit --visibility public publishes a repository")
				return
			}
		}
	}
}

// secretsRule: vault, 1Password, Doppler ...: deleting, destroying or
// revoking secrets, tokens and engines, or sealing the vault.
func secretsRule(c *cmd) {
	words := subcommandWords(c.args(), 4, "-address", "-namespace", "--vault", "--account", "-p", "--project", "-c", "--config", "--env")
	for _, w := range words {
		if v, ok := destroyWord(w); ok && v != "reset" || w == "destroy" {
			c.emit(RuleSecretsDestroy, c.name+" "+w+" deletes, destroys or revokes secrets")
			return
		}
	}
}

// backupRule: restic forget/prune, borg delete/prune, velero backup delete
// ...: deleting backups removes the way back from every other mistake.
func backupRule(c *cmd) {
	args := c.args()
	words := subcommandWords(args, 3, "-r", "--repo", "--repository", "-p", "--password-file", "-n", "--namespace", "--kubeconfig")
	for _, w := range words {
		if v, ok := destroyWord(w); ok || isOneOf(w, "compact", "cleanup", "remove-older-than", "remove-all-but-n-full", "nuke") {
			if !ok {
				v = w
			}
			c.emit(RuleBackupDestroy, c.name+" "+w+" deletes backups ("+v+")")
			return
		}
	}
	for _, a := range args {
		if a.is("--prune", "--delete", "-d") && (c.name == "restic" || c.name == "rustic" || c.name == "tarsnap" && a.is("-d")) {
			c.emit(RuleBackupDestroy, c.name+" "+a.s+" deletes backup data")
			return
		}
	}
}

// httpMethodRule: an HTTP DELETE (or an Elasticsearch/OpenSearch
// _delete_by_query) removes data behind an API, wherever it points.
func httpMethodRule(c *cmd) {
	args := c.args()
	method := ""
	for i, a := range args {
		if !a.static {
			continue
		}
		s := a.s
		switch {
		case s == "-X" || s == "--request" || s == "--method" || s == "-m" && c.name == "gh":
			if i+1 < len(args) && args[i+1].static {
				method = args[i+1].s
			}
		case strings.HasPrefix(s, "-X") && len(s) > 2 && c.name != "gh":
			method = s[2:]
		case c.name == "curl" && len(s) > 2 && s[0] == '-' && s[1] != '-' && strings.Contains(s, "X"):
			// A bundle such as -sX DELETE or -sXDELETE.
			_, rest, _ := strings.Cut(s, "X")
			if rest != "" {
				method = rest
			} else if i+1 < len(args) && args[i+1].static {
				method = args[i+1].s
			}
		case strings.HasPrefix(s, "--request=") || strings.HasPrefix(s, "--method="):
			_, method, _ = strings.Cut(s, "=")
		}
		if strings.Contains(s, "_delete_by_query") {
			c.emit(RuleHTTPDelete, c.name+" calls _delete_by_query, which deletes every document the query matches")
			return
		}
		if m := graphqlDestroy(s); m != "" {
			c.emit(RuleHTTPDelete, c.name+" sends a GraphQL mutation "+m+", which deletes data behind the API")
			return
		}
	}
	if c.name == "http" || c.name == "https" || c.name == "xh" || c.name == "curlie" {
		for _, a := range args {
			if a.static && !strings.HasPrefix(a.s, "-") {
				if strings.EqualFold(a.s, "DELETE") {
					method = "DELETE"
				}
				break
			}
		}
	}
	if strings.EqualFold(method, "DELETE") {
		c.emit(RuleHTTPDelete, c.name+" sends an HTTP DELETE, which removes what the URL names")
	}
}

// graphqlDestroy names a GraphQL mutation field that destroys
// (deleteAllUsers, removeProject, purge_cache ...) in a request body.
func graphqlDestroy(s string) string {
	i := strings.Index(s, "mutation")
	if i < 0 {
		return ""
	}
	body := s[i+len("mutation"):]
	for _, f := range strings.FieldsFunc(body, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
	}) {
		if v, ok := destroyWord(f); ok && v != "reset" && v != "disable" {
			return f
		}
	}
	return ""
}

// metadataHosts are cloud instance-metadata endpoints: what they serve
// includes the machine's cloud credentials.
var metadataHosts = []string{"169.254.169.254", "169.254.170.2", "metadata.google.internal", "fd00:ec2::254",
	"100.100.100.200", "metadata.azure.internal", "169.254.169.123",
	// 169.254.169.254 spelled as one number, in hex, octal or IPv4-mapped
	"2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "0xa9.0xfe.0xa9.0xfe", "::ffff:a9fe:a9fe", "a9fe:a9fe",
	"://instance-data/", "://instance-data.ec2.internal"}

// metadataEnv are variables that hold a container's credential endpoint.
var metadataEnv = []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"ECS_CONTAINER_METADATA_URI", "ECS_CONTAINER_METADATA_URI_V4", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"}

// metadataAccess reports a word that reaches an instance-metadata
// endpoint (by address, by name, or through the variables that hold it).
func metadataAccess(a arg) bool {
	s := a.s
	if len(s) >= 8 && (strings.Contains(s, "169.254.1") || strings.Contains(s, "metadata") || strings.Contains(s, "fd00:ec2") ||
		strings.Contains(s, "100.100.100.200") || strings.Contains(s, "instance-data") || strings.ContainsAny(s, "Xx:") ||
		strings.Contains(s, "2852039166") || strings.Contains(s, "0251.")) {
		s = strings.ToLower(s)
		for _, h := range metadataHosts {
			if strings.Contains(s, h) {
				return true
			}
		}
		if strings.Contains(s, "://metadata/") || strings.HasPrefix(s, "metadata/computeMetadata") {
			return true
		}
	}
	if !a.static && a.word != nil {
		for _, p := range a.word.Parts {
			if name := paramName(p); name != "" {
				for _, v := range metadataEnv {
					if name == v {
						return true
					}
				}
			}
		}
	}
	return false
}

// metadataRule: any program but a data one that is given an
// instance-metadata endpoint (curl, wget, nc, interpreter code ...).
func metadataRule(c *cmd) {
	for _, a := range c.args() {
		if metadataAccess(a) {
			c.emit(RuleCloudMetadata, c.name+" reaches a cloud instance-metadata endpoint, which hands out the machine's cloud credentials")
			return
		}
	}
}

// paramName is the name of a parameter expansion part ($X, ${X}, "$X").
func paramName(p interface{}) string {
	switch p := p.(type) {
	case *syntax.ParamExp:
		if p.Param != nil {
			return p.Param.Value
		}
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			if n := paramName(q); n != "" {
				return n
			}
		}
	}
	return ""
}
