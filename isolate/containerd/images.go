package containerd

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/pkg/rootfs"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/docker/go-units"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Images are kept in containerd's store, in the backend's namespace. A
// registry is not needed: `image import` reads an OCI or `docker save`
// archive through the client's Import (content store and image service,
// both served by containerd 1.6), and `image build` writes a one-layer image
// made from a directory. Each is unpacked for the snapshotter layer by
// layer, so that the first command does not pay for it.

// ImageInfo is one line of `image ls`.
type ImageInfo struct {
	Name     string    `json:"name"`
	Digest   string    `json:"digest"`
	Size     int64     `json:"size"`
	Created  time.Time `json:"created"`
	Unpacked bool      `json:"unpacked"`
}

// Import reads an archive into the store and unpacks what it holds. name,
// when set, names the image (an archive of one image only; OCI archives
// often carry no name at all). It returns the names imported.
func Import(ctx context.Context, cl *containerd.Client, path, name string, out *os.File) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (image import reads an OCI or docker save archive)", path)
	}
	ctx, done, err := cl.WithLease(ctx)
	if err != nil {
		return nil, fmt.Errorf("containerd: lease: %w", err)
	}
	defer done(context.WithoutCancel(ctx))
	p := newProgress(out)
	r, finish := p.reader(f, fi.Size(), filepath.Base(path))
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	opts := []containerd.ImportOpt{
		containerd.WithImportPlatform(platforms.Default()),
		// An image without a name in the archive gets one from the
		// file's name rather than only its digest.
		containerd.WithDigestRef(func(d digest.Digest) string { return base + "@" + d.String() }),
		containerd.WithSkipDigestRef(func(n string) bool { return n != "" }),
	}
	if name != "" {
		opts = append(opts, containerd.WithIndexName(name))
	}
	imgs, err := cl.Import(ctx, r, opts...)
	finish()
	if err != nil {
		return nil, fmt.Errorf("importing %s: %w (is it an OCI archive or the output of docker save?)", path, err)
	}
	if name != "" {
		// WithIndexName names the archive's index; keep only the name
		// that was asked for, pointing at the one image inside.
		var named []images.Image
		for _, img := range imgs {
			if img.Name == name {
				named = append(named, img)
			}
		}
		if len(named) == 0 && len(imgs) > 0 {
			img := imgs[0]
			img.Name = name
			if _, err := createOrUpdate(ctx, cl, img); err != nil {
				return nil, err
			}
			named = []images.Image{img}
		}
		imgs = named
	}
	var names []string
	for _, img := range imgs {
		if err := unpack(ctx, cl, img, p); err != nil {
			return names, err
		}
		names = append(names, img.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s holds no image for %s", path, platforms.DefaultString())
	}
	return names, nil
}

// unpack applies img's layers to the snapshotter one by one, showing each.
func unpack(ctx context.Context, cl *containerd.Client, img images.Image, p *progress) error {
	cs := cl.ContentStore()
	manifest, err := images.Manifest(ctx, cs, img.Target, platforms.Default())
	if err != nil {
		return fmt.Errorf("%s: %w", img.Name, err)
	}
	diffIDs, err := img.RootFS(ctx, cs, platforms.Default())
	if err != nil {
		return fmt.Errorf("%s: %w", img.Name, err)
	}
	if len(diffIDs) != len(manifest.Layers) {
		return fmt.Errorf("%s: %d layers but %d diff ids", img.Name, len(manifest.Layers), len(diffIDs))
	}
	sn := cl.SnapshotService(snapshotter)
	show := p.layers(len(manifest.Layers), img.Name)
	var chain []digest.Digest
	for i, l := range manifest.Layers {
		show(i, l.Size)
		layer := rootfs.Layer{Blob: l, Diff: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: diffIDs[i]}}
		if _, err := rootfs.ApplyLayer(ctx, layer, chain, sn, cl.DiffService()); err != nil {
			return fmt.Errorf("%s: unpacking layer %d: %w", img.Name, i+1, err)
		}
		chain = append(chain, diffIDs[i])
	}
	// Labels that tie the snapshots to the image (so containerd's garbage
	// collector keeps them); the layers are there already.
	if err := containerd.NewImage(cl, img).Unpack(ctx, snapshotter); err != nil {
		return fmt.Errorf("%s: %w", img.Name, err)
	}
	return nil
}

func createOrUpdate(ctx context.Context, cl *containerd.Client, img images.Image) (images.Image, error) {
	is := cl.ImageService()
	out, err := is.Create(ctx, img)
	if errdefs.IsAlreadyExists(err) {
		return is.Update(ctx, img, "target")
	}
	return out, err
}

// BuildOptions describe an image made from a directory.
type BuildOptions struct {
	Dir  string   // the root filesystem, e.g. from debootstrap
	Name string   // the image's name
	Cmd  []string // the default command; the backend runs its own
}

// Build makes a one-layer image from a directory: the directory as an
// uncompressed tar layer (owners, modes, links and times kept), an OCI
// config and manifest, all written to the content store; then unpacks it.
func Build(ctx context.Context, cl *containerd.Client, b BuildOptions, out *os.File) error {
	if b.Name == "" {
		return errors.New("image build needs --name")
	}
	fi, err := os.Stat(b.Dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", b.Dir)
	}
	ctx, done, err := cl.WithLease(ctx)
	if err != nil {
		return fmt.Errorf("containerd: lease: %w", err)
	}
	defer done(context.WithoutCancel(ctx))
	p := newProgress(out)
	p.step("packing %s", b.Dir)
	tmp, err := os.CreateTemp("", "hermes-image-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	files, err := tarDir(io.MultiWriter(tmp, h), b.Dir)
	if err != nil {
		return fmt.Errorf("packing %s: %w", b.Dir, err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	layer := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.NewDigest(digest.SHA256, h), Size: size}
	p.step("packed %d files", files)
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	cs := cl.ContentStore()
	r, finish := p.reader(tmp, size, "layer")
	err = content.WriteBlob(ctx, cs, "hermes-build-"+layer.Digest.Encoded(), r, layer)
	finish()
	if err != nil {
		return fmt.Errorf("containerd: writing the layer: %w", err)
	}
	now := time.Now().UTC()
	cfg := ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Config:   ocispec.ImageConfig{Cmd: b.Cmd, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Digest}},
	}
	cfgDesc, err := writeJSON(ctx, cs, ocispec.MediaTypeImageConfig, cfg, nil)
	if err != nil {
		return err
	}
	mf := ocispec.Manifest{
		Versioned: ocispecs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfgDesc,
		Layers:    []ocispec.Descriptor{layer},
	}
	// The manifest keeps its config and layer from the garbage collector.
	gcLabels := map[string]string{
		"containerd.io/gc.ref.content.config": cfgDesc.Digest.String(),
		"containerd.io/gc.ref.content.l.0":    layer.Digest.String(),
	}
	mfDesc, err := writeJSON(ctx, cs, ocispec.MediaTypeImageManifest, mf, gcLabels)
	if err != nil {
		return err
	}
	mfDesc.Platform = &cfg.Platform
	img, err := createOrUpdate(ctx, cl, images.Image{Name: b.Name, Target: mfDesc, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return fmt.Errorf("containerd: naming the image: %w", err)
	}
	return unpack(ctx, cl, img, p)
}

func writeJSON(ctx context.Context, cs content.Store, mediaType string, v any, labels map[string]string) (ocispec.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	var opts []content.Opt
	if labels != nil {
		opts = append(opts, content.WithLabels(labels))
	}
	if err := content.WriteBlob(ctx, cs, "hermes-build-"+d.Digest.Encoded(), strings.NewReader(string(b)), d, opts...); err != nil {
		return d, fmt.Errorf("containerd: writing %s: %w", mediaType, err)
	}
	return d, nil
}

// tarDir writes dir as a tar stream, paths relative to it, and returns
// the number of entries. Sockets are left out (a tar cannot hold them);
// hard links are kept as links.
func tarDir(w io.Writer, dir string) (int, error) {
	tw := tar.NewWriter(w)
	n := 0
	inodes := map[uint64]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSocket != 0 {
			return nil
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() && st.Nlink > 1 {
			if first, seen := inodes[st.Ino]; seen {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				inodes[st.Ino] = hdr.Name
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		n++
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, tw.Close()
}

// ListImages describes the images in the namespace.
func ListImages(ctx context.Context, cl *containerd.Client) ([]ImageInfo, error) {
	list, err := cl.ListImages(ctx)
	if err != nil {
		return nil, fmt.Errorf("containerd: listing images: %w", err)
	}
	var out []ImageInfo
	for _, img := range list {
		in := ImageInfo{Name: img.Name(), Digest: img.Target().Digest.String(), Created: img.Metadata().CreatedAt}
		in.Size, _ = img.Size(ctx)
		in.Unpacked, _ = img.IsUnpacked(ctx, snapshotter)
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RemoveImages deletes images by name; containerd collects their content
// and snapshots once nothing else uses them.
func RemoveImages(ctx context.Context, cl *containerd.Client, names ...string) error {
	var errs []error
	for _, n := range names {
		if err := cl.ImageService().Delete(ctx, n, images.SynchronousDelete()); err != nil {
			if errdefs.IsNotFound(err) {
				err = errors.New("no such image (see hermes-exec image ls)")
			}
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// Pull fetches ref from its registry and unpacks it: a line (or a bar on
// a terminal) per blob fetched, then per layer unpacked. Only the resolver
// and the content store are used (containerd 1.6 has no Transfer
// service); a registry on this machine (localhost, 127.0.0.1) is spoken to
// over plain HTTP, any other over HTTPS.
func Pull(ctx context.Context, cl *containerd.Client, ref string, out *os.File) error {
	p := newProgress(out)
	p.step("pulling %s", ref)
	ctx, done, err := cl.WithLease(ctx)
	if err != nil {
		return fmt.Errorf("containerd: lease: %w", err)
	}
	defer done(context.WithoutCancel(ctx))
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchLocalhost)),
	})
	var mu sync.Mutex
	fetched := 0
	show := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		mu.Lock()
		fetched++
		p.step("fetching %s %s (%s)", kindOf(desc.MediaType), shortDigest(desc.Digest.String()), units.HumanSize(float64(desc.Size)))
		mu.Unlock()
		return nil, nil
	})
	img, err := cl.Fetch(ctx, ref, containerd.WithResolver(resolver), containerd.WithPlatform(platforms.DefaultString()), containerd.WithImageHandler(show))
	if err != nil {
		return fmt.Errorf("pulling %s: %w (no registry reachable? import an archive instead: hermes-exec image import FILE.tar)", ref, err)
	}
	p.step("fetched %d blobs of %s", fetched, img.Name)
	return unpack(ctx, cl, img, p)
}

func kindOf(mediaType string) string {
	switch {
	case strings.Contains(mediaType, "layer"):
		return "layer"
	case strings.Contains(mediaType, "config"):
		return "config"
	case strings.Contains(mediaType, "index"), strings.Contains(mediaType, "list"):
		return "index"
	}
	return "manifest"
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}
