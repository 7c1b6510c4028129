package containerd

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
)

// fakeStore is the part of containerd a fresh container's set-up and
// removal talk to: container records, snapshots and an image, each
// call recorded (by fakeContainerd) in order. Task creation fails, so
// that a run stops after everything before it and removes what it made.
type fakeStore struct {
	mu         sync.Mutex
	anchor     string
	containers map[string]bool
	snapshots  map[string]bool
	log        []string // "create ID", "prepare KEY", "task ID", ...
	taskRootfs [][]*types.Mount
}

var fakeMounts = []*types.Mount{{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/l", "upperdir=/u", "workdir=/w"}}}

const fakeImageDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func (f *fakeStore) note(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, s)
}

func (f *fakeStore) handle(m string, st grpc.ServerStream) (bool, error) {
	recv := func(msg proto.Message) error { return st.RecvMsg(msg) }
	switch m {
	case "/containerd.services.containers.v1.Containers/Get":
		var r containersapi.GetContainerRequest
		if err := recv(&r); err != nil {
			return true, err
		}
		f.mu.Lock()
		ok := f.containers[r.ID]
		f.mu.Unlock()
		if r.ID == f.anchor {
			// No anchor is made: the task would start its shim.
			return true, status.Error(codes.Unavailable, "fake: no anchor")
		}
		if !ok {
			return true, status.Error(codes.NotFound, "fake: no container")
		}
		return true, st.SendMsg(&containersapi.GetContainerResponse{Container: &containersapi.Container{ID: r.ID, Runtime: &containersapi.Container_Runtime{Name: runtimeName}, Snapshotter: snapshotter, SnapshotKey: r.ID}})
	case "/containerd.services.containers.v1.Containers/Create":
		var r containersapi.CreateContainerRequest
		if err := recv(&r); err != nil {
			return true, err
		}
		f.note("create " + r.Container.ID)
		f.mu.Lock()
		f.containers[r.Container.ID] = true
		f.mu.Unlock()
		return true, st.SendMsg(&containersapi.CreateContainerResponse{Container: r.Container})
	case "/containerd.services.containers.v1.Containers/Delete":
		var r containersapi.DeleteContainerRequest
		if err := recv(&r); err != nil {
			return true, err
		}
		f.note("delete " + r.ID)
		f.mu.Lock()
		delete(f.containers, r.ID)
		f.mu.Unlock()
		return true, st.SendMsg(&emptypb.Empty{})
	case "/containerd.services.images.v1.Images/Get":
		var r imagesapi.GetImageRequest
		if err := recv(&r); err != nil {
			return true, err
		}
		return true, st.SendMsg(&imagesapi.GetImageResponse{Image: &imagesapi.Image{Name: r.Name,
			Target: &types.Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: fakeImageDigest, Size: 100}}})
	case "/containerd.services.snapshots.v1.Snapshots/Prepare":
		var r snapshotsapi.PrepareSnapshotRequest
		if err := recv(&r); err != nil {
			return true, err
		}
		f.note("prepare " + r.Key)
		f.mu.Lock()
		f.snapshots[r.Key] = true
		f.mu.Unlock()
		return true, st.SendMsg(&snapshotsapi.PrepareSnapshotResponse{Mounts: fakeMounts})
	case "/containerd.services.snapshots.v1.Snapshots/Remove":
		var r snapshotsapi.RemoveSnapshotRequest
		if err := recv(&r); err != nil {
			return true, err
		}
		f.note("remove " + r.Key)
		f.mu.Lock()
		delete(f.snapshots, r.Key)
		f.mu.Unlock()
		return true, st.SendMsg(&emptypb.Empty{})
	case "/containerd.services.tasks.v1.Tasks/Create":
		var r tasks.CreateTaskRequest
		if err := recv(&r); err != nil {
			return true, err
		}
		f.note("task " + r.ContainerID)
		f.mu.Lock()
		f.taskRootfs = append(f.taskRootfs, r.Rootfs)
		f.mu.Unlock()
		return true, status.Error(codes.Unavailable, "fake: no shim")
	case "/containerd.services.tasks.v1.Tasks/Get":
		var r tasks.GetRequest
		if err := recv(&r); err != nil {
			return true, err
		}
		return true, status.Error(codes.NotFound, "fake: no task")
	}
	return false, nil
}

// A fresh container's snapshot exists only once its record names it (so
// that containerd's garbage collection never finds it unreferenced, with
// no lease taken), its task is created on the mounts that Prepare
// returned (not asked for again), and a run that fails at its task
// leaves no record and no snapshot behind.
func TestFreshContainerRecordFirstNoLeaseNothingLeft(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, image := range []string{"local/x:1", ""} {
		t.Run("image="+image, func(t *testing.T) {
			o := testOptions(t)
			o.Image = image
			o.Persist = execproto.PersistNone
			// The image's chain id as a run before this one stored it
			// (else it is read from the content store).
			cache := filepath.Join(o.StateDir, "images", strings.ReplaceAll(fakeImageDigest, ":", "-"))
			if err := os.MkdirAll(filepath.Dir(cache), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cache, []byte("sha256:2222222222222222222222222222222222222222222222222222222222222222\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			b := &Backend{o: o, initPath: self}
			store := &fakeStore{anchor: b.anchorID(), containers: map[string]bool{}, snapshots: map[string]bool{}}
			f := &fakeContainerd{version: "1.6.20~ds1", handle: store.handle}
			f.serve(t, o.Address)
			_, err := b.Run(context.Background(), isolate.Spec{Args: []string{"true"}})
			if err == nil || !strings.Contains(err.Error(), "creating the task") || !strings.Contains(err.Error(), "fake: no shim") {
				t.Fatalf("Run: %v, want the task's creation to fail", err)
			}
			f.mu.Lock()
			calls := slices.Clone(f.calls)
			f.mu.Unlock()
			store.mu.Lock()
			defer store.mu.Unlock()
			for _, m := range calls {
				if strings.HasPrefix(m, "/containerd.services.leases.") || m == "/containerd.services.snapshots.v1.Snapshots/Mounts" {
					t.Errorf("a fresh run asked containerd %s (calls: %v)", m, calls)
				}
			}
			var id string
			for _, l := range store.log {
				if strings.HasPrefix(l, "create f-") {
					id = strings.TrimPrefix(l, "create ")
				}
			}
			if id == "" {
				t.Fatalf("no fresh container's record was made: %v", store.log)
			}
			created, prepared := slices.Index(store.log, "create "+id), slices.Index(store.log, "prepare "+id)
			task := slices.Index(store.log, "task "+id)
			if image != "" && (prepared < 0 || prepared < created || task < prepared) {
				t.Errorf("want the record, then the snapshot, then the task: %v", store.log)
			}
			if image == "" && prepared >= 0 {
				t.Errorf("a host-root container got a snapshot: %v", store.log)
			}
			for _, rootfs := range store.taskRootfs {
				want := fakeMounts
				if image == "" {
					want = nil
				}
				if !slices.EqualFunc(rootfs, want, func(a, b *types.Mount) bool { return proto.Equal(a, b) }) {
					t.Errorf("task created on %v, want %v", rootfs, want)
				}
			}
			if len(store.containers) != 0 || len(store.snapshots) != 0 {
				t.Errorf("left behind: containers %v, snapshots %v (log %v)", store.containers, store.snapshots, store.log)
			}
		})
	}
}
