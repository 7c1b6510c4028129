// Command audit measures `hermes-exec audit verify` on an intact log of N
// records against its peer, `sha256sum` of the same file, in alternating
// runs, and prints the medians and their ratio. The log is written here in
// the documented format (seq from 0, prev = SHA-256 of the previous line
// with its newline), not by hermes-exec, so the benchmark also checks that
// format.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/hermes-exec", "hermes-exec to measure")
	n := flag.Int("records", 100_000, "records in the log")
	runs := flag.Int("n", 11, "runs of each")
	flag.Parse()
	home, err := os.MkdirTemp("", "hermes-bench-audit")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(home)
	path := filepath.Join(home, "audit.jsonl")
	size := write(path, *n)
	verify := func() {
		c := exec.Command(*bin, "audit", "verify")
		c.Env = append(os.Environ(), "HERMES_HOME="+home)
		if out, err := c.CombinedOutput(); err != nil {
			fail(fmt.Errorf("audit verify: %v\n%s", err, out))
		}
	}
	peer := func() {
		if out, err := exec.Command("sha256sum", path).CombinedOutput(); err != nil {
			fail(fmt.Errorf("sha256sum: %v\n%s", err, out))
		}
	}
	verify()
	peer() // warm the page cache for both
	var a, b []time.Duration
	for range *runs {
		a = append(a, timed(verify))
		b = append(b, timed(peer))
	}
	ma, mb := median(a), median(b)
	fmt.Printf("log: %d records, %.1f MiB\n", *n+1, float64(size)/(1<<20))
	fmt.Printf("hermes-exec audit verify  median %7.1f ms\n", ms(ma))
	fmt.Printf("sha256sum (peer)          median %7.1f ms\n", ms(mb))
	fmt.Printf("ratio verify/sha256sum    %.2f\n", float64(ma)/float64(mb))
}

func write(path string, n int) int {
	line := `{"seq":0,"prev":"","chain":{"kind":"genesis","nonce":"00112233445566778899aabbccddeeff"},"time":"2026-01-01T00:00:00Z","user":"me","cwd":"/","command":"","decision":"","verdict":"","findings":[],"backend":"","exit":null,"duration_ms":0}` + "\n"
	buf := []byte(line)
	for i := 1; i <= n; i++ {
		sum := sha256.Sum256([]byte(line))
		line = fmt.Sprintf(`{"seq":%d,"prev":"%s","time":"2026-01-01T00:00:00.123456789Z","session":"agent-1","user":"me","cwd":"/home/me/src/project","command":"git status && go test ./... -run TestSomething -count=1 # %d","decision":"allow","verdict":"ask","findings":[{"rule":"git-destructive","description":"rewrites history","command":"git push --force","pos":"1:1","decision":"ask"}],"approver":"me","channel":"tty","backend":"host","exit":0,"duration_ms":812.25}`+"\n", i, hex.EncodeToString(sum[:]), i)
		buf = append(buf, line...)
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		fail(err)
	}
	return len(buf)
}

func timed(f func()) time.Duration {
	t := time.Now()
	f()
	return time.Since(t)
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/audit:", err)
	os.Exit(1)
}
