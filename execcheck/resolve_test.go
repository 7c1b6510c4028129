package execcheck

import "testing"

func TestSplitBase(t *testing.T) {
	for _, c := range []struct{ p, base, rest string }{
		{"/proc/12/root/usr/bin/x", "/proc/12/root", "usr/bin/x"},
		{"/proc/12/cwd/./a.sh", "/proc/12/cwd", "./a.sh"},
		{"/proc/12/fd/3", "/proc/12/fd/3", ""},
		{"/proc/12/fd/3/x", "/proc/12/fd/3", "x"},
		{"/proc/12/environ", "/proc/12/environ", ""},
		{"/proc/self/fd/0", "", "/proc/self/fd/0"},
		{"/proc//self/fd/0", "", "/proc//self/fd/0"},
		{"/usr/bin/true", "", "/usr/bin/true"},
	} {
		if b, r := splitBase(c.p); b != c.base || r != c.rest {
			t.Errorf("splitBase(%q) = %q, %q; want %q, %q", c.p, b, r, c.base, c.rest)
		}
	}
}
