package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/internal/exitcode"
	"hermes-exec/isolate"
	"hermes-exec/isolate/sandboxexec"
	"hermes-exec/policy"
	"hermes-exec/policy/config"
	"hermes-exec/pty"
	"hermes-exec/shim"

	"github.com/urfave/cli/v2"
)

// Exit statuses of `check`.
const (
	checkAllow = 0
	checkAsk   = 1
	checkDeny  = 2
	checkUsage = exitcode.UsageSub
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "classify a command without running it",
		UsageText: "hermes-exec check [--json] -c 'CMD'\nhermes-exec check [--json] 'CMD'\necho 'CMD' | hermes-exec check [--json]",
		Description: `Prints the decision and every finding. Exit status: 0 allow, 1 ask, 2 deny,
64 usage. The user's allowlist and deny rules from config.yaml apply; yolo
and approvals.mode do not (check says what the rules say, not what a switch
would let through).

JSON output: {"decision":"allow|ask|deny","findings":[{"rule":ID,
"description":TEXT,"command":TEXT,"pos":"line:col","decision":"ask|deny"}]}`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "c", Aliases: []string{"command"}, Usage: "the shell text to classify"},
			&cli.BoolFlag{Name: "json", Usage: "print the verdict as JSON"},
			&cli.StringFlag{Name: "config", Usage: "configuration file", DefaultText: "$HERMES_HOME/config.yaml"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			wrapper.OneShot()
			text, err := checkText(c)
			if err != nil {
				return err
			}
			s, err := wrapper.Load(globalsFrom(c))
			if err != nil {
				// A config that cannot be read classifies nothing: deny.
				fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
				return exitCoder{checkDeny}
			}
			cls, err := s.Classifier()
			if err != nil {
				fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
				return exitCoder{checkDeny}
			}
			// No session approval is looked up: the key is not needed.
			v := cls.ClassifyNoKey(text)
			if c.Bool("json") {
				if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
					return err
				}
			} else {
				printVerdict(os.Stdout, v)
			}
			switch v.Decision {
			case policy.Allow:
				return nil
			case policy.Ask:
				return exitCoder{checkAsk}
			default:
				return exitCoder{checkDeny}
			}
		},
	}
}

// checkText takes the text from -c, a single argument, or stdin.
func checkText(c *cli.Context) (string, error) {
	switch {
	case c.IsSet("c") && c.NArg() == 0:
		return c.String("c"), nil
	case !c.IsSet("c") && c.NArg() == 1:
		return c.Args().First(), nil
	case !c.IsSet("c") && c.NArg() == 0 && !pty.IsTerminal(os.Stdin):
		b, err := io.ReadAll(os.Stdin)
		return string(b), err
	}
	return "", usageError("check takes one command: -c 'CMD', 'CMD', or the text on stdin")
}

func printVerdict(w io.Writer, v policy.Verdict) {
	fmt.Fprintln(w, v.Decision)
	for _, f := range v.Findings {
		fmt.Fprintf(w, "  %s %s [%s] %s\n      %s\n", f.Pos, f.Decision, f.Rule, f.Description, f.Command)
	}
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a program with arguments, without a shell",
		UsageText: "hermes-exec run [--yolo] [--backend host|sandbox] -- PROGRAM [ARGS...]",
		Description: `The argv form: PROGRAM runs with ARGS exactly as given, nothing is expanded.
It is classified as a simple command (run -- bash -c TEXT still classifies
TEXT), approved like any other command, and its exit status is returned.`,
		Flags:           globalFlags(),
		SkipFlagParsing: false,
		OnUsageError:    onUsageError,
		Action: func(c *cli.Context) error {
			argv := c.Args().Slice()
			if len(argv) == 0 {
				return usageError("run needs a program: hermes-exec run -- PROGRAM [ARGS...]")
			}
			s, err := wrapper.Load(globalsFrom(c))
			if err != nil {
				return exitCoder{wrapper.DenyEarly(policy.QuoteArgv(argv), err)}
			}
			fl, err := s.Flow()
			if err != nil {
				return exitCoder{wrapper.DenyEarly(policy.QuoteArgv(argv), err)}
			}
			if s.BackendName() == "host" {
				// Say "not found" as bash would, before asking anyone.
				if code, err := wrapper.LookPathStatus(argv[0]); err != nil {
					fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
					return exitCoder{code}
				}
			}
			cls, err := s.ArgvClassifier(fl)
			if err != nil {
				return exitCoder{wrapper.DenyEarly(policy.QuoteArgv(argv), err)}
			}
			v := cls.ClassifyArgv(argv)
			wrapper.GrantTopLevel(fl, v)
			code := fl.Execute(context.Background(), shim.Command{
				Text:    policy.QuoteArgv(argv),
				Args:    argv,
				Verdict: v,
				TTY:     wrapper.WantTTY(),
			})
			if code != 0 {
				return exitCoder{code}
			}
			return nil
		},
	}
}

func allowlistCommand() *cli.Command {
	cfgFlag := &cli.StringFlag{Name: "config", Usage: "configuration file", DefaultText: "$HERMES_HOME/config.yaml"}
	path := func(c *cli.Context) (string, error) {
		if g := globalsFrom(c); g.Config != "" {
			return g.Config, nil
		}
		home, err := wrapper.HermesHome()
		return home.Config(), err
	}
	return &cli.Command{
		Name:  "allowlist",
		Usage: "show or edit approvals.allowlist",
		Description: `An entry is an argv prefix written as shell words: 'git push' allows
"git push origin main" but not "git pushx", and never lets another command
of the same line through. Edits keep the file's comments and are safe
against concurrent writers.`,
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "print the entries, one a line",
				Flags: []cli.Flag{cfgFlag},
				Action: func(c *cli.Context) error {
					p, err := path(c)
					if err != nil {
						return err
					}
					cfg, err := config.Load(p)
					if err != nil {
						return err
					}
					for _, e := range cfg.Approvals.Allowlist {
						fmt.Println(e)
					}
					return nil
				},
			},
			{
				Name:      "add",
				Usage:     "add entries",
				UsageText: "hermes-exec allowlist add 'git push' 'npm publish' ...",
				Flags:     []cli.Flag{cfgFlag},
				Action: func(c *cli.Context) error {
					entries, err := allowlistArgs(c)
					if err != nil {
						return err
					}
					p, err := path(c)
					if err != nil {
						return err
					}
					added, err := config.AddAllowlist(p, entries...)
					if err != nil {
						return err
					}
					for _, e := range added {
						fmt.Printf("added: %s\n", e)
					}
					return nil
				},
			},
			{
				Name:      "remove",
				Aliases:   []string{"rm"},
				Usage:     "remove entries",
				UsageText: "hermes-exec allowlist remove 'git push' ...",
				Flags:     []cli.Flag{cfgFlag},
				Action: func(c *cli.Context) error {
					entries, err := allowlistArgs(c)
					if err != nil {
						return err
					}
					p, err := path(c)
					if err != nil {
						return err
					}
					removed, err := config.RemoveAllowlist(p, entries...)
					if err != nil {
						return err
					}
					if len(removed) == 0 {
						return fmt.Errorf("no such entry: %s", strings.Join(entries, ", "))
					}
					for _, e := range removed {
						fmt.Printf("removed: %s\n", e)
					}
					return nil
				},
			},
		},
	}
}

// allowlistArgs validates entries the same way the classifier will read
// them, so a broken entry never reaches the file.
func allowlistArgs(c *cli.Context) ([]string, error) {
	entries := c.Args().Slice()
	if len(entries) == 0 {
		return nil, usageError("give at least one entry, e.g. 'git push'")
	}
	if _, err := policy.NewClassifier(policy.Rules{Allowlist: entries}); err != nil {
		return nil, usageError(err.Error())
	}
	return entries, nil
}

func yoloCommand() *cli.Command {
	set := func(on bool) func(*cli.Context) error {
		return func(c *cli.Context) error {
			id, err := sessionOrError()
			if err != nil {
				return err
			}
			home, err := wrapper.HermesHome()
			if err != nil {
				return err
			}
			s := shim.Sessions{Dir: home.Sessions()}
			if err := s.SetYolo(id, on); err != nil {
				return err
			}
			fmt.Printf("yolo %s for session %s\n", onOff(on), id)
			return nil
		}
	}
	return &cli.Command{
		Name:  "yolo",
		Usage: "turn asking off or on for this session (like Hermes's /yolo)",
		Description: `The session is HERMES_SESSION_ID, else the terminal session. While yolo is on,
dangerous commands of that session run without asking; deny rules still hold.`,
		Subcommands: []*cli.Command{
			{Name: "on", Usage: "stop asking in this session", Action: set(true)},
			{Name: "off", Usage: "ask again in this session", Action: set(false)},
			{Name: "status", Usage: "print whether yolo is on", Action: func(c *cli.Context) error {
				id, err := sessionOrError()
				if err != nil {
					return err
				}
				home, err := wrapper.HermesHome()
				if err != nil {
					return err
				}
				s := shim.Sessions{Dir: home.Sessions()}
				fmt.Printf("yolo %s for session %s\n", onOff(s.Yolo(id)), id)
				return nil
			}},
		},
	}
}

func sessionOrError() (string, error) {
	id := shim.SessionID()
	if id == "" {
		return "", errors.New("no session: set HERMES_SESSION_ID or run from a terminal")
	}
	return id, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// sandboxCommand is `hermes-exec sandbox ls|rm|gc`: the sandbox helper
// does the work, with the options this configuration gives it.
func sandboxCommand() *cli.Command {
	return &cli.Command{
		Name:            "sandbox",
		Usage:           "list, remove or collect the sandbox backend's containers (ls, rm, gc)",
		UsageText:       "hermes-exec sandbox ls [--json] | rm ID|SESSION... | rm --all | gc",
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			s, err := wrapper.Load(globalsFrom(c))
			if err != nil {
				return err
			}
			o, err := sandboxexec.OptionsFrom(isolate.Context{Config: s.Cfg, HermesHome: s.Home.Dir})
			if err != nil {
				return err
			}
			args := c.Args().Slice()
			if len(args) == 0 {
				args = []string{"--help"}
			}
			return manageSandboxes(s, o, args)
		},
	}
}
