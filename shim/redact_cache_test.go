package shim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A long-lived process (the exec-check supervisor) redacts records of
// many clients, each with secrets of its own: its memory stays bounded,
// and every secret is still masked, in each of its forms, evicted or not.
func TestRedactCacheIsBounded(t *testing.T) {
	const n = 20000
	secret := func(i int) string {
		b := make([]byte, 20)
		rand.Read(b)
		return fmt.Sprintf("tok%06d%s", i, hex.EncodeToString(b))
	}
	check := func(v string) {
		t.Helper()
		line := "curl -H 'Authorization: Bearer " + v + "' -d " + base64.StdEncoding.EncodeToString([]byte(v)) + " -d x" + hex.EncodeToString([]byte("u:"+v))
		got := Redact(line, []string{v})
		enc := base64.StdEncoding.EncodeToString([]byte(v))
		if strings.Contains(got, v) || strings.Contains(got, enc) || strings.Contains(got, hex.EncodeToString([]byte(v))) {
			t.Fatalf("secret not masked: %q", got)
		}
	}
	first := secret(0)
	check(first)
	before := heapInUse()
	for i := 1; i < n; i++ {
		check(secret(i))
	}
	grown := int64(heapInUse()) - int64(before)
	values, bytes := forms.usage()
	t.Logf("%d distinct secrets: heap grew %d KiB; the cache holds %d values, %d KiB", n, grown>>10, values, bytes>>10)
	if bytes > formsCacheBytes || values >= n {
		t.Fatalf("cache holds %d values, %d bytes (bound %d)", values, bytes, formsCacheBytes)
	}
	// Unbounded, 20,000 secrets kept ~20 MiB; the bound is 1 MiB of
	// encodings (plus the map and list around them).
	if grown > 8<<20 {
		t.Fatalf("heap grew %d MiB over %d distinct secrets", grown>>20, n)
	}
	check(first) // evicted long ago: worked out again, still masked
}
