package pairing

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T) (*Store, *clock) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return &Store{Dir: filepath.Join(t.TempDir(), "pairing"), Now: c.now}, c
}

func TestCodesUseTheAlphabetAndDiffer(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c := NewCode()
		if len(c) != CodeLen {
			t.Fatalf("code %q has %d characters", c, len(c))
		}
		for _, r := range c {
			if !strings.ContainsRune(Alphabet, r) {
				t.Fatalf("code %q has %q, not in %s", c, r, Alphabet)
			}
		}
		if seen[c] {
			t.Fatalf("code %q issued twice in 2000 draws", c)
		}
		seen[c] = true
	}
	// Every letter of the alphabet turns up: no bias cutting some off.
	all := strings.Join(mapKeys(seen), "")
	for _, r := range Alphabet {
		if !strings.ContainsRune(all, r) {
			t.Errorf("%q never drawn in 16000 characters", r)
		}
	}
}

func mapKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPairingConfirmsTheRequester(t *testing.T) {
	s, _ := newStore(t)
	code, err := s.Request("telegram", "12345", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if s.IsApproved("telegram", "12345") {
		t.Fatal("approved before the code was confirmed")
	}
	a, err := s.Approve("telegram", strings.ToLower(code[:4])+"-"+code[4:])
	if err != nil {
		t.Fatalf("confirming %s: %v", code, err)
	}
	if a.ID != "12345" || a.Name != "alice" || a.Platform != "telegram" {
		t.Fatalf("approved %+v", a)
	}
	if !s.IsApproved("telegram", "12345") || s.IsApproved("web", "12345") || s.IsApproved("telegram", "1234") {
		t.Fatal("approval does not name exactly telegram:12345")
	}
	if _, err := s.Approve("telegram", code); !errors.Is(err, ErrNoSuchCode) {
		t.Fatalf("a code confirmed twice: %v", err)
	}
	if ok, err := s.Revoke("telegram", "12345"); err != nil || !ok {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if s.IsApproved("telegram", "12345") {
		t.Fatal("still approved after revoke")
	}
}

func TestCodesAreNeverOnDiskInClear(t *testing.T) {
	s, _ := newStore(t)
	var codes []string
	for _, id := range []string{"1", "2", "3"} {
		c, err := s.Request("telegram", id, "n"+id)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, c)
	}
	ents, _ := os.ReadDir(s.Dir)
	for _, e := range ents {
		p := filepath.Join(s.Dir, e.Name())
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
		data, _ := os.ReadFile(p)
		for _, c := range codes {
			if strings.Contains(strings.ToUpper(string(data)), c) {
				t.Errorf("%s holds the code %s in clear", e.Name(), c)
			}
		}
	}
	if fi, _ := os.Stat(s.Dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("pairing dir mode %v", fi.Mode().Perm())
	}
	l, err := s.List()
	if err != nil || len(l.Pending) != 3 {
		t.Fatalf("list: %v %+v", err, l)
	}
	for _, p := range l.Pending {
		if p.Hash != "" || p.Salt != "" {
			t.Error("List shows hashes")
		}
	}
}

func TestOneCodePerRequesterPerTenMinutes(t *testing.T) {
	s, clk := newStore(t)
	if _, err := s.Request("telegram", "7", "x"); err != nil {
		t.Fatal(err)
	}
	clk.add(RequestInterval - time.Second)
	if _, err := s.Request("telegram", "7", "x"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("second code within 10 min: %v", err)
	}
	// Another requester is not held up.
	if _, err := s.Request("telegram", "8", "y"); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Second)
	code, err := s.Request("telegram", "7", "x")
	if err != nil {
		t.Fatalf("after 10 min: %v", err)
	}
	// The new code replaced the old one: still two pending, not three.
	l, _ := s.List()
	if len(l.Pending) != 2 {
		t.Fatalf("pending %d, want 2", len(l.Pending))
	}
	if _, err := s.Approve("telegram", code); err != nil {
		t.Fatal(err)
	}
}

func TestAtMostThreePendingPerPlatform(t *testing.T) {
	s, clk := newStore(t)
	for _, id := range []string{"1", "2", "3"} {
		if _, err := s.Request("telegram", id, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Request("telegram", "4", ""); !errors.Is(err, ErrTooMany) {
		t.Fatalf("fourth pending code: %v", err)
	}
	if _, err := s.Request("web", "4", ""); err != nil {
		t.Fatalf("another platform is separate: %v", err)
	}
	// Codes expire after an hour, and make room.
	clk.add(CodeTTL)
	code, err := s.Request("telegram", "4", "")
	if err != nil {
		t.Fatalf("after the others expired: %v", err)
	}
	if _, err := s.Approve("telegram", code); err != nil {
		t.Fatal(err)
	}
}

func TestExpiredCodeDoesNotPair(t *testing.T) {
	s, clk := newStore(t)
	code, _ := s.Request("web", "abc", "")
	clk.add(CodeTTL + time.Second)
	if _, err := s.Approve("web", code); !errors.Is(err, ErrNoSuchCode) {
		t.Fatalf("expired code: %v", err)
	}
	if s.IsApproved("web", "abc") {
		t.Fatal("paired with an expired code")
	}
}

func TestFiveFailuresLockThePlatformBeforeLookup(t *testing.T) {
	s, clk := newStore(t)
	good, _ := s.Request("telegram", "1", "")
	for i := 0; i < MaxFailures-1; i++ {
		if _, err := s.Approve("telegram", "AAAAAAAA"); !errors.Is(err, ErrNoSuchCode) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// A success resets the count.
	if _, err := s.Approve("telegram", good); err != nil {
		t.Fatal(err)
	}
	good2, _ := s.Request("telegram", "2", "")
	for i := 0; i < MaxFailures; i++ {
		s.Approve("telegram", "BBBBBBBB")
	}
	// Locked: the right code is refused too, with the lock's error, and
	// issuing codes stops.
	if _, err := s.Approve("telegram", good2); !errors.Is(err, ErrLocked) {
		t.Fatalf("right code while locked: %v", err)
	}
	if s.IsApproved("telegram", "2") {
		t.Fatal("paired while locked")
	}
	if _, err := s.Request("telegram", "3", ""); !errors.Is(err, ErrLocked) {
		t.Fatalf("new code while locked: %v", err)
	}
	// Other platforms are not locked.
	if c, err := s.Request("web", "w", ""); err != nil {
		t.Fatal(err)
	} else if _, err := s.Approve("web", c); err != nil {
		t.Fatal(err)
	}
	clk.add(LockoutFor - time.Second)
	if _, err := s.Request("telegram", "3", ""); !errors.Is(err, ErrLocked) {
		t.Fatalf("lock lifted early: %v", err)
	}
	clk.add(time.Second)
	c, err := s.Request("telegram", "3", "")
	if err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	if _, err := s.Approve("telegram", c); err != nil {
		t.Fatal(err)
	}
}

func TestApproveAnyFindsThePlatform(t *testing.T) {
	s, _ := newStore(t)
	s.Request("web", "w1", "alice")
	tc, _ := s.Request("telegram", "42", "bob")
	a, err := s.ApproveAny(tc)
	if err != nil || a.Platform != "telegram" || a.ID != "42" {
		t.Fatalf("ApproveAny: %+v %v", a, err)
	}
	if _, err := s.ApproveAny("ZZZZZZZZ"); !errors.Is(err, ErrNoSuchCode) {
		t.Fatalf("unknown code: %v", err)
	}
}

func TestDuplicateWebNamesAreMadeDistinct(t *testing.T) {
	s, _ := newStore(t)
	c1, _ := s.Request("web", "a", "phone")
	s.Approve("web", c1)
	c2, _ := s.Request("web", "b", "phone")
	a, err := s.Approve("web", c2)
	if err != nil || a.Name != "phone-2" {
		t.Fatalf("second 'phone' named %q (%v)", a.Name, err)
	}
}

// Concurrent requesters lose nothing and never exceed the platform limit.
func TestConcurrentRequestsKeepTheLimits(t *testing.T) {
	s, _ := newStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var codes []string
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.Request("telegram", string(rune('a'+i)), "")
			if err == nil {
				mu.Lock()
				codes = append(codes, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(codes) != MaxPending {
		t.Fatalf("%d codes issued concurrently, want %d", len(codes), MaxPending)
	}
	for _, c := range codes {
		if _, err := s.Approve("telegram", c); err != nil {
			t.Fatalf("code %s lost: %v", c, err)
		}
	}
}

func TestDamagedStoreAuthorizesNobody(t *testing.T) {
	s, _ := newStore(t)
	c, _ := s.Request("web", "a", "")
	s.Approve("web", c)
	os.WriteFile(filepath.Join(s.Dir, "web.json"), []byte("{not json"), 0o600)
	if s.IsApproved("web", "a") {
		t.Fatal("a damaged store still authorizes")
	}
	if _, err := s.Request("web", "b", ""); err == nil {
		t.Fatal("a damaged store was overwritten")
	}
}

func TestGuessesWithNothingPendingStillCount(t *testing.T) {
	s, _ := newStore(t)
	for i := 0; i < MaxFailures; i++ {
		if _, err := s.ApproveAny("CCCCCCCC"); !errors.Is(err, ErrNoSuchCode) {
			t.Fatal(err)
		}
	}
	if _, err := s.Request("web", "a", ""); !errors.Is(err, ErrLocked) {
		t.Fatalf("five guesses with nothing pending did not lock: %v", err)
	}
}

// A pairing record written by anything but the store (a command that
// wrote itself in as an approver) is not honoured, nor is a genuine file
// with an approver added by hand.
func TestForgedPairingIsNotHonoured(t *testing.T) {
	s, _ := newStore(t)
	forged := `{"approved":[{"platform":"web","id":"agent-cookie-hash","paired":"2026-01-02T03:04:05Z"}],"pending":[],"failures":0}`
	os.MkdirAll(s.Dir, 0o700)
	if err := os.WriteFile(filepath.Join(s.Dir, "web.json"), []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.IsApproved("web", "agent-cookie-hash") {
		t.Fatal("a forged pairing record authorized its approver")
	}
	// A genuine record, then an approver added to it by hand.
	os.Remove(filepath.Join(s.Dir, "web.json"))
	code, err := s.Request("web", "human", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approve("web", code); err != nil {
		t.Fatal(err)
	}
	if !s.IsApproved("web", "human") {
		t.Fatal("the genuine pairing is not honoured")
	}
	b, _ := os.ReadFile(filepath.Join(s.Dir, "web.json"))
	edited := strings.Replace(string(b), `"id": "human"`, `"id": "agent-cookie-hash"`, 1)
	if edited == string(b) {
		t.Fatalf("the record's layout changed: %s", b)
	}
	os.WriteFile(filepath.Join(s.Dir, "web.json"), []byte(edited), 0o600)
	if s.IsApproved("web", "agent-cookie-hash") || s.IsApproved("web", "human") {
		t.Fatal("an edited pairing record is still honoured")
	}
}
