package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unicode"

	"hermes-exec/internal/atomicfile"
	"hermes-exec/internal/safefs"
)

// AddAllowlist appends to approvals.allowlist in config.yaml at path the
// entries that are not already there, in order, and returns those it added.
// Every comment and every other part of the file stays as it was. A missing
// file (and its directory) is created. A broken file is an error naming the
// line and is left untouched. Concurrent callers, in this process or
// others, are serialised by a lock file, so none loses another's entries.
func AddAllowlist(path string, entries ...string) (added []string, err error) {
	clean, err := cleanEntries(entries)
	if err != nil || len(clean) == 0 {
		return nil, err
	}
	err = editAllowlist(path, func(cur []string) []string {
		have := make(map[string]bool, len(cur))
		for _, e := range cur {
			have[e] = true
		}
		for _, e := range clean {
			if !have[e] {
				have[e] = true
				added = append(added, e)
			}
		}
		return added
	}, nil)
	if err != nil {
		return nil, err
	}
	return added, nil
}

// RemoveAllowlist removes the given entries from approvals.allowlist and
// returns those that were present. The rest of the file stays as it was.
// A missing file removes nothing and is not created.
func RemoveAllowlist(path string, entries ...string) (removed []string, err error) {
	clean, err := cleanEntries(entries)
	if err != nil || len(clean) == 0 {
		return nil, err
	}
	drop := make(map[string]bool, len(clean))
	for _, e := range clean {
		drop[e] = true
	}
	err = editAllowlist(path, nil, func(cur []string) map[string]bool {
		found := map[string]bool{}
		for _, e := range cur {
			if drop[e] && !found[e] {
				found[e] = true
				removed = append(removed, e)
			}
		}
		return found
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// cleanEntries trims the entries and rejects those that cannot be one
// line of config.yaml. Control characters are refused because an entry is
// later shown to a human, and an escape sequence there could hide what was
// really allowed.
func cleanEntries(entries []string) ([]string, error) {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		t := strings.TrimSpace(e)
		if t == "" {
			return nil, fmt.Errorf("config: empty allowlist entry")
		}
		if i := strings.IndexFunc(t, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }); i >= 0 {
			return nil, fmt.Errorf("config: allowlist entry %q contains a control character", t)
		}
		out = append(out, t)
	}
	return out, nil
}

// editAllowlist runs one locked read-edit-write cycle. Exactly one of add
// and remove is set; each is given the current allowlist and says what to
// change. When nothing changes the file is not rewritten.
func editAllowlist(path string, add func(cur []string) []string, remove func(cur []string) map[string]bool) error {
	if path == "" {
		return errors.New("config: no configuration file named")
	}
	return withLock(path, func() error {
		target, err := realPath(path)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		// Read through the same checks as Load (a link is followed only
		// when it and its target are the caller's); write to the target.
		data, err := safefs.ReadFile(path, MaxConfigSize, os.Geteuid())
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if remove != nil {
				return nil
			}
			data = nil
		case err != nil:
			return fmt.Errorf("config: %w", err)
		}
		doc, err := parseDoc(data)
		if err != nil {
			return withPath(path, err)
		}
		cur := doc.allowlist()
		var out []byte
		if add != nil {
			news := add(cur)
			if len(news) == 0 {
				return nil
			}
			out, err = doc.append(news)
		} else {
			gone := remove(cur)
			if len(gone) == 0 {
				return nil
			}
			out, err = doc.remove(gone)
		}
		if err != nil {
			return withPath(path, err)
		}
		if err := atomicfile.Write(target, out); err != nil {
			return fmt.Errorf("config: write %s: %w", target, err)
		}
		return nil
	})
}
