package bytetab

import (
	"math/rand"
	"testing"
)

// None agrees with a byte loop on every length around the chunk size and
// with the marked byte at every position.
func TestNoneAgreesWithALoop(t *testing.T) {
	var tab Table
	for _, b := range []byte("#:\x00\x7f\xff") {
		tab[b] = 1
	}
	loop := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if tab[s[i]] != 0 {
				return false
			}
		}
		return true
	}
	r := rand.New(rand.NewSource(1))
	for n := 0; n <= 40; n++ {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte('a' + r.Intn(26))
		}
		if !None(string(buf), &tab) {
			t.Fatalf("len %d: a clean text was refused", n)
		}
		for at := 0; at < n; at++ {
			for _, bad := range []byte("#:\x00\x7f\xff") {
				c := append([]byte(nil), buf...)
				c[at] = bad
				if None(string(c), &tab) || loop(string(c)) {
					t.Fatalf("len %d: %q at %d not seen", n, bad, at)
				}
			}
		}
	}
	for i := 0; i < 20000; i++ {
		buf := make([]byte, r.Intn(70))
		for j := range buf {
			buf[j] = byte(r.Intn(256))
		}
		if None(string(buf), &tab) != loop(string(buf)) {
			t.Fatalf("%q: None and the loop disagree", buf)
		}
	}
}
