package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"hermes-exec/internal/hermeshome"
	"hermes-exec/policy"
	"hermes-exec/policy/config"
	"hermes-exec/secretstore"
	"hermes-exec/shim"

	"go.yaml.in/yaml/v3"
)

func checkConfig(o *Options) []Result {
	path := o.ConfigPath
	if path == "" {
		path = hermeshome.Layout{Dir: o.Home}.Config()
	}
	cfg, err := loadConfig(o, path)
	if err != nil {
		return []Result{fail("config", "fix the line named; until then every command is denied", "%v", err)}
	}
	rs := []Result{ok("config", "%s parses", path)}
	rs = append(rs, checkApprovals(o, cfg)...)
	rs = append(rs, checkAllowlist(cfg)...)
	rs = append(rs, checkDeny(cfg)...)
	rs = append(rs, checkAllowAllUsers(o, path)...)
	return rs
}

// notRegular refuses to read what could hang or exhaust a reader (a FIFO,
// a device); a missing file is fine.
func notRegular(path string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%s is not a regular file: not read", path)
}

// loadConfig reads config.yaml once for all checks.
func loadConfig(o *Options, path string) (*config.Config, error) {
	if o.cfg == nil && o.cfgErr == nil {
		if o.cfgErr = notRegular(path); o.cfgErr == nil {
			o.cfg, o.cfgErr = config.Load(path)
		}
	}
	return o.cfg, o.cfgErr
}

func checkApprovals(o *Options, cfg *config.Config) []Result {
	var rs []Result
	if cfg.Approvals.Mode == config.ModeOff {
		rs = append(rs, fail("approvals", "set approvals.mode: default in "+cfg.Path, "approvals.mode is off: every dangerous command runs without asking anyone"))
	} else {
		rs = append(rs, ok("approvals", "approvals.mode is %s: dangerous commands are asked about", cfg.Approvals.Mode))
	}
	if v := o.Getenv("HERMES_YOLO"); truthy(v) {
		rs = append(rs, warn("yolo", "unset HERMES_YOLO", "HERMES_YOLO=%s in this environment: commands started from it run without asking", v))
	}
	sessions, err := shim.Sessions{Dir: hermeshome.Layout{Dir: o.Home}.Sessions()}.List()
	var yolo []string
	for _, s := range sessions {
		if s.Yolo {
			yolo = append(yolo, s.ID)
		}
	}
	switch {
	case len(yolo) > 0:
		rs = append(rs, warn("yolo", fmt.Sprintf("HERMES_SESSION_ID=%s hermes-exec yolo off (for each)", yolo[0]),
			"yolo is on for %d session(s): %s: their dangerous commands run without asking", len(yolo), strings.Join(yolo, ", ")))
	case err != nil:
		rs = append(rs, warn("yolo", "remove the damaged session files", "%v", err))
	default:
		rs = append(rs, ok("yolo", "no session has yolo on (%d sessions stored)", len(sessions)))
	}
	return rs
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// broad are programs an allowlist entry must not cover whole: each runs
// any code, or anything as anyone, or is the very thing the danger rules
// are about. Built on first use: package doctor is linked into the
// wrapper, and an init would cost every command the wrapper runs.
var broadProgs = sync.OnceValue(func() map[string]string {
	broad := map[string]string{}
	for why, progs := range map[string]string{
		"runs any shell code":                                           "sh bash dash zsh ksh mksh fish csh tcsh busybox",
		"runs any program text it is given":                             "python python2 python3 perl ruby node nodejs deno bun php lua luajit tclsh Rscript pwsh awk gawk mawk",
		"runs anything as root":                                         "sudo su doas pkexec runuser",
		"runs whatever command follows it":                              "env xargs nohup timeout nice ionice stdbuf setsid exec eval command builtin time watch strace chroot unshare nsenter flock",
		"downloads and runs code":                                       "npx pnpx bunx uvx pipx",
		"deletes, overwrites or kills: the rules ask for a reason":      "rm dd mkfs shred chmod chown kill killall pkill truncate find",
		"sends or fetches anything over the network":                    "curl wget nc ncat netcat socat ssh scp rsync telnet ftp",
		"runs containers that can reach the host":                       "docker podman kubectl",
		"covers every subcommand, push --force and clean -fdx included": "git",
	} {
		for _, p := range strings.Fields(progs) {
			broad[p] = why
		}
	}
	return broad
})

// shellWords splits an entry the way the classifier does for plain words.
func shellWords(e string) []string {
	var out []string
	for _, w := range strings.Fields(e) {
		out = append(out, strings.Trim(w, `'"`))
	}
	return out
}

// builtins never need a program on PATH.
var builtins = map[string]bool{"cd": true, "export": true, "source": true, ".": true, "set": true, "unset": true, "alias": true, "exit": true, "echo": true, "printf": true, "read": true, "trap": true, "ulimit": true, "umask": true, "wait": true, "jobs": true, "kill": true, "test": true, "[": true, "true": true, "false": true, ":": true, "eval": true, "exec": true, "command": true, "builtin": true, "type": true, "hash": true, "history": true, "shopt": true, "pushd": true, "popd": true}

func isPrefix(short, long []string) bool {
	return len(short) <= len(long) && slices.Equal(short, long[:len(short)])
}

func builtinDeny(entry string) (string, bool) {
	c, err := policy.NewClassifier(policy.Rules{})
	if err != nil {
		return "", false
	}
	v := c.Classify(entry)
	if v.Decision != policy.Deny {
		return "", false
	}
	for _, f := range v.Findings {
		if f.Decision == policy.Deny {
			return f.Rule, true
		}
	}
	return "", true
}

func checkAllowlist(cfg *config.Config) []Result {
	const name = "allowlist"
	var rs []Result
	seen := map[string]bool{}
	broad := broadProgs()
	for _, e := range cfg.Approvals.Allowlist {
		if _, err := policy.NewClassifier(policy.Rules{Allowlist: []string{e}}); err != nil {
			rs = append(rs, fail(name, "fix or remove the entry: until then every command is denied", "%s: %v", cfg.Path, err))
			continue
		}
		w := shellWords(e)
		prog := filepath.Base(w[0])
		key := strings.Join(w, " ")
		switch {
		case seen[key]:
			rs = append(rs, warn(name, "remove the duplicate", "%q is listed twice", e))
			continue
		case broad[prog] != "" && allOptions(w[1:]):
			rs = append(rs, fail(name, fmt.Sprintf("hermes-exec allowlist remove %q, and allow the exact commands you need (e.g. %q)", e, example(prog)),
				"%q is too broad: %s %s, so it lets the dangerous ones through unasked", e, prog, broad[prog]))
		case broad[prog] == "runs anything as root":
			rs = append(rs, warn(name, "allow the exact command, or run it without "+prog, "%q runs %s as root without asking", e, strings.Join(w[1:], " ")))
		}
		seen[key] = true
		if !strings.Contains(w[0], "/") && !builtins[w[0]] {
			if _, err := exec.LookPath(w[0]); err != nil {
				rs = append(rs, warn(name, "remove it, or install "+w[0], "%q never matches here: %s is not a program on PATH", e, w[0]))
			}
		} else if strings.Contains(w[0], "/") {
			if _, err := os.Stat(w[0]); err != nil {
				rs = append(rs, warn(name, "remove it", "%q never matches here: %s does not exist", e, w[0]))
			}
		}
		for _, d := range cfg.Approvals.Deny {
			if isPrefix(shellWords(d), w) {
				rs = append(rs, warn(name, "remove one of the two", "%q never takes effect: the deny rule %q covers it", e, d))
			}
		}
		if rule, denied := builtinDeny(e); denied {
			rs = append(rs, warn(name, "remove it", "%q never takes effect: the built-in rule %s denies it whatever the allowlist says", e, rule))
		}
	}
	if len(rs) == 0 {
		return []Result{ok(name, "%d entries, none too broad, all can match", len(cfg.Approvals.Allowlist))}
	}
	return rs
}

func allOptions(ws []string) bool {
	for _, w := range ws {
		if !strings.HasPrefix(w, "-") {
			return false
		}
	}
	return true
}

func example(prog string) string {
	switch prog {
	case "git":
		return "git push"
	case "rm":
		return "rm -rf ./build"
	case "curl":
		return "curl -fsSL https://example.com/x.json"
	case "docker":
		return "docker compose up"
	case "sh", "bash", "dash", "zsh":
		return prog + " ./scripts/test.sh"
	case "python", "python3":
		return prog + " -m pytest"
	case "node":
		return "node scripts/build.js"
	}
	return prog + " SUBCOMMAND"
}

func checkDeny(cfg *config.Config) []Result {
	const name = "deny"
	var rs []Result
	for i, d := range cfg.Approvals.Deny {
		if _, err := policy.NewClassifier(policy.Rules{Deny: []string{d}}); err != nil {
			rs = append(rs, fail(name, "fix or remove the rule: until then every command is denied", "%s: %v", cfg.Path, err))
			continue
		}
		w := shellWords(d)
		for j, other := range cfg.Approvals.Deny {
			if j != i && isPrefix(shellWords(other), w) && (len(shellWords(other)) < len(w) || j < i) {
				rs = append(rs, warn(name, "remove it", "%q shadows nothing: the deny rule %q already covers it", d, other))
				break
			}
		}
		if rule, denied := builtinDeny(d); denied {
			rs = append(rs, warn(name, "remove it (it does no harm)", "%q shadows nothing: the built-in rule %s already denies it", d, rule))
		}
	}
	if len(rs) == 0 {
		return []Result{ok(name, "%d deny rules, none redundant", len(cfg.Approvals.Deny))}
	}
	return rs
}

// checkAllowAllUsers looks for GATEWAY_ALLOW_ALL_USERS wherever Hermes
// reads it from: the environment, .env, .env.age (when the key is at hand)
// and config.yaml.
func checkAllowAllUsers(o *Options, cfgPath string) []Result {
	const name = "gateway-users"
	const key = "GATEWAY_ALLOW_ALL_USERS"
	fix := "remove " + key + " and pair the approvers you trust (hermes-exec gateway pair)"
	var where []string
	if truthy(o.Getenv(key)) {
		where = append(where, "the environment")
	}
	l := hermeshome.Layout{Dir: o.Home}
	if notRegular(l.Env()) == nil {
		// The gateway's own reader of .env, so both agree on the value.
		if vals, err := config.DotEnv(l.Env()); err == nil && truthy(vals[key]) {
			where = append(where, l.Env())
		}
	}
	st := secretstore.ForHome(o.Home)
	if m, err := st.Mode(); err == nil && m == secretstore.ModeIdentity {
		if es, _, err := st.Load(); err == nil {
			for _, e := range es {
				if e.Name == key && truthy(e.Value) {
					where = append(where, st.Path)
				}
			}
		}
	}
	if data, err := os.ReadFile(cfgPath); err == nil && notRegular(cfgPath) == nil {
		var doc any
		if yaml.Unmarshal(data, &doc) == nil && yamlTrue(doc, key) {
			where = append(where, cfgPath)
		}
	}
	if len(where) > 0 {
		return []Result{fail(name, fix, "%s is on (%s): anyone who can message the gateway's bots can approve commands", key, strings.Join(where, ", "))}
	}
	return []Result{ok(name, "%s is not set", key)}
}

// yamlTrue finds key (or allow_all_users) set to a true value anywhere.
func yamlTrue(n any, key string) bool {
	switch v := n.(type) {
	case map[string]any:
		for k, x := range v {
			if strings.EqualFold(k, key) || k == "allow_all_users" {
				if b, ok := x.(bool); ok && b {
					return true
				}
				if s, ok := x.(string); ok && truthy(s) {
					return true
				}
			}
			if yamlTrue(x, key) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if yamlTrue(x, key) {
				return true
			}
		}
	}
	return false
}
