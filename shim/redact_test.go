package shim

import (
	"encoding/base64"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

func TestSecretValues(t *testing.T) {
	env := []string{
		"OPENAI_API_KEY=sk-live-aaaaaaaaaaaaaaaa",
		"GITHUB_TOKEN=ghp_bbbbbbbbbbbbbbbbbbbb",
		"my_secret=lowercase-name-value",
		"DB_PASSWORD=hunter22",
		"SMTP_PASSWD=passwd-value",
		"GCP_CREDENTIALS=/path/creds.json",
		"BASIC_AUTH=user:pw1234",
		"DATABASE_URL=postgres://u:p@h/db",
		"SENTRY_DSN=https://k@sentry.io/1",
		"SHORT_TOKEN=abc",                   // too short to mask everywhere
		"PATH=/usr/bin:/bin",                // not secret
		"HOME=/home/me",                     // not secret
		"GIT_AUTHOR_NAME=Jane Developer",    // AUTHOR is not AUTH
		"SSH_AUTH_SOCK=/tmp/ssh-XXXX/agent", // the agent signs as the user: masked like the env filter drops it
		"DUPLICATE_KEY=hunter22",            // same value once
		"NOEQUALS",
	}
	got := SecretValues(env)
	// Longest first, ties in environment order.
	want := []string{"sk-live-aaaaaaaaaaaaaaaa", "ghp_bbbbbbbbbbbbbbbbbbbb", "https://k@sentry.io/1", "lowercase-name-value",
		"postgres://u:p@h/db", "/tmp/ssh-XXXX/agent", "/path/creds.json", "passwd-value", "user:pw1234", "hunter22"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestRedact(t *testing.T) {
	secrets := []string{"hunter2hunter2", "s3cr3t-value"}
	cases := []struct{ in, want string }{
		// Values from the environment, wherever they appear.
		{"echo hunter2hunter2 | ./login", "echo *** | ./login"},
		{"curl -d 'pw=s3cr3t-value' x", "curl -d 'pw=***' x"},
		// Inline assignments with secret-looking names.
		{"OPENAI_API_KEY=abc123 python app.py", "OPENAI_API_KEY=*** python app.py"},
		{"export GITHUB_TOKEN='tok en'", "export GITHUB_TOKEN='***'"},
		{`env DB_PASSWORD="p a\"ss" ./run`, `env DB_PASSWORD="***" ./run`},
		{"docker run -e AWS_SECRET_ACCESS_KEY=zzz img", "docker run -e AWS_SECRET_ACCESS_KEY=*** img"},
		{"DATABASE_URL=postgres://u:pw@h/db make migrate", "DATABASE_URL=*** make migrate"},
		{"SENTRY_DSN=https://x@y/1 ./app", "SENTRY_DSN=*** ./app"},
		{"GIT_AUTHOR_NAME=jane git commit", "GIT_AUTHOR_NAME=jane git commit"},
		{"FOO=bar make", "FOO=bar make"},
		// Headers.
		{`curl -H "Authorization: Bearer eyJhbGciOi.J9x" https://api`, `curl -H "Authorization: Bearer ***" https://api`},
		{`curl -H 'Authorization: token ghx123456' u`, `curl -H 'Authorization: token ***' u`},
		{`curl -H "X-Api-Key: abcdef123" u`, `curl -H "X-Api-Key: ***" u`},
		// Options.
		{"mysql --password=hunter3 db", "mysql --password=*** db"},
		{"vault login --token s.abcdef", "vault login --token ***"},
		{"tool --api-key 'k e y'", "tool --api-key '***'"},
		{"psql --no-password -h db", "psql --no-password -h db"},
		{"docker login --password-stdin -u me", "docker login --password-stdin -u me"},
		{"mysql -u root -p'pa ss' db", "mysql -u root -p'***' db"},
		{"mysql -uroot -phunter9 db", "mysql -uroot -p*** db"},
		{"mkdir -p build/out", "mkdir -p build/out"},
		{"curl -u admin:pa55 https://h", "curl -u admin:*** https://h"},
		{"docker run -u 1000:1000 img", "docker run -u 1000:1000 img"},
		// URLs.
		{"git clone https://user:ghs_tokentoken@github.com/o/r", "git clone https://user:***@github.com/o/r"},
		{"psql postgresql://app:pw@db:5432/x", "psql postgresql://app:***@db:5432/x"},
		{"curl http://localhost:8080/path", "curl http://localhost:8080/path"},
		// Token shapes.
		{"aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE", "aws configure set aws_access_key_id ***"},
		{"echo ghp_abcdefghijklmnopqrstuvwxyz0123456789", "echo ***"},
		{"echo github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "echo ***"},
		{"echo sk-ant-api03-abcdefghijklmnopqrstuv", "echo ***"},
		{"echo sk-proj-abcdefghijklmnopqrstuv", "echo ***"},
		{"echo task-abcdefghijklmnopqrstuvwxyz", "echo task-abcdefghijklmnopqrstuvwxyz"},
		{"printf '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----'", "printf '-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----'"},
		// Ordinary commands are unchanged.
		{"git commit -m 'add token validation'", "git commit -m 'add token validation'"},
		{"ls -la /tmp && grep -r key src/", "ls -la /tmp && grep -r key src/"},
		{"", ""},
	}
	for _, c := range cases {
		if got := Redact(c.in, secrets); got != c.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// Redacting twice changes nothing more, so a record redacted by the flow
// and again by Append stays readable.
func TestRedactIsIdempotent(t *testing.T) {
	in := `OPENAI_API_KEY=abc curl -H "Authorization: Bearer tok12345678" https://u:p@h -p'x' --token t AKIAIOSFODNN7EXAMPLE`
	once := Redact(in, []string{"secretvalue"})
	if twice := Redact(once, []string{"secretvalue"}); twice != once {
		t.Fatalf("not idempotent:\n%s\n%s", once, twice)
	}
	for _, leak := range []string{"abc ", "tok12345678", ":p@", "'x'", " t ", "AKIA"} {
		if strings.Contains(once, leak) {
			t.Errorf("%q leaked in %q", leak, once)
		}
	}
}

// A secret value that contains another is masked whole, not partly.
func TestRedactLongestValueFirst(t *testing.T) {
	got := Redact("a=abcdefgh-longer-secret b=abcdefgh", []string{"abcdefgh", "abcdefgh-longer-secret"})
	if got != "a=*** b=***" {
		t.Fatalf("got %q", got)
	}
}

func BenchmarkRedact(b *testing.B) {
	secrets := SecretValues([]string{"OPENAI_API_KEY=sk-aaaaaaaaaaaaaaaaaaaaaaa", "GITHUB_TOKEN=ghp_bbbbbbbbbbbbbbbbbbbbbbbb", "DB_PASSWORD=hunter22"})
	cmd := `cd /srv/app && git pull --rebase && go build ./... && ./deploy.sh --env prod --region eu-west-1 | tee -a deploy.log`
	for b.Loop() {
		Redact(cmd, secrets)
	}
}

// A secret split by quoting, or inside an encoded blob, is masked too:
// the words' values come from the shell parser after quote removal.
func TestRedactSplitAndEncodedSecrets(t *testing.T) {
	const secret = "sk-abcdef0123456789XYZ"
	secrets := []string{secret, "hunter2-pass"}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, in := range []string{
		`echo "sk-ab""cdef0123456789XYZ"`,
		`echo sk-ab'cdef'0123456789XYZ`,
		`echo sk-ab\cdef0123456789XYZ`,
		`echo $'\x73k-abcdef0123456789XYZ' | tee x`,
		`curl -H "Authorization: Basic ` + b64("alice:"+secret) + `" https://x.example`,
		`curl -H "Authorization: Basic ` + b64("bob:"+secret) + `" https://x.example`,
		`curl -H "Authorization: Basic ` + b64("carol:"+secret) + `" https://x.example`,
		`echo ` + base64.RawURLEncoding.EncodeToString([]byte(`{"k":"`+secret+`"}`)),
		`printf %s ` + hex.EncodeToString([]byte("token="+secret+"\n")) + ` | xxd -r -p`,
		`echo ` + strings.ToUpper(hex.EncodeToString([]byte(secret))),
		`x="$(echo "hunter2"'-pass')"`,
		`echo "sk-ab""cdef0123456789XYZ`, // does not parse
	} {
		got := Redact(in, secrets)
		if strings.Contains(got, secret) || strings.Contains(got, "hunter2-pass") || !strings.Contains(got, mask) {
			t.Errorf("Redact(%q) = %q: the secret is still there", in, got)
		}
		for _, leak := range []string{"cdef0123456789XYZ", hex.EncodeToString([]byte(secret))[8:], b64(secret)[4:]} {
			if strings.Contains(got, leak) {
				t.Errorf("Redact(%q) = %q: holds %q", in, got, leak)
			}
		}
	}
	// What holds no secret keeps its quoting and its text.
	for _, in := range []string{`echo "sk-ab""cd"`, `git commit -m 'fix: "quoted"'`, `echo aGVsbG8gd29ybGQ= 68656c6c6f`} {
		if got := Redact(in, secrets); got != in {
			t.Errorf("Redact(%q) = %q: changed", in, got)
		}
	}
}

// BenchmarkRedactQuoted is the peer of BenchmarkRedact for a command with
// quotes and an encoded blob (the parser and the blob search run).
func BenchmarkRedactQuoted(b *testing.B) {
	secrets := SecretValues([]string{"OPENAI_API_KEY=sk-aaaaaaaaaaaaaaaaaaaaaaa", "GITHUB_TOKEN=ghp_bbbbbbbbbbbbbbbbbbbbbbbb", "DB_PASSWORD=hunter22"})
	cmd := `cd /srv/app && git commit -m "deploy: 'eu' region" && curl -H "Content-Type: application/json" -d '{"v":"aGVsbG8gd29ybGQ="}' https://x.example/api | tee -a "deploy.log"`
	for b.Loop() {
		Redact(cmd, secrets)
	}
}

// BenchmarkRedactSplit: a secret split by quotes, which parses the text.
func BenchmarkRedactSplit(b *testing.B) {
	secrets := SecretValues([]string{"OPENAI_API_KEY=sk-aaaaaaaaaaaaaaaaaaaaaaa", "GITHUB_TOKEN=ghp_bbbbbbbbbbbbbbbbbbbbbbbb", "DB_PASSWORD=hunter22"})
	cmd := `cd /srv/app && curl -H "Authorization: Bearer sk-aaaa""aaaaaaaaaaaaaaaaaaa" https://x.example/api | tee -a "deploy.log"`
	for b.Loop() {
		Redact(cmd, secrets)
	}
}
