package policy

import (
	"testing"
)

// The patterns are compiled lazily, so an invalid one would only panic on
// the command that first needs it. Compile every one of them here.
func TestLazyRegexpsCompile(t *testing.T) {
	all := []*lazyRegexp{sensitiveInCode, hermesInCode, envInCode, netInCode, writeInCode, sedExec,
		sqlComment, sqlDrop, sqlTruncate, sqlDelete, sqlUpdate, sqlWhere, sqlAlterDrop, sqlAttachCmd, mongoDanger, declWords}
	for _, re := range codePatterns {
		all = append(all, re)
	}
	for _, re := range all {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("pattern %q does not compile: %v", re.src, r)
				}
			}()
			if first := re.get(); first == nil || re.get() != first {
				t.Errorf("pattern %q: not compiled once", re.src)
			}
		}()
	}
}
