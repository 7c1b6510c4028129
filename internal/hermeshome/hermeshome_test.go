package hermeshome

import (
	"os"
	"testing"

	"hermes-exec/internal/testutil"
)

// $HOME plays no part: the user database names the home (issue 7: with
// HOME=/nonexistent every command used to be denied).
func TestFindIgnoresHOME(t *testing.T) {
	want, err := UserHome(os.Getuid())
	if err != nil {
		testutil.Skip(t, "this uid has no home in the user database: %v", err)
	}
	if _, err := os.Stat(want); err != nil {
		testutil.Skip(t, "this uid's home %s does not exist: %v", want, err)
	}
	env := func(k string) string {
		if k == "HOME" {
			return "/nonexistent"
		}
		return ""
	}
	got, err := Find(env, os.Getuid())
	if err != nil || got != Default(want) {
		t.Fatalf("Find = %q, %v; want %q", got, err, Default(want))
	}
	env2 := func(k string) string {
		if k == "HERMES_HOME" {
			return "/custom/hermes"
		}
		return ""
	}
	if got, err := Find(env2, os.Getuid()); err != nil || got != "/custom/hermes" {
		t.Fatalf("HERMES_HOME not honoured: %q %v", got, err)
	}
}

// A uid the user database does not know gets an error that says what to set.
func TestFindWithoutAHome(t *testing.T) {
	_, err := Find(func(string) string { return "" }, 4242)
	if _, lerr := UserHome(4242); lerr == nil {
		testutil.Skip(t, "uid 4242 exists in this user database")
	}
	if err == nil || err != ErrNoHome {
		t.Fatalf("err %v", err)
	}
}
