// Command abverdicts prints policy's verdict on every text of a corpus, one
// JSON line each (name, decision, findings with their reasons and
// positions, and a hash of the approval key), so that two builds of policy
// can be compared: bench/abverdicts.sh runs it on two trees and diffs the
// outputs. The corpus: the JSON Lines corpora in policy/testdata; every
// string literal in policy's and tests/'s Go test files (the tests' command
// tables), classified as a command; this machine's shell scripts (the list
// bench/execcheck/scripts.sh classifies), each alone and all concatenated
// into one large text (so that the split parse and the overlapped walk of a
// large script are compared too); the two 1 MiB texts bench/hotpath.sh
// times. Each text is classified with the default rules, under exec
// checks, and with exec checks deferring programs.
//
//	go run ./bench/abverdicts -repo DIR > verdicts.jsonl
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"hermes-exec/internal/benchinput"
	"hermes-exec/policy"
)

type text struct{ name, s string }

func main() {
	repo := flag.String("repo", ".", "the tree whose corpora and tests are read (use the same one for both builds)")
	flag.Parse()
	var texts []text
	texts = append(texts, corpora(*repo)...)
	texts = append(texts, testLiterals(*repo)...)
	scripts := systemScripts()
	texts = append(texts, scripts...)
	var all strings.Builder
	for _, t := range scripts {
		all.WriteString(t.s)
		if !strings.HasSuffix(t.s, "\n") {
			all.WriteByte('\n')
		}
	}
	texts = append(texts, text{"system scripts concatenated", all.String()})
	texts = append(texts, text{"BigScript(1 MiB)", benchinput.BigScript(1 << 20)})
	texts = append(texts, text{"EchoLines(1 MiB)", benchinput.EchoLines(1 << 20)})

	rules := []struct {
		name string
		r    policy.Rules
	}{
		{"default", policy.Rules{Allowlist: []string{"git push", "rm -rf ./build"}, Deny: []string{"curl"}}},
		{"exec-checked", policy.Rules{ExecChecked: true}},
		{"defer", policy.Rules{DeferPrograms: true}},
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for _, rs := range rules {
		c, err := policy.NewClassifier(rs.r)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, t := range texts {
			v := c.Classify(t.s)
			nk := c.ClassifyNoKey(t.s)
			key := sha256.Sum256([]byte(v.Key))
			line, err := json.Marshal(struct {
				Rules, Name string
				Verdict     policy.Verdict
				NoKey       policy.Verdict
				Key         string
			}{rs.name, t.name, v, nk, hex.EncodeToString(key[:8])})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			out.Write(line)
			out.WriteByte('\n')
		}
	}
}

// corpora reads the "cmd" of every line of policy/testdata/*.jsonl.
func corpora(repo string) []text {
	files, _ := filepath.Glob(filepath.Join(repo, "policy/testdata/*.jsonl"))
	sort.Strings(files)
	var out []text
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for i, l := range bytes.Split(b, []byte("\n")) {
			var e struct {
				Cmd string `json:"cmd"`
			}
			if json.Unmarshal(l, &e) == nil && e.Cmd != "" {
				out = append(out, text{fmt.Sprintf("%s:%d", filepath.Base(f), i+1), e.Cmd})
			}
		}
	}
	return out
}

// testLiterals is every distinct string literal of the Go test files in
// policy/ and tests/: their tables of commands, with the odd message among
// them (classifying that too costs nothing).
func testLiterals(repo string) []text {
	var files []string
	for _, d := range []string{"policy", "tests"} {
		m, _ := filepath.Glob(filepath.Join(repo, d, "*_test.go"))
		files = append(files, m...)
	}
	sort.Strings(files)
	seen := map[string]bool{}
	var out []text
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		ast.Inspect(af, func(n ast.Node) bool {
			l, ok := n.(*ast.BasicLit)
			if !ok || l.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(l.Value)
			if err != nil || s == "" || seen[s] || len(s) > 1<<16 {
				return true
			}
			seen[s] = true
			out = append(out, text{fset.Position(l.Pos()).String(), s})
			return true
		})
	}
	return out
}

var shebang = regexp.MustCompile(`^#! ?(/usr)?/bin/(env )?(ba|da)?sh\b`)

// systemScripts: the shell scripts in /usr/bin, /usr/sbin, /etc/init.d and
// git-core, chosen as bench/execcheck/scripts.sh chooses them.
func systemScripts() []text {
	var out []text
	for _, d := range []string{"/usr/bin", "/usr/sbin", "/etc/init.d", "/usr/lib/git-core"} {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				continue
			}
			p := filepath.Join(d, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			first, _, _ := bytes.Cut(b[:min(len(b), 64)], []byte("\n"))
			if !shebang.Match(first) {
				continue
			}
			out = append(out, text{p, string(b)})
		}
	}
	return out
}
