// Package pairing is the gateway's store of pairing codes and paired
// approvers, one file per platform under HERMES_HOME/pairing ("web",
// "telegram", ...). A stranger asks for a code; the operator, on the host,
// confirms it (`hermes-exec gateway pair CODE`); from then on the
// stranger's stable id is an approver.
//
// Codes are short, so they are guarded by limits rather than length: a
// code lives one hour, a requester gets at most one new code per ten
// minutes, a platform holds at most three pending codes, and five failed
// confirmations in a row lock the platform for an hour. The lock is checked
// before any code is looked at, so a locked platform answers a right code
// and a wrong one alike. Codes are kept only as salted SHA-256 hashes and
// compared in constant time.
package pairing

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"hermes-exec/internal/atomicfile"
	"hermes-exec/internal/hermeshome"
	"hermes-exec/internal/statekey"
)

// The pairing rules.
const (
	Alphabet        = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/I: read aloud or typed from a phone
	CodeLen         = 8
	CodeTTL         = time.Hour
	RequestInterval = 10 * time.Minute
	MaxPending      = 3
	MaxFailures     = 5
	LockoutFor      = time.Hour
)

var (
	ErrRateLimited = errors.New("a pairing code was issued to this requester recently; try again later")
	ErrTooMany     = errors.New("too many pairing codes are pending on this platform; confirm or clear them first")
	ErrLocked      = errors.New("pairing is locked after repeated failed confirmations; try again later")
	ErrNoSuchCode  = errors.New("no pending pairing code matches")
	ErrBadPlatform = errors.New("a platform name is lowercase letters and digits")
)

// Approver is a paired identity.
type Approver struct {
	Platform string    `json:"platform"`
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Paired   time.Time `json:"paired"`
}

// PendingCode is a code waiting for confirmation. The code itself is not
// kept: only a salt and the hash of salt and code.
type PendingCode struct {
	Platform    string    `json:"-"`
	RequesterID string    `json:"requester_id"`
	Name        string    `json:"name,omitempty"`
	Salt        string    `json:"salt"`
	Hash        string    `json:"hash"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
}

// state is one platform's file.
type state struct {
	Approved []Approver    `json:"approved"`
	Pending  []PendingCode `json:"pending"`
	// LastIssued is when each requester last got a code; entries older
	// than RequestInterval are dropped.
	LastIssued  map[string]time.Time `json:"last_issued,omitempty"`
	Failures    int                  `json:"failures"`
	LockedUntil time.Time            `json:"locked_until,omitzero"`
	// MAC authenticates the rest (its JSON with MAC empty) under the
	// state key: a record a command wrote to pair itself has none.
	MAC string `json:"mac,omitempty"`
}

// statePurpose separates pairing MACs from those of other state files.
const statePurpose = "hermes-exec pairing v1"

func (st state) body() []byte {
	st.MAC = ""
	b, _ := json.Marshal(st)
	return b
}

// Store is the pairing directory.
type Store struct {
	Dir string
	// KeyFile is the state key that signs the records; "" means the one
	// of the HERMES_HOME that Dir is in (hermeshome.Layout.StateKey).
	KeyFile string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Store) keyFile() string {
	if s.KeyFile != "" {
		return s.KeyFile
	}
	return hermeshome.Layout{Dir: filepath.Dir(s.Dir)}.StateKey()
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Compiled on first use, not at start-up: every command the wrapper runs
// initialises this package, and {0,31} makes the program large to build.
var platformRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9]{0,31}$`) })

func (s *Store) file(platform string) (string, error) {
	if !platformRE().MatchString(platform) {
		return "", ErrBadPlatform
	}
	return filepath.Join(s.Dir, platform+".json"), nil
}

// load reads a platform's state; a missing file is an empty state.
func (s *Store) load(platform string) (*state, error) {
	path, err := s.file(platform)
	if err != nil {
		return nil, err
	}
	st := &state{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pairing: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		// A damaged store authorizes nobody rather than guessing.
		return nil, fmt.Errorf("pairing: %s is damaged: %w", path, err)
	}
	k, kerr := statekey.Load(s.keyFile(), false)
	if kerr != nil || !k.Verify(statePurpose, st.body(), st.MAC) {
		// Forged (a command wrote itself in as an approver), edited, or
		// written before records were signed: it authorizes nobody.
		return nil, fmt.Errorf("pairing: %s does not carry hermes-exec's signature (edited or forged; or written by a version before records were signed): it authorizes nobody; remove it and pair again", path)
	}
	return st, nil
}

// update changes a platform's state under its lock and writes it back by
// temporary file and rename, 0600.
func (s *Store) update(platform string, fn func(*state) error) error {
	path, err := s.file(platform)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("pairing: %w", err)
	}
	return atomicfile.WithLock(path+".lock", func() error {
		st, err := s.load(platform)
		if err != nil {
			return err
		}
		s.prune(st)
		ferr := fn(st)
		k, err := statekey.Load(s.keyFile(), true)
		if err != nil {
			return fmt.Errorf("pairing: %w", err)
		}
		st.MAC = k.Sign(statePurpose, st.body())
		data, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.Write(path, append(data, '\n')); err != nil {
			return fmt.Errorf("pairing: %w", err)
		}
		return ferr
	})
}

// prune drops expired codes and stale rate-limit entries.
func (s *Store) prune(st *state) {
	now := s.now()
	kept := st.Pending[:0]
	for _, p := range st.Pending {
		if now.Before(p.Expires) {
			kept = append(kept, p)
		}
	}
	st.Pending = kept
	for k, t := range st.LastIssued {
		if now.Sub(t) >= RequestInterval {
			delete(st.LastIssued, k)
		}
	}
	if !st.LockedUntil.IsZero() && !now.Before(st.LockedUntil) {
		st.LockedUntil = time.Time{}
	}
}

// NewCode returns a fresh code: CodeLen characters of Alphabet from
// crypto/rand. The alphabet has 32 letters, so the low five bits of a
// random byte pick one without bias.
func NewCode() string {
	b := make([]byte, CodeLen)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux; a weak code is worse than none
	}
	for i := range b {
		b[i] = Alphabet[b[i]&31]
	}
	return string(b)
}

// Normalize is how a typed code is read: case and spaces and dashes do
// not matter.
func Normalize(code string) string {
	code = strings.ToUpper(code)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code)
}

func hashCode(salt []byte, code string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(code))
	return h.Sum(nil)
}

// Request issues a code for requesterID on platform, under the limits.
func (s *Store) Request(platform, requesterID, name string) (string, error) {
	if requesterID == "" {
		return "", errors.New("pairing: a requester needs a stable id")
	}
	var code string
	err := s.update(platform, func(st *state) error {
		now := s.now()
		if now.Before(st.LockedUntil) {
			return ErrLocked
		}
		if t, ok := st.LastIssued[requesterID]; ok && now.Sub(t) < RequestInterval {
			return ErrRateLimited
		}
		if len(st.Pending) >= MaxPending {
			return ErrTooMany
		}
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return err
		}
		code = NewCode()
		// One pending code per requester: a new one replaces the old.
		kept := st.Pending[:0]
		for _, p := range st.Pending {
			if p.RequesterID != requesterID {
				kept = append(kept, p)
			}
		}
		st.Pending = append(kept, PendingCode{
			RequesterID: requesterID,
			Name:        name,
			Salt:        hex.EncodeToString(salt),
			Hash:        hex.EncodeToString(hashCode(salt, code)),
			Created:     now,
			Expires:     now.Add(CodeTTL),
		})
		if st.LastIssued == nil {
			st.LastIssued = map[string]time.Time{}
		}
		st.LastIssued[requesterID] = now
		return nil
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// Approve confirms code on platform: its requester becomes an approver.
// The platform's lock is checked first; a wrong code counts as a failure,
// and the MaxFailures-th failure in a row locks the platform.
func (s *Store) Approve(platform, code string) (Approver, error) {
	code = Normalize(code)
	var got Approver
	err := s.update(platform, func(st *state) error {
		now := s.now()
		if now.Before(st.LockedUntil) {
			return ErrLocked
		}
		match := -1
		for i, p := range st.Pending {
			salt, err1 := hex.DecodeString(p.Salt)
			want, err2 := hex.DecodeString(p.Hash)
			if err1 != nil || err2 != nil {
				continue
			}
			// Every pending code is compared, matched or not, so the
			// time taken says nothing about which one was close.
			if subtle.ConstantTimeCompare(hashCode(salt, code), want) == 1 && match < 0 {
				match = i
			}
		}
		if match < 0 {
			st.Failures++
			if st.Failures >= MaxFailures {
				st.Failures = 0
				st.LockedUntil = now.Add(LockoutFor)
				// The codes an attacker was guessing at go too.
				st.Pending = nil
			}
			return ErrNoSuchCode
		}
		p := st.Pending[match]
		st.Pending = append(st.Pending[:match], st.Pending[match+1:]...)
		st.Failures = 0
		got = Approver{Platform: platform, ID: p.RequesterID, Name: uniqueName(st, p.RequesterID, p.Name), Paired: now}
		kept := st.Approved[:0]
		for _, a := range st.Approved {
			if a.ID != got.ID {
				kept = append(kept, a)
			}
		}
		st.Approved = append(kept, got)
		return nil
	})
	return got, err
}

// uniqueName keeps display names distinct within a platform, so that an
// audit line's "web:NAME" names one approver.
func uniqueName(st *state, id, name string) string {
	taken := map[string]bool{}
	for _, a := range st.Approved {
		if a.ID != id {
			taken[a.Name] = true
		}
	}
	if !taken[name] {
		return name
	}
	for i := 2; ; i++ {
		n := fmt.Sprintf("%s-%d", name, i)
		if !taken[n] {
			return n
		}
	}
}

// Platforms lists the platforms that have a store file.
func (s *Store) Platforms() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if p, ok := strings.CutSuffix(e.Name(), ".json"); ok && platformRE().MatchString(p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ApproveAny confirms code on whichever platform holds it: the seed's
// `gateway pair CODE`, where the operator does not say the platform. Each
// unlocked platform with pending codes is tried; a code found nowhere
// counts as a failure on every platform it was tried on.
func (s *Store) ApproveAny(code string) (Approver, error) {
	plats, err := s.Platforms()
	if err != nil {
		return Approver{}, err
	}
	locked, tried := false, false
	for _, p := range plats {
		st, err := s.load(p)
		if err != nil {
			return Approver{}, err
		}
		s.prune(st)
		if s.now().Before(st.LockedUntil) {
			locked = true
			continue
		}
		if len(st.Pending) == 0 {
			continue
		}
		tried = true
		a, err := s.Approve(p, code)
		if err == nil {
			return a, nil
		}
		if errors.Is(err, ErrLocked) {
			locked = true
		} else if !errors.Is(err, ErrNoSuchCode) {
			return Approver{}, err
		}
	}
	if !tried {
		// No code is pending anywhere: the guess still counts, on every
		// platform (and the web page's), so that guessing before codes
		// exist does not go free.
		if !slices.Contains(plats, "web") {
			plats = append(plats, "web")
		}
		for _, p := range plats {
			if _, err := s.Approve(p, code); errors.Is(err, ErrLocked) {
				locked = true
			} else if err != nil && !errors.Is(err, ErrNoSuchCode) {
				return Approver{}, err
			}
		}
	}
	if locked {
		return Approver{}, fmt.Errorf("%w (pairing is locked on some platforms after repeated failures)", ErrNoSuchCode)
	}
	return Approver{}, ErrNoSuchCode
}

// IsApproved reports whether id is a paired approver on platform. An
// unreadable store answers no.
func (s *Store) IsApproved(platform, id string) bool {
	if id == "" {
		return false
	}
	st, err := s.load(platform)
	if err != nil {
		return false
	}
	for _, a := range st.Approved {
		if a.ID == id {
			return true
		}
	}
	return false
}

// Lookup returns the paired approver id on platform.
func (s *Store) Lookup(platform, id string) (Approver, bool) {
	st, err := s.load(platform)
	if err != nil {
		return Approver{}, false
	}
	for _, a := range st.Approved {
		if a.ID == id {
			return a, true
		}
	}
	return Approver{}, false
}

// Listing is what `pairing list` shows: never a code.
type Listing struct {
	Approved    []Approver
	Pending     []PendingCode // Salt and Hash cleared
	LockedUntil map[string]time.Time
}

// List reads every platform.
func (s *Store) List() (Listing, error) {
	var l Listing
	plats, err := s.Platforms()
	if err != nil {
		return l, err
	}
	for _, p := range plats {
		st, err := s.load(p)
		if err != nil {
			return l, err
		}
		s.prune(st)
		l.Approved = append(l.Approved, st.Approved...)
		for _, pc := range st.Pending {
			pc.Platform, pc.Salt, pc.Hash = p, "", ""
			l.Pending = append(l.Pending, pc)
		}
		if !st.LockedUntil.IsZero() {
			if l.LockedUntil == nil {
				l.LockedUntil = map[string]time.Time{}
			}
			l.LockedUntil[p] = st.LockedUntil
		}
	}
	return l, nil
}

// Revoke removes approver id from platform. It reports whether there was one.
func (s *Store) Revoke(platform, id string) (bool, error) {
	found := false
	err := s.update(platform, func(st *state) error {
		kept := st.Approved[:0]
		for _, a := range st.Approved {
			if a.ID == id {
				found = true
				continue
			}
			kept = append(kept, a)
		}
		st.Approved = kept
		return nil
	})
	return found, err
}

// ClearPending drops every pending code on every platform and returns how
// many there were.
func (s *Store) ClearPending() (int, error) {
	plats, err := s.Platforms()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range plats {
		if err := s.update(p, func(st *state) error {
			n += len(st.Pending)
			st.Pending = nil
			return nil
		}); err != nil {
			return n, err
		}
	}
	return n, nil
}
