package policy

import (
	"slices"
	"strings"
)

// Hermes itself: turning approvals off or editing its own configuration
// is denied outright, because it would disable every other check.

// subcommandNames are hermes-exec's own programs, whose subcommands
// (yolo on, allowlist add, ...) the rules below judge, words the command
// line does not show included. hermes-exec-admin holds the subcommands
// (hermes-exec execs it for them), so it is hermes-exec as far as its
// own rules go.
var subcommandNames = []string{"hermes-exec", "hermes-exec-admin"}

func init() {
	register(hermesRule, subcommandNames...)
	// `hermes` (the Hermes agent's CLI) too, whose unseen words do not
	// ask (`hermes chat "$msg"`).
	register(hermesRule, "hermes")
	register(hermesHelperRule, "hermes-exec-sandbox")
}

// IsHermesExecName reports a program name (a base name) whose command
// lines the classifier judges as hermes-exec's own, words it cannot see
// included: `NAME yolo on` is denied, `NAME $(cat f)` asks.
// hermes-exec-admin refuses to run its subcommands under any other name
// (a link or copy of it elsewhere would pass them unjudged; one named
// hermes would pass `hermes $(cat f)`).
func IsHermesExecName(name string) bool {
	return slices.Contains(subcommandNames, name)
}

// hermesHelperRule: the sandbox helper runs whatever it is given, without
// classification or audit; only hermes-exec itself may start it.
func hermesHelperRule(c *cmd) {
	c.emit(RuleSelfDisableCli, c.name+" is hermes-exec's internal helper: calling it directly skips classification and the audit log")
}

func hermesRule(c *cmd) {
	args := c.args()
	if IsHermesExecName(c.name) {
		hermesUnseenArgs(c, args)
	}
	for i, a := range args {
		if !a.static {
			continue
		}
		// The subcommands' parser (urfave/cli, as Go's flag package)
		// takes -yolo as --yolo: a long option with one dash is judged
		// as with two.
		long := a.s
		if len(long) > 2 && long[0] == '-' && long[1] != '-' {
			long = "-" + long
		}
		switch {
		case long == "--yolo" || strings.HasPrefix(long, "--yolo="):
			c.emit(RuleSelfDisableCli, c.name+" "+a.s+" skips approval")
		case long == "--config" || strings.HasPrefix(long, "--config="), long == "--home" || strings.HasPrefix(long, "--home="):
			c.emit(RuleSelfDisableCli, c.name+" "+a.s+" points Hermes at another policy")
		case a.s == "yolo" && i+1 < len(args) && !args[i+1].is("off", "status"):
			c.emit(RuleSelfDisableCli, c.name+" yolo turns approvals off")
		case a.s == "yolo" && i+1 == len(args):
			c.emit(RuleSelfDisableCli, c.name+" yolo turns approvals off")
		case (a.s == "allowlist" || a.s == "deny" || a.s == "approvals" || a.s == "config") && i+1 < len(args) && args[i+1].is("add", "remove", "rm", "set", "clear", "edit", "reset", "off", "unset", "delete"):
			c.emit(RuleSelfDisableCli, c.name+" "+a.s+" "+args[i+1].s+" changes the approval rules")
		case a.s == "gateway" && i+1 < len(args) && args[i+1].is("pair"),
			a.s == "pairing" && i+1 < len(args) && args[i+1].is("approve"):
			// The code comes from POST /api/v1/pair, which anyone on
			// the host (the agent with curl) can call: confirming it
			// would make the agent an approver of its own commands.
			c.emit(RuleSelfDisableCli, c.name+" "+a.s+" "+args[i+1].s+" makes the holder of a pairing code an approver; confirm codes from your own terminal, not through an agent")
		case long == "--reanchor" || strings.HasPrefix(long, "--reanchor="):
			// It accepts the audit log as it is now: after a script
			// cut records off, it would make verify forget them.
			c.emit(RuleSelfDisableCli, c.name+" audit verify --reanchor accepts a cut or replaced audit log as intact; run it from your own terminal")
		case a.s == "secrets" && i+1 < len(args) && args[i+1].is("get", "edit", "export", "show"):
			c.emit(RuleSelfSecretRead, c.name+" secrets "+args[i+1].s+" shows the agent's own secrets")
		case a.s == "secrets" && i+1 < len(args) && args[i+1].is("set", "rm", "remove", "import"):
			c.emit(RuleSelfDisableWrite, c.name+" secrets "+args[i+1].s+" changes the agent's own secrets")
		case a.s == "hook" && c.stdin.kind != feedNone:
			// The agent runs its hook with the event on the hook's
			// stdin; a command that supplies the event itself forges
			// one, and the "ask" it gets back leaves a grant for the
			// agent's next shell: a command no human approved.
			c.emit(RuleSelfDisableCli, c.name+" hook reading an event this command line makes up would grant the agent a command no human approved")
		case a.s == "-c" && i+1 < len(args):
			c.w.shellText(args[i+1], c.name+" -c", c)
		case a.s == "run" && i+1 < len(args):
			// run's own options come before its command (--yolo and
			// --config are judged above, as the loop goes on over them).
			if rest := runCommand(args[i+1:]); len(rest) > 0 {
				c.w.subCommand(c, rest, c.name+" run")
			}
			for _, o := range args[i+1:] {
				if !o.static || !strings.HasPrefix(o.s, "-") || o.s == "--" {
					break
				}
				if l := "-" + strings.TrimLeft(o.s, "-"); l == "-yolo" || strings.HasPrefix(l, "-yolo=") || l == "-config" || strings.HasPrefix(l, "-config=") {
					c.emit(RuleSelfDisableCli, c.name+" run "+o.s+" skips approval or points Hermes at another policy")
				}
			}
			return
		}
	}
}

// hermesUnseenArgs asks when hermes-exec is given a word the command line
// does not show (`hermes-exec $(cat f)`, xargs' input) where it could be
// a subcommand or an option: the rules below judge the words they can
// see, and the unseen one may be `yolo on` or `allowlist add`. The text
// of -c is judged as a shell's; a script's arguments (after a name with a
// slash or a dot, or after hermes-exec's `--`) and what check is given are
// only read. The global options' values (--backend V) are skipped: a dot
// in one is no script, and hermes-exec-admin takes what follows `--` as
// its subcommand.
func hermesUnseenArgs(c *cmd, args []arg) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case !a.static:
			c.emit(RuleDynamicCode, c.name+" is given a word that is not known statically, which could be a subcommand that turns approvals off (yolo on, allowlist add)")
			return
		case a.s == "--" && c.name == "hermes-exec-admin":
		case a.s == "-c" || a.s == "--" || a.s == "check":
			return
		case strings.HasPrefix(a.s, "-"):
			if name := strings.TrimLeft(a.s, "-"); name == "backend" || name == "config" || name == "log-level" {
				i++ // its value
			}
		case strings.ContainsAny(a.s, "/."):
			return
		}
	}
}

// runCommand is the command `hermes-exec run [OPTIONS] [--] PROGRAM
// [ARGS...]` runs: what follows run's options (one dash or two; --backend
// and --config take a value, as --backend=V may).
func runCommand(args []arg) []arg {
	for len(args) > 0 {
		a := args[0]
		if !a.static || !strings.HasPrefix(a.s, "-") {
			return args
		}
		if a.s == "--" {
			return args[1:]
		}
		name, _, hasVal := strings.Cut(strings.TrimLeft(a.s, "-"), "=")
		if (name == "backend" || name == "config" || name == "log-level") && !hasVal && len(args) > 1 {
			args = args[2:]
			continue
		}
		args = args[1:]
	}
	return nil
}
