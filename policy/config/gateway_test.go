package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadText(t *testing.T, text string) (*Config, error) {
	p := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(p, []byte(text), 0o600)
	return Load(p)
}

func TestGatewaySection(t *testing.T) {
	c, err := loadText(t, `
approvals:
  timeout: 120
  timeouts:
    git-destructive: 60
    perms: 30s
gateway:
  listen: 0.0.0.0:9443
  tls: auto
  cert_file: /etc/ssl/gw.pem
  key_file: /etc/ssl/gw.key
  telegram:
    enabled: true
    api_url: http://127.0.0.1:8081/
    pairing: on
`)
	if err != nil {
		t.Fatal(err)
	}
	g := c.Gateway.WithDefaults()
	if g.Listen != "0.0.0.0:9443" || g.TLS != TLSAuto || g.CertFile != "/etc/ssl/gw.pem" || g.KeyFile != "/etc/ssl/gw.key" {
		t.Fatalf("gateway %+v", g)
	}
	if !g.Telegram.Enabled || g.Telegram.APIURL != "http://127.0.0.1:8081" || g.Telegram.Pairing != PairingOn {
		t.Fatalf("telegram %+v", g.Telegram)
	}
	a := c.Approvals
	if a.TimeoutFor([]string{"git-destructive"}) != time.Minute || a.TimeoutFor([]string{"perms-system"}) != 30*time.Second || a.TimeoutFor([]string{"other"}) != 120*time.Second || a.TimeoutFor(nil) != 120*time.Second {
		t.Fatalf("timeouts %v", a.Timeouts)
	}
}

func TestGatewayDefaults(t *testing.T) {
	c, err := loadText(t, "gateway:\n  tls: off\n")
	if err != nil {
		t.Fatal(err)
	}
	g := c.Gateway.WithDefaults()
	if g.Listen != DefaultGatewayListen || g.TLS != TLSOff || g.Telegram.APIURL != DefaultTelegramAPI || g.Telegram.Pairing != PairingAuto || g.Telegram.Enabled {
		t.Fatalf("defaults %+v", g)
	}
}

func TestGatewayErrorsNameTheLine(t *testing.T) {
	for text, want := range map[string]string{
		"gateway:\n  tls: maybe\n":                          ":2: gateway.tls",
		"gateway:\n  telegram:\n    enabled: perhaps\n":     ":3: gateway.telegram.enabled",
		"approvals:\n  timeouts:\n    git-destructive: 0\n": ":3: approvals.timeouts.git-destructive",
		"approvals:\n  timeouts: [60]\n":                    ":2: approvals.timeouts",
		"gateway:\n  cert_file: /x\n":                       ":2: gateway.cert_file and gateway.key_file",
	} {
		_, err := loadText(t, text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}

func TestDotEnvValues(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(p, []byte("A=1\nexport B='two words'\nC=\"x\\ny\"\nD=plain # comment\nA=last\nE=\"multi\nline\"\nF=after\n"), 0o600)
	v, err := DotEnv(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "last", "B": "two words", "C": "x\ny", "D": "plain", "E": "multi\nline", "F": "after"}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("%s = %q, want %q", k, v[k], w)
		}
	}
}
