// Command hotpath measures what hermes-exec adds to the commands agents run
// most, each row as a ratio to its peer in the same run: `hermes-exec -c
// CMD` against `bash -c CMD` (in pipe mode and on a pseudo-terminal), the
// 10,000-entry allowlist against the 10-entry one, and the classification
// of a 1 MiB script and of 1 MiB of echo lines (`hermes-exec check`)
// against `bash -n` of it. Runs of a
// row alternate between the two sides, so drift in the machine's load hits
// both alike; the figures are medians.
//
// With -before BIN, every row also runs an older build in the same
// rotation, so before and after are compared in one run.
//
//	go run ./bench/hotpath -bin bin/hermes-exec -n 200
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"hermes-exec/internal/benchinput"
	"hermes-exec/pty"
)

func main() {
	bin := flag.String("bin", "bin/hermes-exec", "hermes-exec binary")
	before := flag.String("before", "", "an older hermes-exec binary to compare in the same run")
	n := flag.Int("n", 200, "runs of each side of a row")
	only := flag.String("only", "", "run only the rows whose name contains this")
	flag.Parse()

	abs := mustAbs(*bin)
	var old string
	if *before != "" {
		old = mustAbs(*before)
	}
	repo := mustAbs(".")
	tmp, err := os.MkdirTemp("", "hermes-hotpath")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)

	// Both builds run from copies, as installed programs do (make install
	// copies them): a binary the Go linker has just written runs ~1 ms
	// slower per command on this VM until its pages leave the page cache
	// (measured: dropping them with fadvise and reading the file back
	// made it as fast as its copy), so a fresh build against a copied one
	// would not be like for like.
	abs = stage(tmp, "new", abs)
	if old != "" {
		old = stage(tmp, "old", old)
	}

	small := mkHome(tmp, "home10", allowlist(10))
	big := mkHome(tmp, "home10000", allowlist(10000))
	script := filepath.Join(tmp, "script.sh")
	if err := os.WriteFile(script, []byte(benchinput.BigScript(1<<20)), 0o644); err != nil {
		fail(err)
	}
	echoes := filepath.Join(tmp, "echoes.sh")
	if err := os.WriteFile(echoes, []byte(benchinput.EchoLines(1<<20)), 0o644); err != nil {
		fail(err)
	}

	type row struct {
		name, goal string
		limit      float64
		peer       side
		sides      func(bin string) side
	}
	shell := func(cmd string, tty bool) func(string) side {
		return func(bin string) side {
			return side{argv: []string{bin, "-c", cmd}, home: small, tty: tty}
		}
	}
	bashSide := func(cmd string, tty bool) side {
		return side{argv: []string{"bash", "-c", cmd}, home: small, tty: tty}
	}
	var rows []row
	for _, tty := range []bool{false, true} {
		mode := "pipe"
		if tty {
			mode = "pty"
		}
		for _, c := range []struct {
			cmd   string
			limit float64
		}{{"true", 2.2}, {"ls -la", 1.3}, {"git status", 1.3}, {"cat README.md", 1.3}} {
			rows = append(rows, row{
				name: fmt.Sprintf("%s -c %q", mode, c.cmd), goal: fmt.Sprintf("<= %.1fx bash -c", c.limit),
				limit: c.limit, peer: bashSide(c.cmd, tty), sides: shell(c.cmd, tty),
			})
		}
	}
	rows = append(rows, row{
		name: "allowlist 10000 vs 10, -c true", goal: "<= 1.1x 10 entries", limit: 1.1,
		// The peer is the same binary with a 10-entry allowlist.
		sides: func(bin string) side {
			return side{argv: []string{bin, "-c", "true"}, home: big}
		},
	})
	for _, s := range []struct{ name, path string }{{"check 1 MiB script", script}, {"check 1 MiB of echo lines", echoes}} {
		rows = append(rows, row{
			name: s.name, goal: "<= 1.0x bash -n", limit: 1.0,
			peer: side{argv: []string{"bash", "-n", s.path}, home: small},
			sides: func(bin string) side {
				return side{argv: []string{bin, "check", "--json"}, stdin: s.path, home: small, okCodes: []int{0, 1, 2}}
			},
		})
	}

	fmt.Printf("%-34s %10s %10s %7s %7s  %s\n", "row", "peer ms", "hermes ms", "ratio", "before", "goal")
	for _, r := range rows {
		if *only != "" && !strings.Contains(r.name, *only) {
			continue
		}
		peer := r.peer
		if peer.argv == nil { // the allowlist row: the same binary, 10 entries
			peer = side{argv: []string{abs, "-c", "true"}, home: small}
		}
		sides := []side{peer, r.sides(abs)}
		if old != "" {
			o := r.sides(old)
			if r.peer.argv == nil {
				o.peerOf = &side{argv: []string{old, "-c", "true"}, home: small}
			}
			sides = append(sides, o)
			if o.peerOf != nil {
				sides = append(sides, *o.peerOf)
			}
		}
		times := make([][]time.Duration, len(sides))
		for i := 0; i < *n+10; i++ {
			for j, s := range sides {
				d := s.run(repo)
				if i >= 10 { // the first runs warm the page cache
					times[j] = append(times[j], d)
				}
			}
		}
		mp, mh := median(times[0]), median(times[1])
		ratio := float64(mh) / float64(mp)
		beforeCol := "-"
		if old != "" {
			mo := median(times[2])
			peerOld := mp
			if len(sides) == 4 {
				peerOld = median(times[3])
			}
			beforeCol = fmt.Sprintf("%.2f", float64(mo)/float64(peerOld))
		}
		mark := "ok"
		if ratio > r.limit {
			mark = "MISSED"
		}
		fmt.Printf("%-34s %10.3f %10.3f %7.2f %7s  %s %s\n", r.name, ms(mp), ms(mh), ratio, beforeCol, r.goal, mark)
	}
}

// side is one command of a row.
type side struct {
	argv    []string
	home    string // HERMES_HOME
	tty     bool   // on a fresh pseudo-terminal (stdin, stdout, stderr; controlling)
	stdin   string // a file as stdin (pipe mode)
	okCodes []int  // exit statuses that are not a failure (default 0)
	peerOf  *side
}

func (s side) run(dir string) time.Duration {
	c := exec.Command(s.argv[0], s.argv[1:]...)
	c.Dir = dir
	c.Env = append(os.Environ(), "HERMES_HOME="+s.home)
	var master *os.File
	var drained chan struct{}
	if s.tty {
		m, t, err := pty.Open()
		if err != nil {
			fail(err)
		}
		master = m
		c.Stdin, c.Stdout, c.Stderr = t, t, t
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		drained = make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, m); close(drained) }()
		defer func() { t.Close() }()
	} else if s.stdin != "" {
		f, err := os.Open(s.stdin)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		c.Stdin = f
	}
	start := time.Now()
	err := c.Run()
	d := time.Since(start)
	if master != nil {
		master.Close()
		<-drained
	}
	if err != nil {
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if !slices.Contains(s.okCodes, code) {
			fail(fmt.Errorf("%v: %w", s.argv, err))
		}
	}
	return d
}

// stage copies bin, and the hermes-exec-admin beside it if there is one
// (the subcommands' rows need it), into a new directory name under tmp,
// and returns the copy's path.
func stage(tmp, name, bin string) string {
	dir := filepath.Join(tmp, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		fail(err)
	}
	for _, src := range []string{bin, filepath.Join(filepath.Dir(bin), "hermes-exec-admin")} {
		in, err := os.Open(src)
		if err != nil {
			if src != bin && os.IsNotExist(err) {
				continue
			}
			fail(err)
		}
		out, err := os.OpenFile(filepath.Join(dir, filepath.Base(src)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
		if err == nil {
			_, err = io.Copy(out, in)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		in.Close()
		if err != nil {
			fail(err)
		}
	}
	return filepath.Join(dir, filepath.Base(bin))
}

// mkHome makes a HERMES_HOME whose config.yaml has the given allowlist.
func mkHome(tmp, name string, allow []string) string {
	dir := filepath.Join(tmp, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		fail(err)
	}
	var b strings.Builder
	b.WriteString("approvals:\n  allowlist:\n")
	for _, a := range allow {
		fmt.Fprintf(&b, "    - %s\n", a)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(b.String()), 0o600); err != nil {
		fail(err)
	}
	return dir
}

// allowlist is n distinct entries shaped like real ones.
func allowlist(n int) []string {
	progs := []string{"git push", "npm publish", "docker rm", "kubectl delete pod", "terraform apply", "make deploy", "rm -rf build", "cargo publish"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s target%d", progs[i%len(progs)], i)
	}
	return out
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		fail(err)
	}
	return a
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "hotpath:", err)
	os.Exit(1)
}
