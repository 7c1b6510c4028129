// Package statekey authenticates hermes-exec's own state files (hook
// grants, pairing records) with an HMAC-SHA256 under a random key kept in
// $HERMES_HOME/run/state.key (0600, made on first use). A file forged by a
// command (echo '{...}' > pairing/web.json) carries no valid MAC and is
// not honoured.
//
// What this is worth: the classifier asks before a command reads the key
// and denies a command that writes it (hermeshome.Secrets, Controls), so a
// command line cannot forge a grant or a pairing. A program of the same uid
// that the classifier cannot see into (a script it wrote first, a compiled
// binary) can still read the key and sign what it likes: against that only
// a key held by another uid (the supervisor) helps.
package statekey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"hermes-exec/internal/atomicfile"
	"hermes-exec/internal/safefs"
)

// read reads the key file as HERMES_HOME's files are read (internal/safefs):
// a regular file of this user's or root's, writable by nobody else, no
// FIFO to hang on, no other user's link followed.
func read(path string) ([]byte, error) {
	return safefs.ReadFile(path, 4096, os.Geteuid())
}

// keyLen is the key's size in bytes.
const keyLen = 32

// Key is a loaded state key.
type Key struct{ k []byte }

// Load reads the key at path; create makes one when there is none (only
// writers create: a reader without a key has nothing it could trust).
func Load(path string, create bool) (Key, error) {
	b, err := read(path)
	if err == nil {
		k, derr := hex.DecodeString(string(trimNL(b)))
		if derr != nil || len(k) != keyLen {
			return Key{}, fmt.Errorf("%s is damaged: not a %d-byte hex key", path, keyLen)
		}
		return Key{k}, nil
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return Key{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Key{}, err
	}
	k := make([]byte, keyLen)
	if _, err := rand.Read(k); err != nil {
		return Key{}, err
	}
	// Two writers racing to create it: the lock makes one of them win and
	// the other read the winner's key.
	var out Key
	err = atomicfile.WithLock(path+".lock", func() error {
		if b, err := read(path); err == nil {
			kk, derr := hex.DecodeString(string(trimNL(b)))
			if derr != nil || len(kk) != keyLen {
				return fmt.Errorf("%s is damaged", path)
			}
			out = Key{kk}
			return nil
		}
		if err := atomicfile.Write(path, []byte(hex.EncodeToString(k)+"\n")); err != nil {
			return err
		}
		out = Key{k}
		return nil
	})
	return out, err
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Sign is the hex HMAC of data under the key, for one purpose: a MAC made
// for a hook grant is never a valid pairing record's, and the other way.
func (k Key) Sign(purpose string, data []byte) string {
	m := hmac.New(sha256.New, k.k)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether mac is data's MAC for purpose, in constant time.
func (k Key) Verify(purpose string, data []byte, mac string) bool {
	if len(k.k) == 0 {
		return false
	}
	want, err := hex.DecodeString(mac)
	if err != nil {
		return false
	}
	got, _ := hex.DecodeString(k.Sign(purpose, data))
	return hmac.Equal(got, want)
}
