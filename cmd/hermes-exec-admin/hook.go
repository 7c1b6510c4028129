package main

import (
	"os"
	"strings"

	"hermes-exec/agenthook"
	"hermes-exec/cmd/internal/wrapper"

	"github.com/urfave/cli/v2"
)

const hookDescription = `Run by the agent before each shell command, with the agent's hook event as
JSON on stdin. hermes-exec classifies the command and answers in the agent's
own format:

   allow   everyday command: it runs (Claude Code skips its own prompt)
   ask     dangerous: the agent shows its own approval dialog to the human
           (the model cannot answer it); if the human says yes and
           hermes-exec is also the agent's shell, that one command runs
           there without a second prompt
   deny    a deny rule matched: the agent refuses the call and the model
           sees the reason

Claude Code (~/.claude/settings.json):
   {"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[
     {"type":"command","command":"hermes-exec hook claude-code"}]}]}}
Codex (~/.codex/config.toml; its PreToolUse can only deny, so dangerous
commands are put to the human by Codex's approval policy, e.g.
approval_policy = "untrusted", through PermissionRequest):
   [[hooks.PreToolUse]]
   matcher = "Bash"
   [[hooks.PreToolUse.hooks]]
   type = "command"
   command = "hermes-exec hook codex"
   [[hooks.PermissionRequest]]
   matcher = "Bash"
   [[hooks.PermissionRequest.hooks]]
   type = "command"
   command = "hermes-exec hook codex"
   On PreToolUse it also denies a call that names its own shell (the
   model's shell argument, which Codex would start instead of
   hermes-exec), reading the call from Codex's transcript; a call it
   cannot read is denied.
Gemini CLI (~/.gemini/settings.json):
   {"hooks":{"BeforeTool":[{"matcher":"run_shell_command","hooks":[
     {"type":"command","command":"hermes-exec hook gemini"}]}]}}

If the hook cannot decide (bad input, a broken config.yaml), it exits 2 with
the reason on stderr, which every one of these agents reads as "block".`

func hookCommand() *cli.Command {
	return &cli.Command{
		Name:        "hook",
		Usage:       "answer an agent's pre-tool hook (claude-code, codex, gemini) from the classifier",
		UsageText:   "hermes-exec hook claude-code|codex|gemini < EVENT.json",
		Description: hookDescription,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("hook takes the agent: " + strings.Join(agenthook.Agents, ", "))
			}
			code := wrapper.RunHook(c.Args().First(), globalsFrom(c), os.Stdin, os.Stdout, os.Stderr)
			if code != 0 {
				return exitCoder{code}
			}
			return nil
		},
	}
}
