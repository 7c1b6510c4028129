package policy

import (
	"regexp"
	"sync"
)

// lazyRegexp is compiled the first time it is used. The patterns here scan
// other languages' code and SQL, which few commands contain; compiling them
// all at start-up would cost every command (this runs once per process).
type lazyRegexp struct {
	once sync.Once
	src  string
	re   *regexp.Regexp
}

// regexpMust declares a pattern; it panics on first use if it is invalid,
// which TestLazyRegexpsCompile catches.
func regexpMust(src string) *lazyRegexp { return &lazyRegexp{src: src} }

func (l *lazyRegexp) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.src) })
	return l.re
}

func (l *lazyRegexp) MatchString(s string) bool { return l.get().MatchString(s) }

func (l *lazyRegexp) FindString(s string) string { return l.get().FindString(s) }

func (l *lazyRegexp) ReplaceAllString(src, repl string) string {
	return l.get().ReplaceAllString(src, repl)
}

func (l *lazyRegexp) FindStringSubmatch(s string) []string { return l.get().FindStringSubmatch(s) }

func (l *lazyRegexp) Split(s string, n int) []string { return l.get().Split(s, n) }
