package daemon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

func startDaemon(t *testing.T, dir string) *daemon.Daemon {
	t.Helper()
	d, err := daemon.Start(context.Background(), daemon.Config{StateDir: dir, Version: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func waitRunning(t *testing.T, d *daemon.Daemon, sub *runner.Subscription, name string) *runner.PodRecord {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		ch, err := sub.Next(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if r := ch.Record; r != nil && r.Pod.Name == name && r.Containers[0].Current != nil && r.Containers[0].Current.Step == runner.StepStarted {
			return r
		}
	}
}

// TestTwoStateDirsIsolated: two localjobs with their own state dirs on one
// engine, each running a pod of the same name, never touch each other's
// containers — neither on delete nor on restart.
func TestTwoStateDirsIsolated(t *testing.T) {
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	dirA := shortDir(t, "ljA")
	dirB := shortDir(t, "ljB")
	pod := func() *manifest.Pod {
		return &manifest.Pod{
			ObjectMeta: manifest.ObjectMeta{Name: "same", Namespace: "default"},
			Spec: manifest.PodSpec{RestartPolicy: "Never", TerminationGracePeriodSeconds: ptr(int64(2)), Containers: []manifest.Container{{
				Name: "main", Image: image, ImagePullPolicy: manifest.PullIfNotPresent, Command: []string{"sleep", "300"},
			}}},
		}
	}
	ctx := context.Background()
	a, b := startDaemon(t, dirA), startDaemon(t, dirB)
	subA, subB := a.Controller.Subscribe(), b.Controller.Subscribe()
	if _, err := a.Controller.ApplyPod(ctx, pod()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Controller.ApplyPod(ctx, pod()); err != nil {
		t.Fatal(err)
	}
	ra, rb := waitRunning(t, a, subA, "same"), waitRunning(t, b, subB, "same")
	idA, idB := ra.Containers[0].Current.ID, rb.Containers[0].Current.ID
	if idA == idB {
		t.Fatal("both daemons use the same container")
	}

	// B stops (its container keeps running) and A deletes its pod.
	if n, err := b.Stop(); err != nil || n != 1 {
		t.Errorf("B left %d containers running (stop: %v), want 1", n, err)
	}
	if err := a.Controller.DeletePod(ctx, "default", "same"); err != nil {
		t.Fatal(err)
	}
	if info, err := rt.Inspect(ctx, idB); err != nil || !info.Running {
		t.Fatalf("B's container after A deleted its pod: running=%v err=%v", info.Running, err)
	}
	if _, err := rt.Inspect(ctx, idA); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("A's container after its pod was deleted: %v, want it removed", err)
	}
	// A restarts: it must not adopt or stop B's container.
	stopDaemon(t, a)
	a = startDaemon(t, dirA)
	if a.Restored.Adopted != 0 || a.Restored.Pods != 0 {
		t.Errorf("A restored %+v, want nothing", a.Restored)
	}
	// B restarts and adopts its own container.
	b = startDaemon(t, dirB)
	if b.Restored.Adopted != 1 {
		t.Errorf("B restored %+v, want its 1 container adopted", b.Restored)
	}
	if info, err := rt.Inspect(ctx, idB); err != nil || !info.Running {
		t.Fatalf("B's container after the restarts: running=%v err=%v", info.Running, err)
	}
	if err := b.Controller.DeletePod(ctx, "default", "same"); err != nil {
		t.Fatal(err)
	}
	stopDaemon(t, a)
	stopDaemon(t, b)
}

func ptr[T any](v T) *T { return &v }
