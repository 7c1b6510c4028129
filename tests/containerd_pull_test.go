package tests

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// fakeRegistry serves one image over the registry API's shapes (the OCI
// distribution spec: /v2/, manifests by tag and digest, blobs by digest),
// on loopback: no real registry is reachable from the test machines.
func fakeRegistry(t *testing.T, repo, tag string, root string) *httptest.Server {
	t.Helper()
	layer := tarOf(t, root)
	cfg := imageConfig(t, layer)
	manifest := jsonOf(t, map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + sha(cfg), "size": len(cfg)},
		"layers":        []map[string]any{{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + sha(layer), "size": len(layer)}},
	})
	blobs := map[string][]byte{"sha256:" + sha(cfg): cfg, "sha256:" + sha(layer): layer}
	mdigest := "sha256:" + sha(manifest)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		send := func(b []byte, ctype, digest string) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Header().Set("Docker-Content-Digest", digest)
			if r.Method != http.MethodHead {
				w.Write(b)
			}
		}
		switch p := r.URL.Path; {
		case p == "/v2/":
			w.WriteHeader(http.StatusOK)
		case p == "/v2/"+repo+"/manifests/"+tag || p == "/v2/"+repo+"/manifests/"+mdigest:
			send(manifest, "application/vnd.oci.image.manifest.v1+json", mdigest)
		case strings.HasPrefix(p, "/v2/"+repo+"/blobs/"):
			d := strings.TrimPrefix(p, "/v2/"+repo+"/blobs/")
			b, ok := blobs[d]
			if !ok {
				http.NotFound(w, r)
				return
			}
			send(b, "application/octet-stream", d)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestContainerdPullFromARegistry(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	s := containerdEnv(t, freshConfig)
	repo := "team/tools-" + strconv.Itoa(os.Getpid())
	srv := fakeRegistry(t, repo, "1", makeRootDir(t))
	ref := strings.TrimPrefix(srv.URL, "http://") + "/" + repo + ":1"
	t.Cleanup(func() { s.run(s.extraEnv, "image", "rm", ref) })
	r := s.run(s.extraEnv, "image", "pull", ref)
	if r.code != 0 {
		t.Fatalf("image pull: %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"pulling " + ref, "fetching manifest", "fetching layer", "unpacking " + ref + ": layer 1/1"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("pull did not show %q:\n%s", want, r.stderr)
		}
	}
	s.writeConfig(fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: containerd\ncontainer:\n  workspace: %s\n  image: %s\n%s%s", s.ws, ref, freshConfig, probeBackend.container))
	if r := s.sh("cat /etc/image-marker"); r.code != 0 || r.stdout != "made-by-the-tests\n" {
		t.Errorf("in the pulled image: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// No registry there: a failure that says what to do instead.
	srv.Close()
	r = s.run(s.extraEnv, "image", "pull", strings.TrimPrefix(srv.URL, "http://")+"/"+repo+":2")
	if r.code == 0 || !strings.Contains(r.stderr, "image import") {
		t.Errorf("pull from a closed registry: %d %q", r.code, r.stderr)
	}
}
