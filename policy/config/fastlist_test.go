package config

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// sameAsLibrary checks that decode gives what the YAML library alone
// gives for data: the same Config, or the same error (line and message).
func sameAsLibrary(t *testing.T, data string) (fast bool) {
	t.Helper()
	want, got := Defaults(), Defaults()
	wantErr := decodeYAML(want, []byte(data))
	fast = decodeFast(Defaults(), data)
	gotErr := decode(got, data)
	if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
		t.Errorf("error differs for\n%s\nlibrary: %v\ndecode:  %v", data, wantErr, gotErr)
		return fast
	}
	if wantErr == nil && !reflect.DeepEqual(want, got) {
		t.Errorf("config differs for\n%s\nlibrary: %+v\ndecode:  %+v", data, want.Approvals, got.Approvals)
	}
	if fast && wantErr != nil {
		t.Errorf("the fast path took a file the library rejects:\n%s\n%v", data, wantErr)
	}
	return fast
}

// The usual shapes, what "Always" writes and what people write by hand,
// take the fast path and read the same.
func TestFastAllowlistUsualShapes(t *testing.T) {
	for _, data := range []string{
		"approvals:\n  allowlist:\n    - git push\n    - rm -rf ./build\n",
		"# mine\napprovals:\n  mode: default   # m\n  allowlist:           # prefixes\n    - git push   # ok\n\n    # a comment\n    - npm publish --tag next\n  deny:\n    - terraform destroy\nterminal:\n  backend: host\n",
		"approvals:\n  allowlist:\n  - git push\n  - make deploy\n  timeout: 5m\n",
		"approvals:\n  allowlist:\n    - curl https://example.com/a#b\n    - echo a,b [x] {y}\n    - /usr/bin/systemctl restart nginx\n    - ./deploy.sh --env=prod\n    - 123\n    - true\n",
		"approvals:\n  allowlist:\n    - git push",
		"other:\n  allowlist:\n    - not this\napprovals:\n  allowlist:\n    - git push\ngateway:\n  telegram:\n    allowlist: [1, 2]\n",
	} {
		if !sameAsLibrary(t, data) {
			t.Errorf("the usual shape did not take the fast path:\n%s", data)
		}
	}
}

// Shapes the scan must leave to the library, each read (or rejected,
// with its line) exactly as the library does.
func TestFastAllowlistLeavesTheRest(t *testing.T) {
	for _, data := range []string{
		"approvals:\n  allowlist:\n    - git push\n      --force\n",          // a continued item
		"approvals:\n  allowlist:\n    - a: b\n",                             // a mapping
		"approvals:\n  allowlist:\n    - ~\n",                                // null
		"approvals:\n  allowlist:\n    - null\n",                             // null
		"approvals:\n  allowlist:\n    - 'git push'\n    - \"rm -rf x\"\n",   // quoted
		"approvals:\n  allowlist:\n    - git push\n   - rm\n",                // bad indentation
		"approvals:\n  allowlist:\n    - git push\n  - rm\n",                 // a sequence where a key belongs
		"approvals:\n  allowlist:\n    - git push\n\t- rm\n",                 // a tab
		"approvals:\r\n  allowlist:\r\n    - git push\r\n",                   // CRLF
		"approvals:\n  allowlist:\n    - git push\n  allowlist:\n    - rm\n", // a duplicate key
		"approvals: {\n  allowlist:\n    - git push\n}\n",                    // flow style
		"approvals:\n  allowlist:\n    - git push\n    - [a, b]\n",           // a nested list
		"approvals:\n  allowlist:\n    - git push\n    - *x\n",               // an alias
		"approvals:\n  allowlist:\n    - git push\n    -\n",                  // an empty item
		"approvals:\n  allowlist:\n    - gït push\n",                         // non-ASCII
		"approvals:\n  allowlist:\n    - a # x\ry\n",                         // a lone CR in a comment
		"approvals:\n  allowlist:\n    - a # x\u0085y\n",                     // NEL in a comment
		"approvals:\n  allowlist:\n    - a # x\u2028y: z\n",                  // LS in a comment
		"approvals:\n  allowlist:\n    - a\n    # x\x01\n    - b\n",          // a control character in a comment
		"approvals:\n  allowlist:\n    - a\n    # x\ry\n    - b\n",           // CR in a comment line
		"approvals:\n  mode: bogus\n  allowlist:\n    - git push\n",          // a bad value elsewhere
		"approvals:\n  allowlist:\n    - git push\n  timeout: [\n",           // broken YAML after the list
		"approvals:\n  timeout: [\n  allowlist:\n    - git push\n",           // broken YAML before the list
		"x: |\n  approvals:\n  allowlist:\n    - git push\n",                 // inside a block scalar
		"x: \"\napprovals:\n  allowlist:\n    - git push\"\n",                // inside a quoted scalar
		"--- |\napprovals:\n  allowlist:\n    - git push\n",                  // the document is a scalar
		"approvals:\n  timeouts:\n    allowlist:\n      - git push\n",        // another key's allowlist
		"approvals:\n  allowlist:\n    - git push\n  deny: git push --force\n",
		"approvals:\n  allowlist:\n    - git push\n---\napprovals:\n  allowlist:\n    - rm\n",
	} {
		sameAsLibrary(t, data)
	}
}

// Generated files: entries of every character class on lines of every
// shape around them; whatever path decode takes, it reads what the library
// reads.
func TestFastAllowlistGenerated(t *testing.T) {
	words := []string{"git", "push", "-f", "--force", "a#b", "#c", "x:y", "x:", ":", "'q'", "\"d\"", "~", "null", "&a", "*a", "!t", "%p", "@u", "`b`", "[l]", "{m}", "a,b", "|", ">", "?", "1", "0x1f", "true", ".inf", "./x", "../y", "~/z", "$HOME", "a\\b"}
	around := []string{"", "  # c\n", "\n", "    # c\n", "  deny:\n    - rm\n", "  mode: off\n", "      more\n", "  - stray\n", "terminal:\n  backend: sandbox\n"}
	n, fast := 0, 0
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		b.WriteString("approvals:\n")
		b.WriteString(around[i%len(around)])
		b.WriteString("  allowlist:")
		if i%5 == 0 {
			b.WriteString("   # entries")
		}
		b.WriteString("\n")
		for e := 0; e < 1+i%7; e++ {
			b.WriteString("    - ")
			// Padding moves the words across usualItem's blocks of
			// eight bytes.
			b.WriteString("padding/xyz"[:(i+e)%11])
			for w := 0; w < 1+(i+e)%3; w++ {
				if w > 0 {
					b.WriteString(" ")
				}
				b.WriteString(words[(i*7+e*3+w*11)%len(words)])
			}
			if (i+e)%6 == 0 {
				b.WriteString("  # why")
			}
			b.WriteString("\n")
		}
		b.WriteString(around[(i/len(around))%len(around)])
		n++
		if sameAsLibrary(t, b.String()) {
			fast++
		}
		if t.Failed() {
			return
		}
	}
	if fast == 0 || fast == n {
		t.Errorf("%d of %d generated files took the fast path: the test covers only one side", fast, n)
	}
}

// usualItem, the scan's quick look at an item after the first, takes
// only what plainItem takes, as it is; and it does take the usual item
// (else the quick look would be dead and the test of it empty).
func TestUsualItemIsPlainItem(t *testing.T) {
	alphabet := []string{"a", "b", "-", " ", "  ", "#", ":", "~", "'", "\"", "/", ".", "=", "*", "&", "!", "%", "@", "`", "[", "{", ",", "?", "|", ">", "\t", "\r", "\x00", "\x7f", "\xc3\xa9", "null", "Null", "NULL"}
	r := rand.New(rand.NewSource(1))
	taken := 0
	for i := 0; i < 200000; i++ {
		var b strings.Builder
		for n := r.Intn(12); n >= 0; n-- {
			if r.Intn(3) == 0 {
				b.WriteString(alphabet[r.Intn(len(alphabet))])
			} else {
				b.WriteString("abcdefgh"[:1+r.Intn(8)])
			}
		}
		v := b.String()
		if !usualItem(v) {
			continue
		}
		taken++
		if got, ok := plainItem(v); !ok || got != v {
			t.Fatalf("%q: usualItem takes it, plainItem gives %q, %v", v, got, ok)
		}
	}
	if taken == 0 {
		t.Fatal("usualItem took nothing")
	}
	// Each byte plainItem refuses, or reads otherwise, at every place of
	// a long value (usualItem looks at eight bytes at a time).
	for _, bad := range []string{"#", ":", "\t", "\r", "\x00", "\x7f", "\xc3"} {
		for at := 0; at <= 20; at++ {
			v := strings.Repeat("x", at) + bad + strings.Repeat("y", 20-at)
			if usualItem(v) {
				t.Errorf("%q taken", v)
			}
		}
	}
}

func FuzzFastAllowlist(f *testing.F) {
	f.Add("approvals:\n  allowlist:\n    - git push\n    - rm -rf ./build # x\n")
	f.Add("approvals:\n  allowlist:\n  - a\n  deny:\n  - b\n")
	f.Add("approvals:\n  allowlist:\n    - a\n     b\n")
	f.Fuzz(func(t *testing.T, data string) {
		sameAsLibrary(t, data)
	})
}

func BenchmarkLoadLongAllowlist(b *testing.B) {
	for _, n := range []int{10, 10000} {
		var s strings.Builder
		s.WriteString("approvals:\n  allowlist:\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&s, "    - git push target%d\n", i)
		}
		data := s.String()
		b.Run(fmt.Sprintf("entries=%d/decode", n), func(b *testing.B) {
			for b.Loop() {
				if err := decode(Defaults(), data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("entries=%d/library", n), func(b *testing.B) {
			for b.Loop() {
				if err := decodeYAML(Defaults(), []byte(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
