package telegram

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"hermes-exec/internal/hermeshome"
)

func TestLoadOptionsReadsDotEnvAndTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	home := hermeshome.Layout{Dir: dir}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	// No .env and nothing set: empty options, no error; New then says
	// what is missing.
	o, err := LoadOptions(home, getenv)
	if err != nil || o.Token != "" || o.AllowedUsers != nil {
		t.Fatalf("without configuration: %+v, %v", o, err)
	}
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), EnvToken+" is not set") {
		t.Errorf("New without a token: %v", err)
	}

	dotenv := "# Hermes keys\nOPENAI_API_KEY=sk-x\nexport TELEGRAM_BOT_TOKEN=\"" + testToken + "\"\nTELEGRAM_ALLOWED_USERS = 1002, 1001 ,1002 # the team\n"
	if err := os.WriteFile(home.Env(), []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err = LoadOptions(home, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if o.Token != testToken || !reflect.DeepEqual(o.AllowedUsers, []int64{1001, 1002}) {
		t.Errorf("from .env: %+v", o)
	}
	// The environment wins over .env.
	env[EnvAllowedUsers] = "42"
	if o, _ = LoadOptions(home, getenv); !reflect.DeepEqual(o.AllowedUsers, []int64{42}) || o.Token != testToken {
		t.Errorf("environment over .env: %+v", o)
	}
	// A name instead of an id is refused, naming the entry.
	env[EnvAllowedUsers] = "1001,@alice"
	if _, err := LoadOptions(home, getenv); err == nil || !strings.Contains(err.Error(), `"@alice" is not a numeric Telegram user id`) {
		t.Errorf("a user name in %s: %v", EnvAllowedUsers, err)
	}
	// An unreadable .env is an error, not an empty configuration.
	if os.Geteuid() != 0 {
		os.Chmod(home.Env(), 0)
		if _, err := LoadOptions(home, getenv); err == nil {
			t.Error("an unreadable .env was taken as empty")
		}
	}
	os.Remove(home.Env())
	os.Mkdir(filepath.Join(dir, ".env"), 0o700)
	if _, err := LoadOptions(home, getenv); err == nil {
		t.Error("a .env that cannot be read was taken as empty")
	}
}

func TestOptionsDoNotPrintTheToken(t *testing.T) {
	o := Options{Token: testToken, APIURL: DefaultAPIURL, AllowedUsers: []int64{1}}
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%v %+v %#v %s", o, o, o, o), fmt.Sprintf("%+v", &o)} {
		assertNoToken(t, "printed options", s)
	}
}

func TestNewChecksTokenAndAPIURL(t *testing.T) {
	for _, tc := range []struct {
		token, api string
		ok         bool
	}{
		{testToken, "", true},
		{testToken, "https://api.telegram.org/", true},
		{testToken, "https://bots.example.net:8443/tg", true},
		{testToken, "http://127.0.0.1:8081", true},
		{testToken, "http://[::1]:8081", true},
		{testToken, "http://localhost:8081", true},
		{testToken, "http://api.telegram.org", false},
		{testToken, "ftp://api.telegram.org", false},
		{testToken, "https://user:pw@api.telegram.org", false},
		{testToken, "api.telegram.org", false},
		{"", "", false},
		{"no-colon", "", false},
		{"1:a/b", "", false},
		{"1:a?b", "", false},
		{"1:a b", "", false},
	} {
		_, err := New(Options{Token: tc.token, APIURL: tc.api})
		if (err == nil) != tc.ok {
			t.Errorf("New(token %q, api_url %q): %v, want ok=%v", tc.token, tc.api, err, tc.ok)
		}
	}
	br, err := New(Options{Token: testToken})
	if err != nil || br.Platform() != "telegram" {
		t.Fatalf("%v %v", br, err)
	}
	if got := br.(*Bridge).opts.APIURL; got != DefaultAPIURL {
		t.Errorf("default api_url %q", got)
	}
}
