package containerd

import (
	"encoding/json"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	leasesapi "github.com/containerd/containerd/api/services/leases/v1"
	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	versionapi "github.com/containerd/containerd/api/services/version/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// warm does, while the run's first round trips are under way, work that
// every run of this process does once on its way: encoding/json builds its
// encoders for the OCI spec's types the first time a spec is sent (the
// spec travels as JSON), and protobuf its tables for each message type the
// first time one is sent or read. Both are caches that the run would fill
// itself a moment later, so this changes nothing but when it is done (a
// few ms of CPU that otherwise lie on the run's path).
func warm() {
	_, _ = json.Marshal(&specs.Spec{})
	for _, m := range []proto.Message{
		&emptypb.Empty{}, &versionapi.VersionResponse{},
		&leasesapi.CreateRequest{}, &leasesapi.CreateResponse{}, &leasesapi.Lease{}, &leasesapi.DeleteRequest{},
		&imagesapi.GetImageRequest{}, &imagesapi.GetImageResponse{}, &imagesapi.Image{}, &types.Descriptor{},
		&snapshotsapi.PrepareSnapshotRequest{}, &snapshotsapi.PrepareSnapshotResponse{}, &types.Mount{},
		&snapshotsapi.RemoveSnapshotRequest{},
		&containersapi.CreateContainerRequest{}, &containersapi.CreateContainerResponse{},
		&containersapi.Container{}, &containersapi.Container_Runtime{}, &containersapi.DeleteContainerRequest{},
		&tasks.CreateTaskRequest{}, &tasks.CreateTaskResponse{}, &tasks.StartRequest{}, &tasks.StartResponse{},
		&tasks.WaitRequest{}, &tasks.WaitResponse{}, &tasks.DeleteTaskRequest{}, &tasks.DeleteResponse{},
		&tasks.CloseIORequest{}, &tasks.KillRequest{},
		&anypb.Any{}, &timestamppb.Timestamp{},
	} {
		_ = proto.Size(m)
	}
}
