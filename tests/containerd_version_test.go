package tests

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	versionapi "github.com/containerd/containerd/api/services/version/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// oldContainerd answers containerd's version call as containerd 1.5 would.
type oldContainerd struct {
	versionapi.UnimplementedVersionServer
}

func (oldContainerd) Version(context.Context, *emptypb.Empty) (*versionapi.VersionResponse, error) {
	return &versionapi.VersionResponse{Version: "1.5.9", Revision: "test"}, nil
}

// A containerd older than 1.6 is a denial that says what to do, before any
// container is asked for.
func TestContainerdWrongVersionIsDenied(t *testing.T) {
	useContainerd(t)
	s := newSandboxEnv(t, freshConfig)
	sock := filepath.Join(t.TempDir(), "old-containerd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	versionapi.RegisterVersionServer(srv, oldContainerd{})
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	s.writeConfig(fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: containerd\ncontainer:\n  workspace: %s\n%s  containerd:\n    address: %s\n", s.ws, freshConfig, sock))
	r := s.sh("echo RAN")
	if r.code != 126 || strings.Contains(r.stdout, "RAN") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "hermes-exec: denied: ") || !strings.Contains(r.stderr, "1.5.9") || !strings.Contains(r.stderr, "upgrade containerd") {
		t.Errorf("the reason does not say what to do: %q", r.stderr)
	}
}
