package containerd

import (
	"context"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	versionapi "github.com/containerd/containerd/api/services/version/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
)

// fakeContainerd answers Version as told and records every other call
// (refusing it), so that a test sees what a run asked of containerd.
type fakeContainerd struct {
	versionapi.UnimplementedVersionServer
	version string
	fail    bool
	mu      sync.Mutex
	calls   []string
	// handle, when set, answers the calls it knows (handled); the rest
	// are refused.
	handle func(m string, stream grpc.ServerStream) (handled bool, err error)
}

func (f *fakeContainerd) Version(context.Context, *emptypb.Empty) (*versionapi.VersionResponse, error) {
	if f.fail {
		return nil, status.Error(codes.Unavailable, "not now")
	}
	return &versionapi.VersionResponse{Version: f.version, Revision: "r"}, nil
}

func (f *fakeContainerd) serve(t *testing.T, sock string) {
	t.Helper()
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		m, _ := grpc.MethodFromServerStream(stream)
		f.mu.Lock()
		f.calls = append(f.calls, m)
		f.mu.Unlock()
		if f.handle != nil {
			if handled, err := f.handle(m, stream); handled {
				return err
			}
		}
		// Leases are granted, so that a run gets as far as it would.
		switch m {
		case "/containerd.services.leases.v1.Leases/Create":
			if err := stream.RecvMsg(&leasesapi.CreateRequest{}); err != nil {
				return err
			}
			return stream.SendMsg(&leasesapi.CreateResponse{Lease: &leasesapi.Lease{ID: "fake"}})
		case "/containerd.services.leases.v1.Leases/Delete":
			if err := stream.RecvMsg(&leasesapi.DeleteRequest{}); err != nil {
				return err
			}
			return stream.SendMsg(&emptypb.Empty{})
		}
		return status.Error(codes.Unimplemented, "fake")
	}))
	versionapi.RegisterVersionServer(srv, f)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
}

// The version check runs while a fresh container is prepared, but a
// containerd that is too old, or does not answer it, still denies the run
// with the check's own reason, and no container or task is made.
func TestRunRefusesAnOldOrSilentContainerd(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, image, version string
		fail                 bool
		want                 string
	}{
		{"old, image", "local/x:1", "1.5.9", false, "is version 1.5.9; hermes-exec needs 1.6 or newer"},
		{"old, host root", "", "v1.4.0", false, "is version v1.4.0; hermes-exec needs 1.6 or newer"},
		{"silent", "local/x:1", "", true, "does not answer"},
	} {
		for _, persist := range []string{execproto.PersistNone, execproto.PersistSession} {
			t.Run(tc.name+" "+persist, func(t *testing.T) {
				o := testOptions(t)
				o.Image = tc.image
				o.Persist = persist
				f := &fakeContainerd{version: tc.version, fail: tc.fail}
				f.serve(t, o.Address)
				b := &Backend{o: o, initPath: self}
				_, err := b.Run(context.Background(), isolate.Spec{Args: []string{"true"}, Session: "s1"})
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Run: %v, want an error with %q", err, tc.want)
				}
				f.mu.Lock()
				defer f.mu.Unlock()
				// Before the check's answer a run only looks (the
				// anchor, the image) and takes its own lease and
				// snapshot, let go on the way out: anything further
				// (NewContainer starts by asking for the default
				// runtime) is a container on its way.
				allowed := []string{"/containerd.services.version.", "/containerd.services.containers.v1.Containers/Get",
					"/containerd.services.leases.", "/containerd.services.images.v1.Images/Get",
					"/containerd.services.snapshots.v1.Snapshots/Prepare", "/containerd.services.snapshots.v1.Snapshots/Remove"}
				for _, m := range f.calls {
					if !slices.ContainsFunc(allowed, func(p string) bool { return strings.HasPrefix(m, p) }) {
						t.Errorf("containerd was asked %s before the version was checked (calls: %v)", m, f.calls)
					}
				}
			})
		}
	}
}
