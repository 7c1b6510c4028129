package containerd

import (
	"context"
	"fmt"
	"syscall"
	"time"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs/pkg/errgrpc"
)

// freshTask is a fresh container's task, spoken to through containerd's
// task service directly. The client's Container.NewTask reads the
// container's record back twice and asks the snapshotter for the mounts
// that Prepare returned a moment ago, and its Task.Delete asks for the
// task's status first: four round trips per fresh container (each also
// decoding the whole spec) that this one does without. It has what wait
// needs (process) and nothing more.
type freshTask struct {
	ts  tasks.TasksClient
	id  string
	pid uint32
	io  cio.IO
}

var _ process = (*freshTask)(nil)

// newFreshTask creates container id's task on rootfs (none: the spec
// names the root) with its IO from ioCreate, as the client's NewTask
// does for a container without runtime options of its own.
func newFreshTask(ctx context.Context, cl *containerd.Client, id string, rootfs []mount.Mount, ioCreate cio.Creator) (*freshTask, error) {
	i, err := ioCreate(id)
	if err != nil {
		return nil, err
	}
	cfg := i.Config()
	req := &tasks.CreateTaskRequest{
		ContainerID: id,
		Terminal:    cfg.Terminal,
		Stdin:       cfg.Stdin,
		Stdout:      cfg.Stdout,
		Stderr:      cfg.Stderr,
	}
	for _, m := range rootfs {
		req.Rootfs = append(req.Rootfs, &types.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options})
	}
	ts := cl.TaskService()
	r, err := ts.Create(ctx, req)
	if err != nil {
		i.Cancel()
		i.Close()
		return nil, errgrpc.ToNative(err)
	}
	return &freshTask{ts: ts, id: id, pid: r.Pid, io: i}, nil
}

func (t *freshTask) Pid() uint32 { return t.pid }

func (t *freshTask) IO() cio.IO { return t.io }

func (t *freshTask) Start(ctx context.Context) error {
	r, err := t.ts.Start(ctx, &tasks.StartRequest{ContainerID: t.id})
	if err != nil {
		t.io.Cancel()
		t.io.Close()
		return errgrpc.ToNative(err)
	}
	t.pid = r.Pid
	return nil
}

func (t *freshTask) Wait(ctx context.Context) (<-chan containerd.ExitStatus, error) {
	c := make(chan containerd.ExitStatus, 1)
	go func() {
		defer close(c)
		r, err := t.ts.Wait(ctx, &tasks.WaitRequest{ContainerID: t.id})
		if err != nil {
			c <- *containerd.NewExitStatus(containerd.UnknownExitStatus, time.Time{}, errgrpc.ToNative(err))
			return
		}
		c <- *containerd.NewExitStatus(r.ExitStatus, r.ExitedAt.AsTime(), nil)
	}()
	return c, nil
}

func (t *freshTask) Kill(ctx context.Context, s syscall.Signal, opts ...containerd.KillOpts) error {
	var i containerd.KillInfo
	for _, o := range opts {
		if err := o(ctx, &i); err != nil {
			return err
		}
	}
	_, err := t.ts.Kill(ctx, &tasks.KillRequest{ContainerID: t.id, Signal: uint32(s), ExecID: i.ExecID, All: i.All})
	return errgrpc.ToNative(err)
}

func (t *freshTask) Resize(ctx context.Context, w, h uint32) error {
	_, err := t.ts.ResizePty(ctx, &tasks.ResizePtyRequest{ContainerID: t.id, Width: w, Height: h})
	return errgrpc.ToNative(err)
}

func (t *freshTask) CloseIO(ctx context.Context, opts ...containerd.IOCloserOpts) error {
	var i containerd.IOCloseInfo
	for _, o := range opts {
		o(&i)
	}
	_, err := t.ts.CloseIO(ctx, &tasks.CloseIORequest{ContainerID: t.id, Stdin: i.Stdin})
	return errgrpc.ToNative(err)
}

// Delete removes the task. Unlike the client's it does not ask for the
// status first: containerd refuses to delete a running task itself (and
// wait's caller then destroys the container, killing it).
func (t *freshTask) Delete(ctx context.Context, opts ...containerd.ProcessDeleteOpts) (*containerd.ExitStatus, error) {
	if len(opts) > 0 {
		return nil, fmt.Errorf("containerd: deleting task %s: options are not supported", t.id)
	}
	// Let the copies finish (the shim closes its side), as the client does.
	t.io.Cancel()
	t.io.Wait()
	r, err := t.ts.Delete(ctx, &tasks.DeleteTaskRequest{ContainerID: t.id})
	if err != nil {
		return nil, errgrpc.ToNative(err)
	}
	t.io.Close()
	return containerd.NewExitStatus(r.ExitStatus, r.ExitedAt.AsTime(), nil), nil
}
