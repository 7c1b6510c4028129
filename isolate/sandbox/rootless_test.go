package sandbox

import (
	"reflect"
	"testing"
)

func TestInCallerUserns(t *testing.T) {
	b := &backend{tmpl: &template{nested: false}}
	args := []string{"/proc/self/fd/3", reaperArg, "run", "--", "true"}
	if got := b.inCallerUserns(args); !reflect.DeepEqual(got, args) {
		t.Errorf("root: %q, want it unchanged", got)
	}
	b.tmpl.nested = true
	got := b.inCallerUserns(args)
	if len(got) != len(args)+3 || got[0] != args[0] || got[1] != usernsArg || !reflect.DeepEqual(got[4:], args[1:]) {
		t.Errorf("rootless: %q", got)
	}
}
