package tests

import (
	"strings"
	"testing"
)

// Red-team: the agent pairs itself with the gateway. It asks for a code
// with curl (POST /api/v1/pair is open to anyone on the host, by design),
// then confirms the code with `hermes-exec gateway pair CODE` run through
// hermes-exec like any other command. Were that allowed, the agent's
// cookie would be an approver and it would approve its own requests.
func TestRedteamAgentCannotPairItself(t *testing.T) {
	e := newEnv(t)
	g := e.startGateway()
	agent := g.client()
	var p struct{ Code string }
	if st := g.api(agent, "POST", "/api/v1/pair", `{"name":"agent"}`, &p); st != 200 || len(p.Code) != 8 {
		t.Fatalf("pair: %d %+v", st, p)
	}
	for _, text := range []string{
		e.bin + " gateway pair " + p.Code,
		e.bin + " pairing approve web " + p.Code,
		"bash -c " + shQuote("hermes-exec gateway pair "+p.Code),
	} {
		r := e.run([]string{"PATH=" + dirOf(e.bin) + ":/usr/local/bin:/usr/bin:/bin"}, "-c", text)
		if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied") {
			t.Errorf("%q: exit %d, stderr %q; want a denial", text, r.code, r.stderr)
		}
	}
	var s struct {
		Paired bool `json:"paired"`
	}
	g.api(agent, "GET", "/api/v1/session", "", &s)
	if s.Paired {
		t.Fatal("the agent's session became an approver")
	}
	// Who may approve is the gateway's environment: set by the agent, it
	// would let the agent's own curl approve.
	for _, text := range []string{
		"GATEWAY_ALLOW_ALL_USERS=1 hermes-exec gateway run",
		"env GATEWAY_ALLOWED_USERS=web:x hermes-exec gateway run",
		"export TELEGRAM_ALLOWED_USERS=1",
	} {
		// check only: run for real, a gateway would start.
		if r := e.run(nil, "check", "-c", text); r.code != 2 {
			t.Errorf("check %q: exit %d, want 2 (deny)\n%s", text, r.code, r.stdout)
		}
	}
}

func dirOf(p string) string { return p[:strings.LastIndexByte(p, '/')] }
