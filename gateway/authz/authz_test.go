package authz

import (
	"os"
	"path/filepath"
	"testing"

	"hermes-exec/gateway"
	"hermes-exec/gateway/pairing"
)

func setup(t *testing.T, env map[string]string, dotenv string) *Authorizer {
	dir := t.TempDir()
	p := filepath.Join(dir, ".env")
	if dotenv != "" {
		os.WriteFile(p, []byte(dotenv), 0o600)
	}
	return &Authorizer{
		Getenv:  func(k string) string { return env[k] },
		DotEnv:  p,
		Pairing: &pairing.Store{Dir: filepath.Join(dir, "pairing")},
	}
}

func id(p, i, name string) gateway.Identity { return gateway.Identity{Platform: p, ID: i, Name: name} }

func TestNobodyByDefault(t *testing.T) {
	a := setup(t, nil, "")
	if a.Authorized(id("telegram", "1", "")) || a.Authorized(id("web", "x", "")) || a.Authorized(gateway.Identity{}) {
		t.Fatal("authorized with no configuration")
	}
	if a.HasAllowlist("telegram") {
		t.Fatal("an allowlist where none is set")
	}
}

func TestAllowAll(t *testing.T) {
	a := setup(t, map[string]string{"GATEWAY_ALLOW_ALL_USERS": "true"}, "")
	if !a.Authorized(id("telegram", "99", "")) {
		t.Fatal("allow-all did not allow")
	}
	if a.Authorized(id("telegram", "", "")) {
		t.Fatal("an identity without an id is never authorized")
	}
}

func TestAllowlistsMatchIdsNotNames(t *testing.T) {
	a := setup(t, map[string]string{
		"GATEWAY_ALLOWED_USERS":  "111, telegram:222",
		"TELEGRAM_ALLOWED_USERS": "333",
	}, "")
	for _, c := range []struct {
		who  gateway.Identity
		want bool
	}{
		{id("telegram", "111", ""), true},
		{id("slack", "111", ""), true}, // a bare GATEWAY_ALLOWED_USERS id is for every platform
		{id("telegram", "222", ""), true},
		{id("slack", "222", ""), false}, // telegram:222 is telegram's only
		{id("telegram", "333", ""), true},
		{id("slack", "333", ""), false},
		{id("telegram", "444", "333"), false}, // a display name that looks like an allowed id
		{id("telegram", "11", ""), false},
	} {
		if got := a.Authorized(c.who); got != c.want {
			t.Errorf("Authorized(%+v) = %v, want %v", c.who, got, c.want)
		}
	}
}

func TestDotEnvIsRead(t *testing.T) {
	a := setup(t, nil, "# approvers\nexport TELEGRAM_ALLOWED_USERS=\"555,666\"\n")
	if !a.Authorized(id("telegram", "666", "")) {
		t.Fatal(".env allowlist ignored")
	}
	// The environment wins over .env.
	a = setup(t, map[string]string{"TELEGRAM_ALLOWED_USERS": "777"}, "TELEGRAM_ALLOWED_USERS=555\n")
	if a.Authorized(id("telegram", "555", "")) || !a.Authorized(id("telegram", "777", "")) {
		t.Fatal("environment does not take precedence over .env")
	}
}

func TestPairingRecordsAuthorize(t *testing.T) {
	a := setup(t, nil, "")
	code, err := a.Pairing.Request("web", "abcd", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if a.Authorized(id("web", "abcd", "alice")) {
		t.Fatal("authorized before confirmation")
	}
	if _, err := a.Pairing.Approve("web", code); err != nil {
		t.Fatal(err)
	}
	if !a.Authorized(id("web", "abcd", "")) {
		t.Fatal("paired approver not authorized")
	}
	if a.Authorized(id("telegram", "abcd", "")) {
		t.Fatal("a web pairing authorizes on telegram")
	}
	a.Pairing.Revoke("web", "abcd")
	if a.Authorized(id("web", "abcd", "")) {
		t.Fatal("revoked approver still authorized")
	}
	ap := a.Approvers([]string{"web"})
	if len(ap) != 0 {
		t.Fatalf("approvers after revoke: %+v", ap)
	}
}

func TestIdentitiesForCards(t *testing.T) {
	a := setup(t, map[string]string{"GATEWAY_ALLOWED_USERS": "1,web:9", "TELEGRAM_ALLOWED_USERS": "2,1"}, "")
	code, _ := a.Pairing.Request("telegram", "3", "carol")
	a.Pairing.Approve("telegram", code)
	got := a.Identities("telegram")
	want := []gateway.Identity{{Platform: "telegram", ID: "1"}, {Platform: "telegram", ID: "2"}, {Platform: "telegram", ID: "3", Name: "carol"}}
	if len(got) != len(want) {
		t.Fatalf("identities %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("identities %+v, want %+v", got, want)
		}
	}
}
