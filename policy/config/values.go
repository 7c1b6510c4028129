package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// absent reports whether the key was missing or set to null: both mean
// "use the default".
func absent(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// scalar returns the node's text. ok is false when the key is absent or
// null.
func scalar(n *yaml.Node, name string) (v string, ok bool, err error) {
	if absent(n) {
		return "", false, nil
	}
	r := resolve(n)
	if r.Kind != yaml.ScalarNode {
		return "", false, nodeErr(n, "%s: want a single value, not a %s", name, kindName(r.Kind))
	}
	return strings.TrimSpace(r.Value), true, nil
}

// choice is a scalar that must be one of the allowed words.
func choice(n *yaml.Node, name string, allowed ...string) (string, bool, error) {
	v, ok, err := scalar(n, name)
	if err != nil || !ok {
		return "", false, err
	}
	for _, a := range allowed {
		if v == a {
			return v, true, nil
		}
	}
	return "", false, nodeErr(n, "%s: %q is not one of %s", name, v, strings.Join(allowed, ", "))
}

// duration accepts integer (or fractional) seconds, as Hermes writes its
// timeouts, or a Go duration string such as "90s" or "5m". Zero and
// negative durations are errors: a zero approval timeout would deny
// everything without saying why.
func duration(n *yaml.Node, name string) (time.Duration, bool, error) {
	v, ok, err := scalar(n, name)
	if err != nil || !ok {
		return 0, false, err
	}
	var d time.Duration
	if secs, ferr := strconv.ParseFloat(v, 64); ferr == nil {
		if math.IsNaN(secs) || math.IsInf(secs, 0) || secs > float64(math.MaxInt64)/float64(time.Second) {
			return 0, false, nodeErr(n, "%s: %q is out of range", name, v)
		}
		d = time.Duration(secs * float64(time.Second))
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, false, nodeErr(n, "%s: %q is neither a number of seconds nor a duration like 90s or 5m", name, v)
	}
	if d <= 0 {
		return 0, false, nodeErr(n, "%s: %q must be more than zero", name, v)
	}
	return d, true, nil
}

// number accepts a YAML number or a numeric string ("1.5"); it must be
// finite and not negative.
func number(n *yaml.Node, name string) (float64, bool, error) {
	v, ok, err := scalar(n, name)
	if err != nil || !ok {
		return 0, false, err
	}
	f, perr := strconv.ParseFloat(v, 64)
	if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, false, nodeErr(n, "%s: %q is not a number of zero or more", name, v)
	}
	return f, true, nil
}

func positiveInt(n *yaml.Node, name string) (int64, bool, error) {
	v, ok, err := scalar(n, name)
	if err != nil || !ok {
		return 0, false, err
	}
	i, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || i <= 0 {
		return 0, false, nodeErr(n, "%s: %q is not a whole number above zero", name, v)
	}
	return i, true, nil
}

// byteSize keeps the size as written once ParseBytes accepts it, so that
// the backends and messages show the user's own spelling.
func byteSize(n *yaml.Node, name string, zeroOK bool) (string, bool, error) {
	v, ok, err := scalar(n, name)
	if err != nil || !ok {
		return "", false, err
	}
	b, perr := ParseBytes(v)
	if perr != nil {
		return "", false, nodeErr(n, "%s: %v", name, perr)
	}
	if b == 0 && !zeroOK {
		return "", false, nodeErr(n, "%s: %q must be more than zero", name, v)
	}
	return v, true, nil
}

// stringList reads a sequence of non-empty strings. A lone string is an
// error rather than a one-entry list: `allowlist: git push` is more likely
// a mistake than a wish.
func stringList(n *yaml.Node, name string) ([]string, error) {
	if absent(n) {
		return nil, nil
	}
	r := resolve(n)
	if r.Kind != yaml.SequenceNode {
		return nil, nodeErr(n, "%s: want a list (lines starting with \"- \"), not a %s", name, kindName(r.Kind))
	}
	out := make([]string, 0, len(r.Content))
	for _, item := range r.Content {
		it := resolve(item)
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" || strings.TrimSpace(it.Value) == "" {
			return nil, nodeErr(item, "%s: each entry must be a non-empty string", name)
		}
		out = append(out, strings.TrimSpace(it.Value))
	}
	return out, nil
}

// expandHome turns a leading "~/" into the home directory, as a shell
// would, so that paths in config.yaml read like paths typed at a prompt.
func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return p
	}
	return filepath.Join(home, p[1:])
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "node"
}

// ParseBytes parses a size such as "512m", "2g", "1.5G", "2GiB" or "1024"
// (bytes). The suffixes k, m, g and t are powers of 1024, as docker and
// runc read them, and may be followed by "b", "i" or "ib"; case does not
// matter.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	// Strip the optional unit decorations first, then the multiplier.
	for _, suf := range []string{"ib", "b", "i"} {
		if strings.HasSuffix(t, suf) && len(t) > len(suf) {
			t = t[:len(t)-len(suf)]
			break
		}
	}
	mult := int64(1)
	switch t[len(t)-1] {
	case 'k':
		mult = 1 << 10
	case 'm':
		mult = 1 << 20
	case 'g':
		mult = 1 << 30
	case 't':
		mult = 1 << 40
	}
	if mult != 1 {
		t = t[:len(t)-1]
	}
	if t == "" || strings.ContainsAny(t, "+-eE_xXpP") || strings.EqualFold(t, "nan") || strings.HasPrefix(strings.ToLower(t), "inf") {
		return 0, fmt.Errorf("%q is not a size like 512m or 2g", s)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a size like 512m or 2g", s)
	}
	b := f * float64(mult)
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(b), nil
}
