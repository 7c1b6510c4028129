package execfn

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary re-runs itself through a link under another name and
// with a made-up argv[0]: Path names the link, not argv[0].
func TestPathIsTheLinkNotArgv0(t *testing.T) {
	if os.Getenv("EXECFN_CHILD") == "1" {
		p, err := Path()
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error())
			os.Exit(0)
		}
		os.Stdout.WriteString(p)
		os.Exit(0)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "some-link")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(link, "-test.run=TestPathIsTheLinkNotArgv0")
	c.Args[0] = "hermes-exec"
	c.Env = append(os.Environ(), "EXECFN_CHILD=1")
	out, err := c.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != link {
		t.Fatalf("Path() = %q, want %q (argv[0] was hermes-exec)", got, link)
	}
}
