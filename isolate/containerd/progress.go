package containerd

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/docker/go-units"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows what a long image step does: a bar on a terminal, one
// plain line per step otherwise (logs, CI), so that neither a user nor a log
// reader waits without knowing why.
type progress struct {
	w   io.Writer
	tty bool
}

func newProgress(w *os.File) *progress {
	return &progress{w: w, tty: term.IsTerminal(int(w.Fd()))}
}

// step announces one step.
func (p *progress) step(format string, a ...any) {
	fmt.Fprintf(p.w, format+"\n", a...)
}

// reader counts the bytes read from r of total: a bar on a terminal, a
// line at the start and at the end otherwise.
func (p *progress) reader(r io.Reader, total int64, what string) (io.Reader, func()) {
	if !p.tty {
		p.step("reading %s (%s)", what, units.HumanSize(float64(total)))
		cr := &countReader{r: r}
		return cr, func() { p.step("read %s of %s", units.HumanSize(float64(cr.n)), what) }
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("reading "+what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
	pr := progressbar.NewReader(r, bar)
	return &pr, func() { _ = bar.Finish() }
}

// layers shows unpacking layer i of n: a bar counting layers on a
// terminal, a line per layer otherwise.
func (p *progress) layers(n int, what string) func(i int, size int64) {
	if !p.tty {
		return func(i int, size int64) {
			p.step("unpacking %s: layer %d/%d (%s)", what, i+1, n, units.HumanSize(float64(size)))
		}
	}
	bar := progressbar.NewOptions(n,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("unpacking "+what),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
	return func(i int, size int64) {
		bar.Describe(fmt.Sprintf("unpacking %s: layer %d/%d (%s)", what, i+1, n, units.HumanSize(float64(size))))
		_ = bar.Set(i + 1)
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}
