package supervisor

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// users holds what the supervisor counts per uid: commands running now
// and a token bucket of command starts. One user at a cap waits for
// nothing and slows no one else: the next command is refused at once with
// the reason.
type users struct {
	mu sync.Mutex
	m  map[int]*userState
}

type userState struct {
	conns   int // connections open, requests not yet read included
	running int
	tokens  float64
	last    time.Time
	audit   sync.Mutex // serialises this user's audit appends
}

func newUsers() *users { return &users{m: map[int]*userState{}} }

func (u *users) get(uid int) *userState {
	u.mu.Lock()
	defer u.mu.Unlock()
	st, ok := u.m[uid]
	if !ok {
		st = &userState{tokens: -1}
		u.m[uid] = st
	}
	return st
}

// admit takes a slot for one command of uid, or says which cap holds it
// back. perMinute is the bucket's rate; its size is a tenth of a minute's
// worth (at least 10), so a burst of an agent's quick commands passes.
func (u *users) admit(uid, maxRunning, perMinute int) (release func(), err error) {
	st := u.get(uid)
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	burst := max(float64(perMinute)/6, 10)
	if st.tokens < 0 {
		st.tokens, st.last = burst, now
	}
	st.tokens = min(burst, st.tokens+now.Sub(st.last).Minutes()*float64(perMinute))
	st.last = now
	if st.running >= maxRunning {
		return nil, fmt.Errorf("%d commands of yours are running already (max_commands %d)", st.running, maxRunning)
	}
	if st.tokens < 1 {
		return nil, fmt.Errorf("too many commands started in the last minute (max_rate %d per minute)", perMinute)
	}
	st.tokens--
	st.running++
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			st.running--
			u.mu.Unlock()
		})
	}, nil
}

// sessionCount is the number of session sandboxes in a user's state
// directory (the sandbox names them execproto.SessionPrefix + hash).
func sessionCount(stateDir, prefix string) int {
	ents, err := os.ReadDir(stateDir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			n++
		}
	}
	return n
}

// maxConns caps one user's open connections, whatever their state: a
// client that connects and sends nothing holds a descriptor and a
// goroutine until the request deadline, and must not be able to hold all
// of them.
const maxConns = 128

// connect counts one connection of uid, or refuses it.
func (u *users) connect(uid int) (release func(), ok bool) {
	st := u.get(uid)
	u.mu.Lock()
	defer u.mu.Unlock()
	if st.conns >= maxConns {
		return nil, false
	}
	st.conns++
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			st.conns--
			u.mu.Unlock()
		})
	}, true
}
