package main

import (
	"reflect"
	"testing"
)

func TestParseShellArgs(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		bashOpts []string
		command  bool
		operands []string
		global   globalOpts
	}{
		{[]string{"-c", "ls"}, nil, true, []string{"ls"}, globalOpts{}},
		{[]string{"-lc", "ls", "n", "a"}, []string{"-l"}, true, []string{"ls", "n", "a"}, globalOpts{}},
		{[]string{"-l", "-c", "ls"}, []string{"-l"}, true, []string{"ls"}, globalOpts{}},
		{[]string{"--login", "-e", "-o", "pipefail", "-c", "ls"}, []string{"--login", "-e", "-o", "pipefail"}, true, []string{"ls"}, globalOpts{}},
		{[]string{"--yolo", "--config=/x.yaml", "-c", "ls"}, nil, true, []string{"ls"}, globalOpts{Yolo: true, Config: "/x.yaml"}},
		{[]string{"-c", "--backend", "sandbox", "ls"}, nil, true, []string{"ls"}, globalOpts{Backend: "sandbox"}},
		{[]string{"script.sh", "-c", "x"}, nil, false, []string{"script.sh", "-c", "x"}, globalOpts{}},
		{[]string{"-c", "--", "-weird"}, nil, true, []string{"-weird"}, globalOpts{}},
		{[]string{"+x", "-c", "ls"}, []string{"+x"}, true, []string{"ls"}, globalOpts{}},
	} {
		got, err := parseShellArgs(tc.args)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !reflect.DeepEqual(got.bashOpts, tc.bashOpts) || got.command != tc.command ||
			!reflect.DeepEqual(got.operands, tc.operands) || got.global != tc.global {
			t.Errorf("%q: got %+v", tc.args, got)
		}
	}
}

func TestParseShellArgsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-c"},                // no command
		{"-Z", "-c", "ls"},    // unknown option
		{"--frobnicate", "x"}, // unknown long option
		{"-o"},                // -o without its value
		{"--config"},          // --config without its value
		{"--yolo=1", "-c", "ls"},
	} {
		if _, err := parseShellArgs(args); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
}

func TestIsShellMode(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		onTerm  bool
		isShell bool
	}{
		{[]string{"-c", "ls"}, true, true},
		{[]string{"check", "-c", "ls"}, true, false},
		{[]string{"--yolo", "run", "--", "ls"}, true, false},
		{[]string{"--config", "x", "-c", "ls"}, true, true},
		{[]string{"./check"}, true, true},
		{nil, true, false}, // bare, on a terminal: help
		{nil, false, true}, // bare, script on stdin
		{[]string{"--help"}, false, false},
	} {
		if got := isShellMode(tc.args, tc.onTerm); got != tc.isShell {
			t.Errorf("isShellMode(%q, terminal=%v) = %v", tc.args, tc.onTerm, got)
		}
	}
}
