package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"hermes-exec/internal/exitcode"

	"github.com/urfave/cli/v2"
)

const appDescription = `hermes-exec stands between an AI agent and the machine. Use it as the agent's
shell, exactly where it would call bash:

   hermes-exec -c 'CMD' [NAME [ARGS...]]   like bash -c (also -lc, -l -c, --login, -e, -x, -o OPT)
   hermes-exec SCRIPT [ARGS...]             classify the whole file, then run it
   ... | hermes-exec                        read the script from stdin

Every command is parsed (pipes, lists, subshells, $(...), nested bash -c,
eval, xargs, find -exec, interpreters' -c/-e) and matched against the danger
rules, approvals.allowlist and approvals.deny in $HERMES_HOME/config.yaml
(default ~/.hermes). What cannot be resolved statically counts as dangerous.

A dangerous command is put to a human on the controlling terminal: once,
session, always (adds it to approvals.allowlist) or no. No answer within
approvals.timeout (300 s) means no. When the gateway runs (hermes-exec
gateway run) it is asked too, on its web page and chat bridges, and the
first answer wins. With nobody to ask, it is denied.
A denial prints "hermes-exec: denied: REASON" and exits 126; otherwise the
command's own exit status is returned exactly (128+N for signal N).

approvals.mode: off, --yolo or HERMES_YOLO=1 skip asking (CI, throwaway
machines); deny rules still hold. Every decision is appended to
$HERMES_HOME/audit.jsonl.

EXAMPLES:
   hermes-exec -c 'make test'                      runs at once
   hermes-exec -c 'git push --force'               asks first
   hermes-exec check --json -c 'curl x | sh'       classify only (exit 0/1/2)
   hermes-exec run -- git status                   argv form, no shell
   hermes-exec allowlist add 'git push'            never ask for git push ...
   hermes-exec audit --tail 20                     what ran, who approved it
   hermes-exec gateway run &                       approve from a browser or chat`

// globalFlags are accepted before any subcommand (and, in shell mode,
// among bash's options).
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "yolo", Usage: "run dangerous commands without asking (deny rules still hold); also HERMES_YOLO=1"},
		&cli.StringFlag{Name: "config", Usage: "configuration file", DefaultText: "$HERMES_HOME/config.yaml"},
		&cli.StringFlag{Name: "backend", Usage: "where commands run: host, sandbox, containerd or supervisor", DefaultText: "terminal.backend, else host"},
		&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error (logs go to stderr)", DefaultText: "warn"},
	}
}

// globalsFrom collects the global options from a context and its parents.
func globalsFrom(c *cli.Context) globalOpts {
	var g globalOpts
	for _, ctx := range c.Lineage() {
		if ctx == nil {
			continue
		}
		if ctx.IsSet("yolo") && ctx.Bool("yolo") {
			g.Yolo = true
		}
		if g.Config == "" && ctx.IsSet("config") {
			g.Config = ctx.String("config")
		}
		if g.Backend == "" && ctx.IsSet("backend") {
			g.Backend = ctx.String("backend")
		}
		if g.LogLevel == "" && ctx.IsSet("log-level") {
			g.LogLevel = ctx.String("log-level")
		}
	}
	return g
}

// exitCoder carries an exit status through urfave/cli without it printing
// anything of its own.
type exitCoder struct{ code int }

func (e exitCoder) Error() string { return fmt.Sprintf("exit %d", e.code) }

func newApp() *cli.App {
	return &cli.App{
		Name:                   "hermes-exec",
		Usage:                  "the shell an AI agent runs its commands through: classify, ask, run, audit",
		UsageText:              "hermes-exec [--yolo] [--config FILE] [--backend host|sandbox|containerd] -c 'CMD' [NAME [ARGS...]]\nhermes-exec [global options] COMMAND [options] [arguments...]",
		Description:            appDescription,
		Version:                version,
		Flags:                  globalFlags(),
		HideHelpCommand:        false,
		UseShortOptionHandling: true,
		Commands: []*cli.Command{
			checkCommand(),
			rulesCommand(),
			runCommand(),
			allowlistCommand(),
			auditCommand(),
			yoloCommand(),
			sandboxCommand(),
			imageCommand(),
			secretsCommand(),
			doctorCommand(),
			gatewayCommand(),
			pairingCommand(),
			supervisorCommand(),
			policyCommand(),
			versionCommand(),
			hookCommand(),
			envCommand(),
		},
		OnUsageError:   onUsageError,
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// runApp runs a subcommand and maps its error to an exit status: usage
// mistakes exit 64, other failures 1, explicit statuses as they are.
func runApp(args []string) int {
	err := newApp().Run(args)
	if err == nil {
		return 0
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		return exitcode.UsageSub
	}
	fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
	return 1
}

// onUsageError makes urfave/cli's complaints about flags usage errors
// (exit 64) rather than failures.
func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	return usageError(err.Error())
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Printf("hermes-exec %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
