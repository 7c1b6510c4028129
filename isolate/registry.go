package isolate

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"hermes-exec/policy/config"
)

// Backends register themselves by name, the way containerd's plugins do:
// a backend's package calls Register from an init function, and a program
// gets the backends it links (a blank import is enough). The CLI then opens
// one by name, with no switch to edit when a backend is added: a new
// backend is a new package with a Registration.

// Context is what a backend may read to set itself up. Each backend maps
// the configuration to its own options; nothing outside it needs to know
// them.
type Context struct {
	// Config is the loaded config.yaml (its container: section, say).
	Config *config.Config
	// HermesHome is the caller's HERMES_HOME, already checked.
	HermesHome string
}

// Registration describes one backend.
type Registration struct {
	// Name is what --backend and terminal.backend say.
	Name string
	// Contained is true for a backend that runs commands in a container,
	// which is itself the security boundary (approvals.in_container).
	Contained bool
	// Open makes the backend for one invocation. An error is a denial: a
	// backend that cannot start never falls back to another.
	Open func(Context) (Backend, error)
}

var (
	registryMu sync.Mutex
	registry   = map[string]Registration{}
)

// Register adds a backend. A second registration of the same name is a
// programming error and panics, as containerd's registry does.
func Register(r Registration) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if r.Name == "" || r.Open == nil {
		panic("isolate: Register needs a name and an Open function")
	}
	if _, dup := registry[r.Name]; dup {
		panic("isolate: backend " + r.Name + " registered twice")
	}
	registry[r.Name] = r
}

// Names lists the registered backends, sorted.
func Names() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Open opens the backend called name and says whether it is a container.
func Open(name string, c Context) (Backend, bool, error) {
	registryMu.Lock()
	r, ok := registry[name]
	registryMu.Unlock()
	if !ok {
		return nil, false, fmt.Errorf("unknown backend %q (choose %s)", name, strings.Join(Names(), " or "))
	}
	b, err := r.Open(c)
	return b, r.Contained, err
}

func init() {
	Register(Registration{
		Name: config.BackendHost,
		Open: func(Context) (Backend, error) { return NewHost(), nil },
	})
}
