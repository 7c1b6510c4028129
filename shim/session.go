package shim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"hermes-exec/internal/atomicfile"
	"hermes-exec/internal/procstat"
	"hermes-exec/policy"

	"golang.org/x/sys/unix"
)

// SessionID names the current session: $HERMES_SESSION_ID when Hermes set
// it; otherwise, when the process has a controlling terminal, the terminal
// session ("tty-<sid>-<start>", where start is the session leader's start
// time, so that a later session that reuses the same process id does not
// inherit this one's approvals or yolo switch); otherwise "" (no session:
// nothing is remembered).
func SessionID() string {
	if id := os.Getenv("HERMES_SESSION_ID"); id != "" {
		return id
	}
	// Opening /dev/tty succeeds only with a controlling terminal.
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	unix.Close(fd)
	sid, err := unix.Getsid(0)
	if err != nil {
		return ""
	}
	id := "tty-" + strconv.Itoa(sid)
	if start, ok := procstat.StartTime(sid); ok {
		id += "-" + start
	}
	return id
}

// Sessions keeps per-session state: commands approved for the session and
// the session's yolo switch. One small JSON file per session in Dir.
type Sessions struct {
	Dir string // HERMES_HOME/sessions, created 0700
}

// SessionInfo summarises one session for listing.
type SessionInfo struct {
	ID        string
	Yolo      bool
	Approvals int
	Updated   time.Time
}

// sessionFile is the stored form. Approved keys are stored as sha256 hex:
// a command's text can hold secrets, and this file only needs to recognise
// the command again.
type sessionFile struct {
	ID       string    `json:"id"`
	Yolo     bool      `json:"yolo"`
	Approved []string  `json:"approved"`
	Updated  time.Time `json:"updated"`
}

// fileName maps a session id to a file name: the id itself when it is a
// short, plain name (readable in `ls`), else a hash of it, so that no id can
// name a path outside Dir.
func fileName(id string) string {
	plain := id != "" && len(id) <= 64 && id[0] != '.' && !strings.HasPrefix(id, "sha256-")
	for i := 0; plain && i < len(id); i++ {
		c := id[i]
		plain = c == '-' || c == '_' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	if plain {
		return id + ".json"
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256-" + hex.EncodeToString(sum[:16]) + ".json"
}

func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// read loads a session's state; ok is false when there is none or it
// cannot be trusted (unreadable, damaged, or written for another id). When
// needle is set and the file does not contain it, the answer is already
// "no" and the JSON is not decoded: Approved and Yolo run for every
// command that needs approval, and a session may hold many approvals.
func (s Sessions) read(id string, needle []byte) (sessionFile, bool) {
	var sf sessionFile
	if id == "" || s.Dir == "" {
		return sf, false
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, fileName(id)))
	if err != nil || (needle != nil && !bytes.Contains(b, needle)) {
		return sf, false
	}
	if json.Unmarshal(b, &sf) != nil || sf.ID != id {
		return sessionFile{}, false
	}
	return sf, true
}

// Approved reports whether key was approved for the whole session id. A
// missing, unreadable or damaged session file means no (fail closed).
func (s Sessions) Approved(id, key string) bool {
	h := keyHash(key)
	sf, ok := s.read(id, []byte(`"`+h+`"`))
	if !ok {
		return false
	}
	for _, a := range sf.Approved {
		if a == h {
			return true
		}
	}
	return false
}

// yoloOn is how json.Marshal writes the switch when it is on; a file
// without it has yolo off (a hand-edited spelling reads as off: fail
// closed).
var yoloOn = []byte(`"yolo":true`)

// Yolo reports whether the session's yolo switch is on.
func (s Sessions) Yolo(id string) bool {
	sf, ok := s.read(id, yoloOn)
	return ok && sf.Yolo
}

// Approve remembers key as approved for the rest of session id.
func (s Sessions) Approve(id, key string) error {
	h := keyHash(key)
	return s.update(id, func(sf *sessionFile) {
		for _, a := range sf.Approved {
			if a == h {
				return
			}
		}
		sf.Approved = append(sf.Approved, h)
	})
}

// SetYolo turns the session's yolo switch on or off.
func (s Sessions) SetYolo(id string, on bool) error {
	return s.update(id, func(sf *sessionFile) { sf.Yolo = on })
}

// Remove forgets a session (its approvals and yolo switch).
func (s Sessions) Remove(id string) error {
	if id == "" || s.Dir == "" {
		return errors.New("session: no session")
	}
	err := withDirLock(s.Dir, func() error {
		return os.Remove(filepath.Join(s.Dir, fileName(id)))
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// update is a locked read-modify-write of one session file: flock on
// Dir/.lock, temp file, fsync, rename, so readers (which take no lock)
// always see a whole file.
func (s Sessions) update(id string, change func(*sessionFile)) error {
	if id == "" {
		return errors.New("session: no session id")
	}
	if s.Dir == "" {
		return errors.New("session: no session directory")
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return withDirLock(s.Dir, func() error {
		// Damaged state is replaced rather than trusted.
		sf, ok := s.read(id, nil)
		if !ok {
			sf = sessionFile{ID: id}
		}
		change(&sf)
		sf.Updated = time.Now().UTC()
		b, err := json.Marshal(sf)
		if err != nil {
			return err
		}
		return atomicfile.Write(filepath.Join(s.Dir, fileName(id)), b)
	})
}

// List returns every stored session, most recently updated first. Damaged
// files are reported in the error (naming each file) while the readable
// sessions are still returned.
func (s Sessions) List() ([]SessionInfo, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	var out []SessionInfo
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(s.Dir, name)
		b, err := os.ReadFile(p)
		var sf sessionFile
		if err == nil {
			err = json.Unmarshal(b, &sf)
		}
		if err == nil && (sf.ID == "" || fileName(sf.ID) != name) {
			err = errors.New("the file does not belong to the session it names")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("session: %s: %w", p, err))
			continue
		}
		out = append(out, SessionInfo{ID: sf.ID, Yolo: sf.Yolo, Approvals: len(sf.Approved), Updated: sf.Updated})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Updated.After(out[j].Updated) })
	return out, errors.Join(errs...)
}

// withDirLock holds an exclusive flock on dir/.lock while fn runs.
func withDirLock(dir string, fn func() error) error {
	return atomicfile.WithLock(filepath.Join(dir, ".lock"), fn)
}

// SessionKey is what a session approval of v is remembered under: the
// dangerous simple commands themselves, each as its normalised argv
// (policy.QuoteArgv of Finding.Argv), sorted and without repeats. Agents
// wrap every command in text of their own with fresh temporary paths
// (snapshots, cwd files), so a key of the whole text would never match
// again; the argv does. A finding without a static argv (a dynamic
// command name, eval of a variable) cannot be recognised again safely, so
// then the key is the whole normalised text, as before.
func SessionKey(v policy.Verdict) string {
	var parts []string
	for _, f := range v.Findings {
		if f.Decision != policy.Ask {
			continue
		}
		if len(f.Argv) == 0 {
			return v.Key
		}
		parts = append(parts, f.Rule+"\x00"+policy.QuoteArgv(f.Argv))
	}
	if len(parts) == 0 {
		return v.Key
	}
	sort.Strings(parts)
	out := parts[:1]
	for _, p := range parts[1:] {
		if p != out[len(out)-1] {
			out = append(out, p)
		}
	}
	return "argv:" + strings.Join(out, "\n")
}
