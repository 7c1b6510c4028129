package adminpolicy

import (
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"hermes-exec/internal/testutil"
	"hermes-exec/policy/config"
)

const issueShape = `default:                      # everyone the supervisor serves
  backends: [supervisor]      # the only backends a user may use
  max_memory: 2g
  max_cpus: 2
  max_pids: 512
  deny: ["terraform destroy"] # added to every user's deny rules
  approvals: {forbid_off: true, forbid_yolo: true, max_timeout: 600}
groups:
  ci: {max_memory: 8g}
users:
  alice: {max_memory: 4g}
`

func parsed(t *testing.T, text string) *Policy {
	t.Helper()
	pol := &Policy{Path: "/etc/hermes-exec/policy.yaml", Present: true}
	if err := parse(pol, []byte(text)); err != nil {
		t.Fatal(err)
	}
	return pol
}

// The issue's example, exactly: levels merge, deny rules add up.
func TestIssueShape(t *testing.T) {
	pol := parsed(t, issueShape)
	bob := pol.For("bob", nil)
	if bob.MaxMemory != 2<<30 || bob.MaxCPUs != 2 || bob.MaxPids != 512 || !bob.ForbidsOff() || !bob.ForbidsYolo() || bob.MaxTimeout != 600*time.Second {
		t.Errorf("default level: %+v", bob.Rules)
	}
	if got := pol.For("carol", []string{"users", "ci"}).MaxMemory; got != 8<<30 {
		t.Errorf("member of ci: max_memory %d, want 8g", got)
	}
	alice := pol.For("alice", []string{"ci"})
	if alice.MaxMemory != 4<<30 || alice.MaxPids != 512 {
		t.Errorf("alice (user level over group): %+v", alice.Rules)
	}
	if strings.Join(alice.Deny, "|") != "terraform destroy" {
		t.Errorf("deny %v", alice.Deny)
	}
}

// The user's config narrows, never widens.
func TestApplyTightensOnly(t *testing.T) {
	eff := parsed(t, issueShape).For("bob", nil)
	c := config.Defaults()
	c.Approvals.Mode = config.ModeOff
	c.Approvals.Timeout = time.Hour
	c.Approvals.Deny = []string{"rm -rf /srv"}
	c.Container.Memory = "16g"
	c.Container.CPUs = 8
	c.Container.Pids = 100 // narrower than the cap: kept
	eff.Apply(c)
	if c.Approvals.Mode != config.ModeDefault || c.Approvals.Timeout != 600*time.Second {
		t.Errorf("approvals: %+v", c.Approvals)
	}
	if strings.Join(c.Approvals.Deny, "|") != "rm -rf /srv|terraform destroy" {
		t.Errorf("deny: %v", c.Approvals.Deny)
	}
	if b, _ := config.ParseBytes(c.Container.Memory); b != 2<<30 || c.Container.CPUs != 2 || c.Container.Pids != 100 {
		t.Errorf("container: %+v", c.Container)
	}
	if m, _, p, _ := eff.Limits(0, 0, 0, 0); m != 2<<30 || p != 512 {
		t.Errorf("limits with nothing asked: %d %d", m, p)
	}
	if _, _, err := eff.Backend("host", ""); err == nil {
		t.Error("--backend host allowed under backends [supervisor]")
	}
	if name, note, err := eff.Backend("", "host"); name != "supervisor" || note == "" || err != nil {
		t.Errorf("configured host: %q %q %v", name, note, err)
	}
}

// Mistakes name the line; typos are mistakes.
func TestParseErrorsNameTheLine(t *testing.T) {
	for text, want := range map[string]string{
		"default:\n  max_memory: lots\n":               ":2: default.max_memory",
		"default:\n  max_memroy: 1g\n":                 ":2: unknown key",
		"users:\n  bob:\n    backends: [hots]\n":       ":3: users.bob.backends",
		"default:\n  approvals: {forbid_off: maybe}\n": ":2: default.approvals.forbid_off",
		"default: [\n": ":1:",
		"other: 1\n":   ":1: unknown key",
	} {
		pol := &Policy{Path: "/p"}
		err := parse(pol, []byte(text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}

// Only a file of root's, in directories of root's, writable by no one
// else, is trusted.
func TestUntrustedFileRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make root-owned and user-owned files")
	}
	dir, err := os.MkdirTemp("/run", "adminpolicy-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	_ = os.Chmod(dir, 0o755)
	p := filepath.Join(dir, "policy.yaml")
	if pol, err := load(p); err != nil || pol.Present {
		t.Fatalf("no file: %+v %v, want an empty policy", pol, err)
	}
	_ = os.WriteFile(p, []byte("default: {max_pids: 5}\n"), 0o644)
	if pol, err := load(p); err != nil || pol.Default.MaxPids != 5 {
		t.Fatalf("sound file: %v", err)
	}
	_ = os.Chmod(p, 0o646)
	if _, err := load(p); err == nil {
		t.Error("other-writable file trusted")
	}
	_ = os.Chmod(p, 0o644)
	_ = os.Chown(p, 65534, 65534)
	if _, err := load(p); err == nil {
		t.Error("file owned by nobody trusted")
	}
	_ = os.Chown(p, 0, 0)
	_ = os.Chmod(dir, 0o775)
	if _, err := load(p); err == nil {
		t.Error("group-writable directory trusted")
	}
	_ = os.Chmod(dir, 0o755)
	l := filepath.Join(dir, "link.yaml")
	_ = os.Symlink(p, l)
	if _, err := load(l); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("symlink: %v", err)
	}
}

// The user's groups are read only when the policy names groups, and the
// answer is the same as with them read: a group level still applies to
// its members.
func TestForUIDReadsGroupsOnlyWhenNamed(t *testing.T) {
	uid := os.Getuid()
	noGroups := parsed(t, "default: {max_pids: 100}\nusers:\n  nobody-here: {max_pids: 5}\n")
	name, groups := Identity(uid)
	if got, want := noGroups.forUID(uid), noGroups.For(name, groups); !reflect.DeepEqual(got, want) {
		t.Errorf("without groups in the policy: %+v, want %+v", got, want)
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		testutil.Skip(t, "uid %d not in the user database: %v", uid, err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		testutil.Skip(t, "gid %s not in the group database: %v", u.Gid, err)
	}
	withGroup := parsed(t, "default: {max_pids: 100}\ngroups:\n  "+g.Name+": {max_pids: 7}\n")
	got := withGroup.forUID(uid)
	if got.MaxPids != 7 || strings.Join(got.Groups, ",") != g.Name || got.User != u.Username {
		t.Errorf("member of %s: max_pids %d, groups %v, user %q; want 7, [%s], %q", g.Name, got.MaxPids, got.Groups, got.User, g.Name, u.Username)
	}
}
