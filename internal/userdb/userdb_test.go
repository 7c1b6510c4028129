package userdb

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := "root:x:0:0:root:/root:/bin/bash\n# comment\n\nalice:x:1000:1000:Alice,,,:/home/alice/:/bin/bash\n" +
		"bad line\nweird:x:1:1::relative/home:/bin/sh\n+nis::::::\nalice:x:1001:1001::/elsewhere:/bin/sh\n"
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"root": "/root", "alice": "/home/alice"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}

func TestHomesReadsTheMachine(t *testing.T) {
	h, err := Homes()
	if err != nil {
		t.Fatalf("reading the user database: %v", err)
	}
	if h["root"] == "" {
		t.Errorf("root has no home in %s: %v", PasswdFile, h)
	}
}
