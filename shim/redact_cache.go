package shim

import (
	"container/list"
	"sync"
)

// valueForms are a secret's encodings, worked out once per value: a
// wrapper redacts several records with the same secret set, and the
// encodings cost more than searching for them.
type valueForms struct{ exact, blob []string }

// formsCacheBytes bounds what the cache holds. A one-shot wrapper has a
// handful of secrets; the exec-check supervisor lives long and sees each
// request's environment, so without a bound every secret value any client
// ever sent would stay in its memory (and the memory would grow with
// them). The least recently used values go first; a value evicted is only
// worked out again, never left unmasked.
const formsCacheBytes = 1 << 20

// forms is the process's cache of secret encodings.
var forms = newFormsCache(formsCacheBytes)

type formsCache struct {
	mu    sync.Mutex
	max   int
	bytes int
	order *list.List // of *formsEntry, most recently used first
	byVal map[string]*list.Element
}

type formsEntry struct {
	value string
	forms *valueForms
	size  int
}

func newFormsCache(max int) *formsCache {
	return &formsCache{max: max, order: list.New(), byVal: map[string]*list.Element{}}
}

// get returns v's forms, from the cache or worked out (outside the lock:
// a long value's encodings take a while, and other lookups need not wait).
func (c *formsCache) get(v string) *valueForms {
	c.mu.Lock()
	if e, ok := c.byVal[v]; ok {
		c.order.MoveToFront(e)
		f := e.Value.(*formsEntry).forms
		c.mu.Unlock()
		return f
	}
	c.mu.Unlock()
	f := &valueForms{exact: encodedForms(v), blob: encodedBlobForms(v)}
	size := len(v)
	for _, l := range [][]string{f.exact, f.blob} {
		for _, s := range l {
			size += len(s)
		}
	}
	if size > c.max {
		return f // larger than the whole cache: used once, not kept
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byVal[v]; ok { // another goroutine got there first
		c.order.MoveToFront(e)
		return e.Value.(*formsEntry).forms
	}
	c.byVal[v] = c.order.PushFront(&formsEntry{value: v, forms: f, size: size})
	c.bytes += size
	for c.bytes > c.max {
		old := c.order.Back()
		oe := old.Value.(*formsEntry)
		c.order.Remove(old)
		delete(c.byVal, oe.value)
		c.bytes -= oe.size
	}
	return f
}

// usage is how many values and bytes the cache holds.
func (c *formsCache) usage() (values, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byVal), c.bytes
}
