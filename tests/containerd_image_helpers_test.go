package tests

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
)

// imageTools are the programs copied into the tests' own small image,
// with the shared libraries they need: enough for bash scripts.
var imageTools = []string{"bash", "cat", "sleep", "id", "sha256sum", "head", "stty", "tty", "ls"}

// makeRootDir builds a tiny root filesystem (no registry, no network): the
// host's copies of imageTools and their libraries, found with ldd.
func makeRootDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	libs := regexp.MustCompile(`(/[^ ]+)`)
	for _, name := range imageTools {
		bin, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		bin, _ = filepath.EvalSymlinks(bin)
		files := []string{bin}
		out, _ := exec.Command("ldd", bin).Output()
		files = append(files, libs.FindAllString(string(out), -1)...)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			dst := filepath.Join(dir, f)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, data, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// Also at /bin/NAME, where scripts look first.
		if filepath.Dir(bin) != "/bin" {
			_ = os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
			_ = os.Symlink(bin, filepath.Join(dir, "bin", name))
		}
	}
	for _, d := range []string{"tmp", "etc", "proc", "dev", "sys", "run"} {
		_ = os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	write(t, filepath.Join(dir, "etc", "image-marker"), "made-by-the-tests\n")
	return dir
}

// tarOf is dir as an uncompressed tar layer.
func tarOf(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr.Name = rel
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// imageConfig is an OCI/docker image config for one layer.
func imageConfig(t *testing.T, layer []byte) []byte {
	return jsonOf(t, map[string]any{
		"architecture": runtime.GOARCH, "os": "linux",
		"config": map[string]any{"Env": []string{"PATH=/usr/bin:/bin"}, "Cmd": []string{"/bin/bash"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + sha(layer)}},
	})
}

// writeTar writes files (name -> content, in order) as a tar archive.
func writeTar(t *testing.T, path string, names []string, files map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[n])
	}
	tw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// dockerSaveArchive writes dir as `docker save` would: manifest.json,
// the config and the layer, tagged tag.
func dockerSaveArchive(t *testing.T, dir, tag, path string) {
	t.Helper()
	layer := tarOf(t, dir)
	cfg := imageConfig(t, layer)
	lname := sha(layer) + "/layer.tar"
	cname := sha(cfg) + ".json"
	manifest := jsonOf(t, []map[string]any{{"Config": cname, "RepoTags": []string{tag}, "Layers": []string{lname}}})
	writeTar(t, path, []string{cname, lname, "manifest.json"}, map[string][]byte{cname: cfg, lname: layer, "manifest.json": manifest})
}

// ociArchive writes dir as an OCI image layout in a tar, with no name in
// it (as many tools write them).
func ociArchive(t *testing.T, dir, path string) {
	t.Helper()
	layer := tarOf(t, dir)
	cfg := imageConfig(t, layer)
	manifest := jsonOf(t, map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + sha(cfg), "size": len(cfg)},
		"layers":        []map[string]any{{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + sha(layer), "size": len(layer)}},
	})
	index := jsonOf(t, map[string]any{
		"schemaVersion": 2,
		"manifests": []map[string]any{{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + sha(manifest), "size": len(manifest),
			"platform": map[string]any{"architecture": runtime.GOARCH, "os": "linux"},
		}},
	})
	blob := func(b []byte) string { return "blobs/sha256/" + sha(b) }
	files := map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`), "index.json": index,
		blob(cfg): cfg, blob(layer): layer, blob(manifest): manifest,
	}
	writeTar(t, path, []string{"oci-layout", blob(cfg), blob(layer), blob(manifest), "index.json"}, files)
}
