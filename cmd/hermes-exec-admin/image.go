package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/urfave/cli/v2"

	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/isolate"
	"hermes-exec/isolate/containerdexec"
	"hermes-exec/isolate/sandbox/execproto"
	"hermes-exec/isolate/sandboxexec"
	"hermes-exec/policy/config"
)

// containerdOptions are the containerd backend's options from config.yaml.
func containerdOptions(s *wrapper.Setup) (containerdexec.Options, error) {
	return containerdexec.OptionsFrom(isolate.Context{Config: s.Cfg, HermesHome: s.Home.Dir})
}

// imageCommand is `hermes-exec image ...`: the containerd helper does the
// work (it links the containerd client, which this binary does not).
func imageCommand() *cli.Command {
	return &cli.Command{
		Name:            "image",
		Usage:           "import, build, list or remove the containerd backend's images (import, build, ls, rm, pull)",
		UsageText:       "hermes-exec image import FILE.tar | build --from DIR --name NAME | ls [--json] | rm NAME... | pull REF",
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			s, err := wrapper.Load(globalsFrom(c))
			if err != nil {
				return err
			}
			o, err := containerdOptions(s)
			if err != nil {
				return err
			}
			args := c.Args().Slice()
			if len(args) == 0 {
				args = []string{"--help"}
			}
			return containerdexec.Manage(o, append([]string{"image"}, args...))
		},
	}
}

// containerdSandboxes runs the containerd half of `sandbox ls|rm|gc` when
// that backend is installed and its daemon is there, and returns what the
// sandbox's helper should still get: the arguments of rm it did not know
// (nil: nothing left to do), and for ls --json the array to merge.
// Without the helper or the socket it does nothing: most machines have no
// containerd, and the sandbox's own listing must not suffer from that.
func containerdSandboxes(s *wrapper.Setup, args []string) (rest []string, listing []byte, handled bool) {
	o, err := containerdOptions(s)
	if err != nil || len(args) == 0 {
		return args, nil, false
	}
	addr := o.Address
	if addr == "" {
		addr = containerdexec.DefaultAddress
	}
	if _, err := os.Stat(addr); err != nil {
		return args, nil, false
	}
	cmd, err := containerdexec.Command(o, append([]string{"sandbox"}, args...)...)
	if err != nil {
		return args, nil, false
	}
	cmd.Stderr = os.Stderr
	switch args[0] {
	case "ls":
		out, err := cmd.Output()
		if err != nil {
			return args, nil, false
		}
		return args, out, true
	case "rm":
		out, err := cmd.Output()
		if err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				return args, nil, false
			}
		}
		if hasArg(args, "--all") {
			return args, nil, true
		}
		rest = []string{"rm"}
		for _, n := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if n != "" {
				rest = append(rest, n)
			}
		}
		if len(rest) == 1 {
			return nil, nil, true
		}
		return rest, nil, true
	default:
		cmd.Stdout = os.Stdout
		_ = cmd.Run()
		return args, nil, true
	}
}

func hasArg(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// sandboxOnlyEnv marks the inner `sandbox ls` that manageSandboxes runs to
// merge the two backends' listings.
const sandboxOnlyEnv = "HERMES_SANDBOX_ONLY"

// manageSandboxes is `sandbox ls|rm|gc` over both container backends: the
// containerd helper's part first, then the embedded sandbox's helper.
//
// With --backend, only that backend's containers are looked after.
func manageSandboxes(s *wrapper.Setup, o sandboxexec.Options, args []string) error {
	if os.Getenv(sandboxOnlyEnv) != "" || s.Global.Backend == config.BackendSandbox {
		return sandboxexec.Manage(o, args)
	}
	if s.Global.Backend == config.BackendContainerd {
		return containerdOnly(s, args)
	}
	rest, listing, ok := containerdSandboxes(s, args)
	if !ok {
		return sandboxexec.Manage(o, args)
	}
	if rest == nil {
		return nil
	}
	if listing == nil {
		return sandboxexec.Manage(o, rest)
	}
	// ls: the sandbox's listing from a child, then both together.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	inner := []string{"sandbox"}
	if s.Global.Config != "" {
		inner = []string{"--config", s.Global.Config, "sandbox"}
	}
	c := exec.Command(self, append(inner, args...)...)
	c.Env = append(os.Environ(), sandboxOnlyEnv+"=1")
	c.Stderr = os.Stderr
	out, err := c.Output()
	if err != nil {
		return err
	}
	if !hasArg(args, "--json") {
		os.Stdout.Write(out)
		os.Stdout.Write(listing)
		return nil
	}
	var a, b []json.RawMessage
	if err := json.Unmarshal(out, &a); err != nil {
		return fmt.Errorf("sandbox ls: %v", err)
	}
	if err := json.Unmarshal(listing, &b); err != nil {
		return fmt.Errorf("sandbox ls: containerd: %v", err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(append(append([]json.RawMessage{}, a...), b...))
}

// containerdOnly is `--backend containerd sandbox ls|rm|gc`.
func containerdOnly(s *wrapper.Setup, args []string) error {
	o, err := containerdOptions(s)
	if err != nil {
		return err
	}
	cmd, err := containerdexec.Command(o, append([]string{"sandbox"}, args...)...)
	if err != nil {
		return err
	}
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	if len(args) == 0 || args[0] != "rm" {
		if len(args) > 0 && args[0] == "ls" && !hasArg(args, "--json") {
			fmt.Println(execproto.ListHeader)
		}
		cmd.Stdout = os.Stdout
		if err := cmd.Run(); err != nil {
			return exitCoder{1}
		}
		return nil
	}
	// rm: the helper prints the names it did not know.
	out, err := cmd.Output()
	if err != nil {
		return exitCoder{1}
	}
	if unknown := strings.Fields(string(out)); len(unknown) > 0 {
		return fmt.Errorf("sandbox rm: %s: no such containerd container", strings.Join(unknown, ", "))
	}
	return nil
}
