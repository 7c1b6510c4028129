package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDotEnvNames(t *testing.T) {
	text := "# Hermes secrets\n" +
		"OPENROUTER_API_KEY=sk-or-v1-abc\n" +
		"\n" +
		"export GITHUB_TOKEN=ghp_xxx\n" +
		"  INDENTED = spaced # comment\n" +
		"QUOTED=\"a b # not a comment\"\n" +
		"SINGLE='it''s'\n" +
		"MULTI=\"-----BEGIN KEY-----\n" +
		"NOT_A_NAME=inside the value\n" +
		"-----END KEY-----\"\n" +
		"ESCAPED=\"say \\\"hi\\\"\"\n" +
		"AFTER_MULTI=1\n" +
		"EMPTY=\n" +
		"not an assignment\n" +
		"1BAD=x\n" +
		"exporter=1\n" +
		"OPENROUTER_API_KEY=again\n" +
		"WINDOWS=crlf\r\n" +
		"dotted.name=x\n"
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := DotEnvNames(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"OPENROUTER_API_KEY", "GITHUB_TOKEN", "INDENTED", "QUOTED", "SINGLE", "MULTI", "ESCAPED",
		"AFTER_MULTI", "EMPTY", "exporter", "WINDOWS", "dotted.name"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestDotEnvNamesMissingAndUnreadable(t *testing.T) {
	dir := t.TempDir()
	got, err := DotEnvNames(filepath.Join(dir, ".env"))
	if got != nil || err != nil {
		t.Fatalf("missing file: %q, %v", got, err)
	}
	if _, err := DotEnvNames(dir); err == nil {
		t.Fatal("a directory must be an error")
	}
}

// An unterminated quote swallows the rest of the file, as python-dotenv
// does; nothing inside it is reported as a name.
func TestDotEnvNamesUnterminatedQuote(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte("A=1\nB=\"open\nC=2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := DotEnvNames(p)
	if err != nil || !reflect.DeepEqual(got, []string{"A", "B"}) {
		t.Fatalf("got %q, %v", got, err)
	}
}
