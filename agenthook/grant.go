package agenthook

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"hermes-exec/approval"
	"hermes-exec/internal/procstat"
	"hermes-exec/internal/statekey"
)

// When the hook answers "ask", the agent shows its own dialog and, if the
// human says yes, runs the command through its shell, which may be
// hermes-exec. That second check must not ask again on a terminal (there
// is none an agent's child can use) nor deny what the human just
// approved. So the hook leaves a grant: one use, for the same dangerous
// commands (the session key: the normalised argv of the findings), for
// a shell started directly by the same agent process (pid and start
// time), for a short time.
//
// Why the direct child only: the model cannot make the agent start a
// process except through a tool call, and every tool call goes through
// the hook. A process the model started earlier (a loop in the
// background, waiting for the grant to appear while the human reads the
// dialog) is a child of a shell, not of the agent, and cannot use it.

// A grant file is honoured only with a valid MAC under the state key
// (internal/statekey): a command that writes a grant file itself (for the
// agent's pid, which it can read from /proc) cannot make one, since the
// classifier keeps it from reading the key. A program the classifier
// cannot see into can still read the key as the same uid; see README
// ("No self-approval").

// Grants is the directory of pending grants.
type Grants struct {
	Dir string // $HERMES_HOME/run/hook-grants
	// KeyFile is the state key ($HERMES_HOME/run/state.key).
	KeyFile string
}

// grantPurpose separates grant MACs from those of other state files.
const grantPurpose = "hermes-exec hook grant v1"

type grantFile struct {
	Key     string    `json:"key"` // sha256 of the session key
	Agent   string    `json:"agent"`
	PID     int       `json:"pid"`
	Start   string    `json:"start"`
	Expires time.Time `json:"expires"`
	// Inherited grants are left by the hermes-exec that took an agent's
	// grant, for the shells its approved command starts (see
	// PutInherited): any descendant may use them, any number of times.
	Inherited bool `json:"inherited,omitempty"`
	// MAC authenticates the fields above (their JSON with MAC empty).
	MAC string `json:"mac,omitempty"`
}

// body is what the MAC covers.
func (gf grantFile) body() []byte {
	gf.MAC = ""
	b, _ := json.Marshal(gf)
	return b
}

func keyHash(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// Put records a grant of key for the shell that agent process pid (start
// time start) will start within ttl.
func (g Grants) Put(key, agent string, pid int, start string, ttl time.Duration) error {
	return g.put(grantFile{Key: keyHash(key), Agent: agent, PID: pid, Start: start, Expires: time.Now().Add(ttl).UTC()})
}

// PutInherited records that the approved command run by hermes-exec
// process pid (start time start) may run the same dangerous commands
// through shells it starts, for as long as ttl. Agents wrap the command
// they were asked about in text of their own and run it with bash -c
// again (Codex's shell snapshot ends in exec of the login shell, which is
// hermes-exec), so the command the human approved is classified a second
// time, below the shell that took the grant, where nobody can be asked.
// Only that shell's descendants, that is, the approved command itself,
// can use it; a process the model started before is not one.
func (g Grants) PutInherited(key, agent string, pid int, start string, ttl time.Duration) error {
	return g.put(grantFile{Key: keyHash(key), Agent: agent, PID: pid, Start: start, Expires: time.Now().Add(ttl).UTC(), Inherited: true})
}

func (g Grants) put(gf grantFile) error {
	if err := os.MkdirAll(g.Dir, 0o700); err != nil {
		return err
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	k, err := statekey.Load(g.KeyFile, true)
	if err != nil {
		return err
	}
	gf.MAC = k.Sign(grantPurpose, gf.body())
	b, err := json.Marshal(gf)
	if err != nil {
		return err
	}
	name := filepath.Join(g.Dir, gf.Key[:32]+"-"+hex.EncodeToString(rnd[:]))
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name+".json")
}

// InheritedTTL bounds how long an inherited grant lives: it is bound to
// a running process (and removed once that is gone), so this only bounds
// what a very long approved command may still run nested.
const InheritedTTL = 12 * time.Hour

// Process is a process by pid and start time (a pid alone may be reused).
type Process struct {
	PID   int
	Start string
}

// Take uses up a grant of key for a shell whose ancestors are anc, the
// parent first. An agent's grant is for the shell its agent process
// starts directly (anc[0]) and only one taker can win it: the one whose
// rename of the file succeeds. An inherited grant (PutInherited) is for
// any descendant of the shell that left it, and stays. Expired grants are
// removed on the way.
func (g Grants) Take(key string, anc []Process) (agent string, ok bool) {
	h := keyHash(key)
	matches, _ := filepath.Glob(filepath.Join(g.Dir, h[:32]+"-*.json"))
	if len(matches) == 0 {
		return "", false
	}
	k, err := statekey.Load(g.KeyFile, false)
	if err != nil {
		return "", false // no key: no grant can be genuine
	}
	now := time.Now()
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		var gf grantFile
		if json.Unmarshal(b, &gf) != nil || gf.Key != h || !k.Verify(grantPurpose, gf.body(), gf.MAC) {
			continue // forged or damaged: never honoured
		}
		if now.After(gf.Expires) {
			os.Remove(m)
			continue
		}
		for i, a := range anc {
			if gf.PID != a.PID || gf.Start != a.Start || i > 0 && !gf.Inherited {
				continue
			}
			if gf.Inherited {
				return gf.Agent, true
			}
			used := m + ".used"
			if os.Rename(m, used) == nil {
				os.Remove(used)
				return gf.Agent, true
			}
		}
	}
	return "", false
}

// Ancestors are the processes above this one, the parent first, at most
// max of them.
func Ancestors(max int) []Process {
	var out []Process
	pid := os.Getppid()
	for len(out) < max && pid > 1 {
		start, ok := procstat.StartTime(pid)
		if !ok {
			break
		}
		out = append(out, Process{PID: pid, Start: start})
		ppid, _, ok := procPPID(pid)
		if !ok {
			break
		}
		pid = ppid
	}
	return out
}

// Approver answers yes once, for a command whose grant was taken: the
// human approved it in the agent's dialog.
type Approver struct {
	Agent string
}

func (a Approver) Channel() string { return a.Agent + "-hook" }

func (a Approver) Ask(ctx context.Context, r approval.Request) (approval.Reply, error) {
	return approval.Reply{Answer: approval.AnswerOnce, Approver: "human, in " + a.Agent + "'s approval dialog"}, nil
}

func procPPID(pid int) (int, string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", false
	}
	o, c := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
	if o < 0 || c < o {
		return 0, "", false
	}
	f := strings.Fields(string(b[c+1:]))
	if len(f) < 2 {
		return 0, "", false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, string(b[o+1 : c]), err == nil
}

// shells are the programs an agent may start a hook command through.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "hermes-exec": true}

// AgentProcess finds the agent that started this hook: the nearest
// ancestor that is not a shell (agents run hook commands through sh -c,
// or through their configured shell, which may be hermes-exec).
func AgentProcess() (pid int, start string, err error) {
	self, _ := os.Executable()
	var selfSt syscall.Stat_t
	haveSelf := self != "" && syscall.Stat(self, &selfSt) == nil
	pid = os.Getppid()
	for i := 0; i < 16 && pid > 1; i++ {
		ppid, comm, ok := procPPID(pid)
		if !ok {
			break
		}
		isUs := false
		if haveSelf {
			var st syscall.Stat_t
			isUs = syscall.Stat("/proc/"+strconv.Itoa(pid)+"/exe", &st) == nil && st.Dev == selfSt.Dev && st.Ino == selfSt.Ino
		}
		if !shells[comm] && !isUs {
			start, ok := procstat.StartTime(pid)
			if !ok {
				break
			}
			return pid, start, nil
		}
		pid = ppid
	}
	return 0, "", errors.New("cannot find the agent process that started the hook")
}

// Clean removes expired grants; errors are ignored (a stale grant is
// only ever usable by its own agent process, and expires).
func (g Grants) Clean() {
	_ = filepath.WalkDir(g.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		b, err := os.ReadFile(p)
		var gf grantFile
		if err != nil || json.Unmarshal(b, &gf) != nil {
			return nil
		}
		if start, alive := procstat.StartTime(gf.PID); time.Now().After(gf.Expires) || gf.Inherited && (!alive || start != gf.Start) {
			os.Remove(p)
		}
		return nil
	})
}
