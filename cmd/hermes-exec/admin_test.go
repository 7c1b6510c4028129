package main

import (
	"reflect"
	"testing"
)

// Only the plain form of hook is answered by hermes-exec itself; every
// other form goes to hermes-exec-admin's parser, which says what is wrong.
func TestHookArgs(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		agent string
		g     globalOpts
		ok    bool
	}{
		{[]string{"hook", "claude-code"}, "claude-code", globalOpts{}, true},
		{[]string{"--yolo", "--config", "/c.yaml", "hook", "codex"}, "codex", globalOpts{Yolo: true, Config: "/c.yaml"}, true},
		{[]string{"--log-level=debug", "hook", "gemini"}, "gemini", globalOpts{LogLevel: "debug"}, true},
		{[]string{"hook"}, "", globalOpts{}, false},
		{[]string{"hook", "--help"}, "", globalOpts{}, false},
		{[]string{"hook", "claude-code", "extra"}, "", globalOpts{}, false},
		{[]string{"-yolo", "hook", "codex"}, "", globalOpts{}, false},
		{[]string{"--yolo=1", "hook", "codex"}, "", globalOpts{}, false},
		{[]string{"check", "hook"}, "", globalOpts{}, false},
		{[]string{"hook", ""}, "", globalOpts{}, false},
	} {
		g, agent, ok := hookArgs(tc.args)
		if ok != tc.ok || (ok && (agent != tc.agent || !reflect.DeepEqual(g, tc.g))) {
			t.Errorf("hookArgs(%q) = %+v %q %v; want %+v %q %v", tc.args, g, agent, ok, tc.g, tc.agent, tc.ok)
		}
	}
}

func TestSubcommandName(t *testing.T) {
	for want, argv := range map[string][]string{
		"doctor":  {"hermes-exec", "doctor", "--json"},
		"gateway": {"hermes-exec", "--config", "x", "gateway", "run"},
		"help":    {"hermes-exec", "--yolo"},
		"--help":  {"hermes-exec", "--help"},
	} {
		if got := subcommandName(argv); got != want {
			t.Errorf("subcommandName(%q) = %q, want %q", argv, got, want)
		}
	}
}
