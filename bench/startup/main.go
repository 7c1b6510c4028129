// Command startup measures what hermes-exec adds to every command: it runs
// `bash -c CMD` and `hermes-exec -c CMD` alternately (so drift in machine
// load hits both alike) and prints the medians and their ratio.
//
//	go run ./bench/startup -bin bin/hermes-exec -n 300
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/hermes-exec", "hermes-exec binary")
	n := flag.Int("n", 300, "runs of each")
	script := flag.String("c", "true", "the command")
	flag.Parse()

	home, err := os.MkdirTemp("", "hermes-bench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(home)
	env := append(os.Environ(), "HERMES_HOME="+home)

	abs, err := filepath.Abs(*bin)
	if err != nil {
		fail(err)
	}
	bash := []string{"bash", "-c", *script}
	hermes := []string{abs, "-c", *script}
	for i := 0; i < 20; i++ { // warm the page cache
		run(bash, env)
		run(hermes, env)
	}
	var tb, th []time.Duration
	for i := 0; i < *n; i++ {
		tb = append(tb, run(bash, env))
		th = append(th, run(hermes, env))
	}
	mb, mh := median(tb), median(th)
	fmt.Printf("command               %q\n", *script)
	fmt.Printf("bash -c               median %8.3f ms  p90 %8.3f ms\n", ms(mb), ms(pct(tb, 90)))
	fmt.Printf("hermes-exec -c        median %8.3f ms  p90 %8.3f ms\n", ms(mh), ms(pct(th, 90)))
	fmt.Printf("ratio (medians)       %.2f   (goal <= 1.5)\n", float64(mh)/float64(mb))
}

func run(argv, env []string) time.Duration {
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = env
	start := time.Now()
	if err := c.Run(); err != nil {
		fail(fmt.Errorf("%v: %w", argv, err))
	}
	return time.Since(start)
}

func median(d []time.Duration) time.Duration { return pct(d, 50) }

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "startup:", err)
	os.Exit(1)
}
