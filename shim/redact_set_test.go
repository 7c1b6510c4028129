package shim

import (
	"slices"
	"testing"
)

// One set of secrets on every path: secret-looking names, .env's names,
// and everything when .env could not be read.
func TestSecretSet(t *testing.T) {
	env := []string{"GITHUB_TOKEN=ghp_abcdefgh", "MY_SERVICE_URL=https://u:p@x", "PLAIN=visible-value", "SHORT_TOKEN=abc", "MINE=12345"}
	got := SecretSet(env, []string{"MY_SERVICE_URL", "MINE"}, true)
	for _, want := range []string{"ghp_abcdefgh", "https://u:p@x"} {
		if !slices.Contains(got, want) {
			t.Errorf("%q not masked: %q", want, got)
		}
	}
	for _, not := range []string{"visible-value", "abc", "12345"} {
		if slices.Contains(got, not) {
			t.Errorf("%q masked (not secret, or shorter than the minimum): %q", not, got)
		}
	}
	all := SecretSet(env, nil, false)
	if !slices.Contains(all, "visible-value") {
		t.Errorf(".env unreadable: every value should count, got %q", all)
	}
	for i := 1; i < len(all); i++ {
		if len(all[i]) > len(all[i-1]) {
			t.Fatalf("not longest first: %q", all)
		}
	}
}
