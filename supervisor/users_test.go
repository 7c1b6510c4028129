package supervisor

import (
	"strings"
	"testing"
)

// One user at max_commands is refused at once; another user is not held
// back; a finished command frees its slot.
func TestAdmitCapsPerUser(t *testing.T) {
	u := newUsers()
	r1, err := u.admit(1000, 2, 600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.admit(1000, 2, 600); err != nil {
		t.Fatal(err)
	}
	if _, err := u.admit(1000, 2, 600); err == nil || !strings.Contains(err.Error(), "max_commands 2") {
		t.Fatalf("third command at max_commands 2: %v", err)
	}
	if _, err := u.admit(1001, 2, 600); err != nil {
		t.Errorf("another user held back by the first one's cap: %v", err)
	}
	r1()
	r1() // twice is once
	if _, err := u.admit(1000, 2, 600); err != nil {
		t.Errorf("after one ended: %v", err)
	}
	if _, err := u.admit(1000, 2, 600); err == nil {
		t.Error("a double release freed two slots")
	}
}

// The rate limit lets a burst through, then refuses.
func TestAdmitRateLimit(t *testing.T) {
	u := newUsers()
	n := 0
	for i := 0; i < 100; i++ {
		release, err := u.admit(7, 1000, 60)
		if err != nil {
			if !strings.Contains(err.Error(), "max_rate 60") {
				t.Fatal(err)
			}
			break
		}
		release()
		n++
	}
	if n != 10 {
		t.Errorf("%d commands passed at max_rate 60 per minute, want the burst of 10", n)
	}
}

// Connections that send nothing are capped per user.
func TestConnectCapsPerUser(t *testing.T) {
	u := newUsers()
	var releases []func()
	for i := 0; i < maxConns; i++ {
		r, ok := u.connect(5)
		if !ok {
			t.Fatalf("connection %d refused", i)
		}
		releases = append(releases, r)
	}
	if _, ok := u.connect(5); ok {
		t.Fatal("a connection over the cap was taken")
	}
	if _, ok := u.connect(6); !ok {
		t.Fatal("another user refused")
	}
	releases[0]()
	if _, ok := u.connect(5); !ok {
		t.Fatal("a released connection was not freed")
	}
}
