package deadline

import (
	"context"
	"testing"
	"time"

	"hermes-exec/approval"
	"hermes-exec/policy"
	"hermes-exec/policy/config"
)

type seen struct{ r approval.Request }

func (s *seen) Channel() string { return "x" }
func (s *seen) Ask(_ context.Context, r approval.Request) (approval.Reply, error) {
	s.r = r
	return approval.Reply{}, nil
}

func TestPerRuleTimeout(t *testing.T) {
	a := config.Approvals{Timeout: 300 * time.Second, Timeouts: map[string]time.Duration{"git-destructive": 60 * time.Second, "perms": 30 * time.Second}}
	in := &seen{}
	w := Wrap(in, a.TimeoutFor)
	now := time.Now()
	w.now = func() time.Time { return now }
	ask := func(rules ...string) approval.Request {
		r := approval.Request{Timeout: 300 * time.Second, Deadline: now.Add(300 * time.Second)}
		for _, rl := range rules {
			r.Findings = append(r.Findings, policy.Finding{Rule: rl, Decision: policy.Ask})
		}
		w.Ask(context.Background(), r)
		return in.r
	}
	if r := ask("git-destructive"); r.Timeout != time.Minute || !r.Deadline.Equal(now.Add(time.Minute)) {
		t.Fatalf("rule: %v %v", r.Timeout, r.Deadline)
	}
	if r := ask("git-destructive", "perms-system"); r.Timeout != 30*time.Second {
		t.Fatalf("class, shortest wins: %v", r.Timeout)
	}
	if r := ask("delete-recursive-system"); r.Timeout != 300*time.Second {
		t.Fatalf("no per-rule timeout: %v", r.Timeout)
	}
}
