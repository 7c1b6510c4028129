// Package secretstore keeps the agent's secrets (.env values) encrypted at
// rest with age, in HERMES_HOME/.env.age: the values are never on disk in
// clear. The names are kept beside it in clear (.env.age.names), because
// the environment filter must know them on every command, key or no key.
//
// Who holds the key decides what the encryption protects against:
//
//   - a local identity file (HERMES_HOME/age-identity.txt, 0600, or
//     $HERMES_AGE_IDENTITY): a copy of .env.age alone, a backup or disk
//     image that leaves the identity out, other users of the machine (as
//     the 0600 modes already do). Not the agent's own uid, which can read
//     the identity.
//   - a passphrase (an age scrypt recipient): also a backup or disk image
//     that has everything, since the key is in no file. Every read asks a
//     human at the terminal; commands then see only the names, and the
//     values are redacted when the caller's environment carries them.
//   - a Keyring held by a gateway or supervisor running as another user:
//     the agent's uid as well, once that exists (the hook is Store.Keyring).
package secretstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/sys/unix"

	"hermes-exec/internal/atomicfile"
	"hermes-exec/internal/hermeshome"
)

// Keyring supplies identities held elsewhere: the hook by which a gateway
// or supervisor that runs as another user keeps the key away from the
// agent's uid. Recipients are what new versions of the file are encrypted
// to.
type Keyring interface {
	Identities() ([]age.Identity, error)
	Recipients() ([]age.Recipient, error)
}

// Mode is how a store is protected.
type Mode int

const (
	ModeNone       Mode = iota // no .env.age yet
	ModeIdentity               // an X25519 identity (file or keyring)
	ModePassphrase             // an scrypt passphrase
)

func (m Mode) String() string {
	return [...]string{"none", "identity", "passphrase"}[m]
}

// Store is one HERMES_HOME's encrypted .env.
type Store struct {
	Path      string // .env.age
	NamesPath string // .env.age.names
	Identity  string // the local identity file
	// Passphrase asks for the passphrase; confirm asks twice (a new one).
	Passphrase func(confirm bool) (string, error)
	// Keyring, when set, holds the identity instead of the local file.
	Keyring Keyring
	// WorkFactor is scrypt's log2 N for new passphrase stores (0: age's 18).
	WorkFactor int
}

// ForHome is the store of a HERMES_HOME. $HERMES_AGE_IDENTITY moves the
// identity file elsewhere (another disk, a path backups leave out).
func ForHome(home string) Store {
	l := hermeshome.Layout{Dir: home}
	s := Store{Path: l.EnvAge(), NamesPath: l.EnvAgeNames(), Identity: l.AgeIdentity()}
	if p := os.Getenv("HERMES_AGE_IDENTITY"); p != "" {
		s.Identity = p
	}
	return s
}

const maxFile = 4 << 20 // .env.age is small; a huge one is not ours

// readSmall reads a regular file without following a symlink.
func readSmall(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a symlink: refusing to follow it", path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > maxFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFile)
	}
	return io.ReadAll(io.LimitReader(f, maxFile+1))
}

// Mode reads how the existing store is protected from its age header.
func (s Store) Mode() (Mode, error) {
	data, err := readSmall(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return ModeNone, nil
	}
	if err != nil {
		return ModeNone, err
	}
	hdr, err := age.ExtractHeader(bytes.NewReader(data))
	if err != nil {
		return ModeNone, fmt.Errorf("%s: not an age file: %w", s.Path, err)
	}
	if bytes.Contains(hdr, []byte("\n-> scrypt ")) {
		return ModePassphrase, nil
	}
	return ModeIdentity, nil
}

// identities returns what can decrypt a store of mode m.
func (s Store) identities(m Mode) ([]age.Identity, error) {
	if m == ModePassphrase {
		if s.Passphrase == nil {
			return nil, errors.New(s.Path + " is protected by a passphrase and there is no terminal to ask for it")
		}
		p, err := s.Passphrase(false)
		if err != nil {
			return nil, err
		}
		id, err := age.NewScryptIdentity(p)
		if err != nil {
			return nil, err
		}
		return []age.Identity{id}, nil
	}
	if s.Keyring != nil {
		return s.Keyring.Identities()
	}
	data, err := readSmall(s.Identity)
	if err != nil {
		return nil, fmt.Errorf("the identity that decrypts %s: %w", s.Path, err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Identity, err)
	}
	return ids, nil
}

// Load decrypts the store. A missing store has no entries.
func (s Store) Load() ([]Entry, Mode, error) {
	m, err := s.Mode()
	if err != nil || m == ModeNone {
		return nil, m, err
	}
	ids, err := s.identities(m)
	if err != nil {
		return nil, m, err
	}
	entries, err := s.decrypt(ids)
	return entries, m, err
}

func (s Store) decrypt(ids []age.Identity) ([]Entry, error) {
	data, err := readSmall(s.Path)
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(bytes.NewReader(data), ids...)
	if err != nil {
		return nil, fmt.Errorf("decrypting %s: %w", s.Path, err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decrypting %s: %w", s.Path, err)
	}
	entries, err := ParseDotenv(string(plain))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	}
	return entries, nil
}

// Update decrypts the store, lets fn change the entries, and writes it
// back encrypted, under a lock, through a temporary file and a rename. A
// new store is protected by mode (ModeIdentity creates the identity file
// when there is none); an existing one keeps its protection.
func (s Store) Update(mode Mode, fn func([]Entry) ([]Entry, error)) error {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return err
	}
	return atomicfile.WithLock(s.Path+".lock", func() error {
		cur, m, err := s.loadForUpdate()
		if err != nil {
			return err
		}
		if m == ModeNone {
			m = mode
			if m == ModePassphrase && s.Passphrase != nil {
				// A new passphrase: ask twice (the answer is kept).
				if _, err := s.Passphrase(true); err != nil {
					return err
				}
			}
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		return s.write(next, m)
	})
}

// loadForUpdate is Load, keeping the passphrase that opened the store so
// that writing it back does not ask again.
func (s *Store) loadForUpdate() ([]Entry, Mode, error) {
	if s.Passphrase != nil {
		ask := s.Passphrase
		var got *string
		s.Passphrase = func(confirm bool) (string, error) {
			if got != nil && !confirm {
				return *got, nil
			}
			p, err := ask(confirm)
			if err == nil {
				got = &p
			}
			return p, err
		}
	}
	return s.Load()
}

func (s Store) recipients(m Mode) ([]age.Recipient, error) {
	switch {
	case m == ModePassphrase:
		if s.Passphrase == nil {
			return nil, errors.New("a passphrase store needs a terminal to ask for the passphrase")
		}
		p, err := s.Passphrase(false)
		if err != nil {
			return nil, err
		}
		if p == "" {
			return nil, errors.New("empty passphrase")
		}
		r, err := age.NewScryptRecipient(p)
		if err != nil {
			return nil, err
		}
		if s.WorkFactor > 0 {
			r.SetWorkFactor(s.WorkFactor)
		}
		return []age.Recipient{r}, nil
	case s.Keyring != nil:
		return s.Keyring.Recipients()
	}
	id, err := s.ensureIdentity()
	if err != nil {
		return nil, err
	}
	return []age.Recipient{id.Recipient()}, nil
}

// ensureIdentity reads the local identity, creating it (0600, never
// through a symlink) when there is none.
func (s Store) ensureIdentity() (*age.X25519Identity, error) {
	data, err := readSmall(s.Identity)
	if err == nil {
		ids, err := age.ParseIdentities(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Identity, err)
		}
		for _, id := range ids {
			if x, ok := id.(*age.X25519Identity); ok {
				return x, nil
			}
		}
		return nil, fmt.Errorf("%s holds no X25519 identity", s.Identity)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(s.Identity), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.Identity, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	_, werr := fmt.Fprintf(f, "# created: %s by hermes-exec secrets\n# it decrypts %s; keep it out of backups that hold that file\n# public key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), s.Path, id.Recipient(), id)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(s.Identity)
		return nil, werr
	}
	return id, nil
}

func (s Store) write(entries []Entry, m Mode) error {
	rs, err := s.recipients(m)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, FormatDotenv(entries)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// Names first: a crash between the two writes leaves more names
	// filtered, never a name the filter does not know.
	if err := atomicfile.Write(s.NamesPath, []byte(formatNames(entries))); err != nil {
		return err
	}
	return atomicfile.Write(s.Path, buf.Bytes())
}

func formatNames(entries []Entry) string {
	var b strings.Builder
	b.WriteString("# The names defined in .env.age (the values are encrypted there).\n# Written by hermes-exec secrets; commands never see these variables\n# unless terminal.env_passthrough names them.\n")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString(n + "\n")
	}
	return b.String()
}

// Names lists the names the store defines, from the clear list: no key is
// needed. A missing list with a store present is an error.
func (s Store) Names() ([]string, error) {
	data, err := readSmall(s.NamesPath)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Lstat(s.Path); errors.Is(serr, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s is missing: the names %s defines are unknown without the key", s.NamesPath, s.Path)
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		if !ValidName(l) {
			return nil, fmt.Errorf("%s: %q is not a variable name", s.NamesPath, l)
		}
		names = append(names, l)
	}
	return names, nil
}

// Gather is what every command needs from the store, and it is cheap when
// there is none: the names to keep from the command's environment, and the
// values to redact from the audit log. Values come only when the key is at
// hand without asking anyone (the local identity file or a keyring); with
// a passphrase, the caller redacts these names' values from its own
// environment, as for a plain .env. It fails when it cannot tell the
// names, so that the caller refuses to run rather than leak them.
func Gather(home string) (names, values []string, err error) {
	s := ForHome(home)
	if _, err := os.Lstat(s.Path); errors.Is(err, fs.ErrNotExist) {
		// A names list left behind still filters: harmless, and safer.
		names, _ = s.Names()
		return names, nil, nil
	}
	m, err := s.Mode()
	if err != nil {
		return nil, nil, err
	}
	listed, lerr := s.Names()
	if m == ModePassphrase {
		return listed, nil, lerr
	}
	ids, err := s.identities(m)
	if err != nil {
		if lerr == nil {
			return listed, nil, nil // the key is not here: the names still filter
		}
		return nil, nil, err
	}
	entries, err := s.decrypt(ids)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, n := range listed {
		seen[n] = true
		names = append(names, n)
	}
	for _, e := range entries {
		if !seen[e.Name] {
			names = append(names, e.Name)
		}
		if len(e.Value) >= 4 {
			values = append(values, e.Value)
		}
	}
	return names, values, nil
}
