package isolate

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestIsSecretName(t *testing.T) {
	secret := []string{
		"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "GH_TOKEN",
		"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN",
		"MY_PASSWORD", "DB_PASS", "SMTP_PASSWD", "MYSQL_PWD", "PGPASSWORD",
		"GOOGLE_APPLICATION_CREDENTIALS", "DOCKER_CREDS", "SSH_PRIVATE_KEY",
		"NPM_CONFIG__AUTH", "SSH_AUTH_SOCK", "GITLAB_PAT", "SESSION_COOKIE",
		"HF_TOKEN", "CLIENTSECRET", "GHTOKEN", "OPENAIAPIKEY", "API_KEY_2",
		"KEY", "TOKEN", "DATABASE_URL", "TEST_DATABASE_URL", "SENTRY_DSN",
		"openai_api_key", "githubToken", "npm_config_authToken", "myApiKey",
		"Stripe-Secret", "GPG_PASSPHRASE", "SIGNING_KEYS",
	}
	benign := []string{
		"PATH", "HOME", "GOPATH", "PWD", "OLDPWD", "KEYBOARD", "KEYBOARD_LAYOUT",
		"XAUTHORITY", "MONKEY_MODE", "COMPASS", "GIT_ASKPASS", "PASSTHROUGH",
		"GO_COMPAT", "LANG", "TERM", "HERMES_SESSION_ID", "HERMES_HOME",
		"DBUS_SESSION_BUS_ADDRESS", "SSH_CONNECTION", "EDITOR", "AUTHOR_NAME",
		"TOKENIZERS_PARALLELISM", "KEYTIMEOUT", "DSN_HOST", "URL", "LS_COLORS",
		"",
	}
	for _, n := range secret {
		if !IsSecretName(n) {
			t.Errorf("IsSecretName(%q) = false, want true", n)
		}
	}
	for _, n := range benign {
		if IsSecretName(n) {
			t.Errorf("IsSecretName(%q) = true, want false", n)
		}
	}
}

func TestFilterEnvDropsSecretsKeepsRestInOrder(t *testing.T) {
	in := []string{
		"PATH=/usr/bin:/bin",
		"OPENAI_API_KEY=sk-123",
		"HOME=/root",
		"GITHUB_TOKEN=ghp_x",
		"KEYBOARD=us",
		"malformed",
		"=novalue",
		"DATABASE_URL=postgres://u:p@h/db",
		"HERMES_SESSION_ID=abc",
		"HERMES_HOME=/root/.hermes",
		"HERMES_YOLO=1",
		"hermes_yolo_mode=on",
		"EMPTY=",
		"GOPATH=/go",
	}
	want := []string{
		"PATH=/usr/bin:/bin",
		"HOME=/root",
		"KEYBOARD=us",
		"HERMES_SESSION_ID=abc",
		"HERMES_HOME=/root/.hermes",
		"EMPTY=",
		"GOPATH=/go",
	}
	if got := FilterEnv(in, nil, nil); !reflect.DeepEqual(got, want) {
		t.Fatalf("FilterEnv:\n got %q\nwant %q", got, want)
	}
}

func TestFilterEnvPassthrough(t *testing.T) {
	in := []string{
		"AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=t", "GITHUB_TOKEN=g",
		"OPENAI_API_KEY=o", "aws_lower_key=l", "HERMES_YOLO=1", "MY_SECRET=m",
	}
	pass := []string{"AWS_*", "GITHUB_TOKEN", "HERMES_YOLO", "MY_*ET", "*_API_KEY"}
	// AWS_* keeps both AWS names (prefix); GITHUB_TOKEN exact; prefix
	// patterns are case-sensitive; HERMES_YOLO is never passed; a '*'
	// that is not the last character is literal.
	want := []string{"AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=t", "GITHUB_TOKEN=g"}
	if got := FilterEnv(in, pass, nil); !reflect.DeepEqual(got, want) {
		t.Fatalf("FilterEnv:\n got %q\nwant %q", got, want)
	}
	if got := FilterEnv(in, []string{"*"}, nil); len(got) != len(in)-1 {
		t.Fatalf("lone * should keep every variable but HERMES_YOLO: %q", got)
	}
}

func TestFilterEnvDropsDotenvNames(t *testing.T) {
	in := []string{"PATH=/bin", "MODEL_NAME=gpt", "ENDPOINT=https://x", "model_name=low", "EDITOR=vi"}
	dotenv := []string{"MODEL_NAME", "ENDPOINT"}
	want := []string{"PATH=/bin", "EDITOR=vi"}
	if got := FilterEnv(in, nil, dotenv); !reflect.DeepEqual(got, want) {
		t.Fatalf("FilterEnv:\n got %q\nwant %q", got, want)
	}
	want = []string{"PATH=/bin", "ENDPOINT=https://x", "EDITOR=vi"}
	if got := FilterEnv(in, []string{"ENDPOINT"}, dotenv); !reflect.DeepEqual(got, want) {
		t.Fatalf("passthrough should override .env: got %q want %q", got, want)
	}
}

func TestBaselineEnv(t *testing.T) {
	in := []string{
		"PATH=/bin", "HOME=/h", "USER=u", "LOGNAME=u", "SHELL=/bin/bash",
		"LANG=C.UTF-8", "LC_ALL=C", "LC_CTYPE=C", "TERM=xterm", "TZ=UTC",
		"COLORTERM=truecolor", "EDITOR=vi", "GOPATH=/go", "GITHUB_TOKEN=x",
		"HERMES_SESSION_ID=s", "HERMES_YOLO=1", "PROJ_A=1", "broken",
	}
	want := []string{
		"PATH=/bin", "HOME=/h", "USER=u", "LOGNAME=u", "SHELL=/bin/bash",
		"LANG=C.UTF-8", "LC_ALL=C", "LC_CTYPE=C", "TERM=xterm", "TZ=UTC",
		"COLORTERM=truecolor", "GITHUB_TOKEN=x", "PROJ_A=1",
	}
	got := BaselineEnv(in, []string{"GITHUB_TOKEN", "PROJ_*", "HERMES_YOLO"})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("BaselineEnv:\n got %q\nwant %q", got, want)
	}
}

func BenchmarkFilterEnv(b *testing.B) {
	// A typical agent environment: ~60 variables, a few of them secrets.
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/u", "USER=u", "SHELL=/bin/bash",
		"LANG=en_US.UTF-8", "TERM=xterm-256color", "OPENAI_API_KEY=sk-x", "GITHUB_TOKEN=g",
		"AWS_SECRET_ACCESS_KEY=a", "XAUTHORITY=/run/x", "HERMES_SESSION_ID=s",
	}
	for i := 0; len(env) < 60; i++ {
		env = append(env, "SOME_ORDINARY_VARIABLE_"+strconv.Itoa(i)+"=value")
	}
	pass := []string{"AWS_*", "MY_TOKEN"}
	dotenv := []string{"OPENROUTER_API_KEY", "MODEL"}
	b.ReportAllocs()
	for b.Loop() {
		FilterEnv(env, pass, dotenv)
	}
}

// Names that hold a secret-looking word but a setting, a location or a
// switch must reach commands: Gemini CLI's GIT_CONFIG_KEY_n (without which
// every git command fails), *_FILE/_DIR/_PATH, HF_HUB_DISABLE_*.
func TestNotSecretShapes(t *testing.T) {
	kept := []string{
		"GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_KEY_12", "GIT_CONFIG_VALUE_0",
		"PASSWORD_STORE_DIR", "KEY_FILE", "POSTGRES_PASSWORD_FILE", "SSH_KEY_PATH",
		"GNUPG_SECRET_HOME", "TOKEN_CACHE_DIRS", "HF_HUB_DISABLE_IMPLICIT_TOKEN",
		"GIT_NO_AUTH", "ENABLE_TOKEN_REFRESH", "apiKeyFile",
	}
	for _, n := range kept {
		if IsSecretName(n) {
			t.Errorf("IsSecretName(%q) = true, want false", n)
		}
	}
	still := []string{
		"GIT_CONFIG_KEY_", "GIT_CONFIG_KEY_X", "GIT_CONFIG_KEYS", "GIT_TOKEN",
		"SSH_AUTH_SOCK", "FILE_TOKEN", "PATH_SECRET", "TOKEN_DIRX", "AWS_SECRET_ACCESS_KEY",
	}
	for _, n := range still {
		if !IsSecretName(n) {
			t.Errorf("IsSecretName(%q) = false, want true", n)
		}
	}
	env := []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*", "GH_TOKEN=x"}
	got := FilterEnv(env, nil, nil)
	if want := env[:3]; !reflect.DeepEqual(got, want) {
		t.Errorf("FilterEnv = %q, want %q", got, want)
	}
}

func TestDroppedNamesNeverShowValues(t *testing.T) {
	env := []string{"PATH=/bin", "GH_TOKEN=ghp_secretvalue", "MINE=fromdotenv", "HERMES_YOLO=1", "KEEP_TOKEN=x"}
	got := DroppedNames(env, []string{"KEEP_TOKEN"}, []string{"mine"})
	var names []string
	for _, d := range got {
		names = append(names, d.Name)
		if d.Reason == "" {
			t.Errorf("%s: no reason", d.Name)
		}
		for _, kv := range env {
			if n, v, _ := strings.Cut(kv, "="); n == d.Name && strings.Contains(d.Reason, v) {
				t.Errorf("%s: the reason shows the value", d.Name)
			}
		}
	}
	if want := []string{"GH_TOKEN", "MINE", "HERMES_YOLO"}; !reflect.DeepEqual(names, want) {
		t.Errorf("dropped %q, want %q", names, want)
	}
	// The same names FilterEnv removes.
	kept := FilterEnv(env, []string{"KEEP_TOKEN"}, []string{"mine"})
	if len(kept)+len(got) != len(env) {
		t.Errorf("FilterEnv kept %q and DroppedNames lists %d: they disagree", kept, len(got))
	}
}
