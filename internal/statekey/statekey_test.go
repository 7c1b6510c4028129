package statekey

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Writers racing to make the key agree on one; a reader never makes one;
// a MAC is bound to its purpose and data; a damaged key is an error.
func TestKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "state.key")
	if _, err := Load(path, false); err == nil {
		t.Fatal("a reader made a key")
	}
	keys := make([]Key, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := Load(path, true)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	mac := keys[0].Sign("a", []byte("data"))
	for _, k := range keys {
		if !k.Verify("a", []byte("data"), mac) {
			t.Fatal("writers made different keys")
		}
	}
	k := keys[0]
	if k.Verify("b", []byte("data"), mac) || k.Verify("a", []byte("datA"), mac) || k.Verify("a", []byte("data"), "") {
		t.Fatal("a MAC verified for another purpose, other data, or empty")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode())
	}
	os.WriteFile(path, []byte("not hex\n"), 0o600)
	if _, err := Load(path, true); err == nil {
		t.Fatal("a damaged key loaded")
	}
	if (Key{}).Verify("a", []byte("data"), mac) {
		t.Fatal("no key verified a MAC")
	}
}
