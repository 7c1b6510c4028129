package userdb

import (
	"maps"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := "root:x:0:0:root:/root:/bin/bash\n# comment\n\nalice:x:1000:1000:Alice,,,:/home/alice/:/bin/bash\n" +
		"bad line\nweird:x:1:1::relative/home:/bin/sh\n+nis::::::\nalice:x:1001:1001::/elsewhere:/bin/sh\n"
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"root": "/root", "alice": "/home/alice"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}

func TestHomesReadsTheMachine(t *testing.T) {
	h, err := Homes()
	if err != nil {
		t.Fatalf("reading the user database: %v", err)
	}
	if h["root"] == "" {
		t.Errorf("root has no home in %s: %v", PasswdFile, h)
	}
}

// splitParse is Parse as it was written first, with strings.Split: the
// reading passwdFields must agree with.
func splitParse(in string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(in, "\n") {
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 7 || f[0] == "" || !filepath.IsAbs(f[5]) {
			continue
		}
		if _, dup := out[f[0]]; !dup {
			out[f[0]] = filepath.Clean(f[5])
		}
	}
	return out
}

func TestParseAgreesWithSplitting(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	parts := []string{":", ":", ":", "x", "root", "/home/a", "/", "a/b", "", "#", "+", "-", "//x/../y", " ", "alice", "0"}
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for l := r.IntN(6); l >= 0; l-- {
			for k := r.IntN(14); k >= 0; k-- {
				b.WriteString(parts[r.IntN(len(parts))])
			}
			b.WriteByte('\n')
		}
		in := b.String()
		got, err := Parse(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if want := splitParse(in); !maps.Equal(got, want) {
			t.Fatalf("%q: got %v, want %v", in, got, want)
		}
	}
}

func TestLoginShell(t *testing.T) {
	in := "root:x:0:0:root:/root:/bin/bash\n+nis:x:1000:1000::/x:/bin/nis\nbad:1000\n" +
		"agent:x:1000:1000::/home/agent:/home/agent/.local/lib/hermes-exec/bash\nagain:x:1000:1000::/y:/bin/sh\nnosh:x:1002:1002::/z:\n"
	for uid, want := range map[int]string{0: "/bin/bash", 1000: "/home/agent/.local/lib/hermes-exec/bash", 1002: "", 4242: ""} {
		got, err := loginShell(strings.NewReader(in), uid)
		if err != nil || got != want {
			t.Errorf("uid %d: got %q, %v; want %q", uid, got, err, want)
		}
	}
}
