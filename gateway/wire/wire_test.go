package wire

import (
	"encoding/json"
	"testing"
	"time"

	"hermes-exec/approval"
	"hermes-exec/policy"
)

func TestRequestRoundTrip(t *testing.T) {
	r := approval.Request{
		ID: approval.NewID(), Command: "git push --force", Session: "s", User: "u", Host: "h", Cwd: "/w",
		Backend: "host", Timeout: 90 * time.Second, Deadline: time.Now().Add(90 * time.Second).Round(0).UTC(), CanAlways: true,
		Findings: []policy.Finding{{Rule: "git-destructive", Description: "d", Command: "git push --force", Pos: "1:1", Decision: policy.Ask}},
	}
	data, err := json.Marshal(FromRequest(r))
	if err != nil {
		t.Fatal(err)
	}
	var w Request
	if err := json.Unmarshal(data, &w); err != nil {
		t.Fatal(err)
	}
	got := w.ToRequest()
	if got.ID != r.ID || got.Command != r.Command || got.Timeout != r.Timeout || !got.Deadline.Equal(r.Deadline) ||
		got.Session != "s" || got.Cwd != "/w" || !got.CanAlways || len(got.Findings) != 1 || got.Findings[0].Rule != "git-destructive" || got.Findings[0].Pos != "1:1" || got.Findings[0].Decision != policy.Ask {
		t.Fatalf("round trip:\n%+v\n%+v", got, r)
	}
}

func TestParseAnswer(t *testing.T) {
	for s, want := range map[string]approval.Answer{"once": approval.AnswerOnce, "session": approval.AnswerSession, "always": approval.AnswerAlways, "deny": approval.AnswerDeny} {
		if a, err := ParseAnswer(s); err != nil || a != want || a.String() != s {
			t.Errorf("%s: %v %v", s, a, err)
		}
	}
	for _, s := range []string{"", "yes", "ONCE", "allow"} {
		if a, err := ParseAnswer(s); err == nil || a != approval.AnswerDeny {
			t.Errorf("%q accepted as %v", s, a)
		}
	}
}

func TestValidID(t *testing.T) {
	if !ValidID(approval.NewID()) || ValidID("") || ValidID("../../etc") || ValidID("ABCDEF0123456789ABCDEF0123456789") {
		t.Fatal("ValidID")
	}
}
