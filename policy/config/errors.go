package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Error is a problem at one line of config.yaml. It prints as
// "PATH:LINE: MESSAGE", the form editors and compilers use, so a user can
// jump to it.
type Error struct {
	Path string
	Line int // 0 when the YAML library gave no line
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// nodeErr is an Error whose Path is filled in later by withPath.
func nodeErr(n *yaml.Node, format string, args ...any) error {
	return &Error{Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

// yamlLine matches the line prefix the YAML library puts in its messages.
// Only the library's own error text is matched, never user input. Compiled
// on first use: only a config with an error needs it.
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`) })

// fromYAML turns the YAML library's error into Errors with line numbers.
func fromYAML(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, m := range te.Errors {
			errs = append(errs, lineMsg(m))
		}
		return errors.Join(errs...)
	}
	return lineMsg(err.Error())
}

func lineMsg(m string) *Error {
	if g := yamlLine().FindStringSubmatch(m); g != nil {
		n, _ := strconv.Atoi(g[1])
		return &Error{Line: n, Msg: g[2]}
	}
	return &Error{Msg: strings.TrimPrefix(m, "yaml: ")}
}

// withPath names the file in every Error inside err.
func withPath(path string, err error) error {
	var e *Error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		out := make([]error, len(errs))
		for i, x := range errs {
			out[i] = withPath(path, x)
		}
		return errors.Join(out...)
	}
	if errors.As(err, &e) {
		c := *e
		c.Path = path
		return &c
	}
	return fmt.Errorf("%s: %w", path, err)
}

// hintTabs adds the usual cause to a YAML error on a line indented with a
// tab: the library's own message ("found character that cannot start any
// token") does not say it.
func hintTabs(err error, data string) error {
	var e *Error
	if !errors.As(err, &e) || e.Line < 1 {
		return err
	}
	lines := strings.SplitN(data, "\n", e.Line+1)
	if e.Line > len(lines) {
		return err
	}
	l := lines[e.Line-1]
	if strings.Contains(l[:len(l)-len(strings.TrimLeft(l, " \t"))], "\t") {
		e.Msg += " (indent with spaces: YAML does not allow tabs there)"
	}
	return err
}
