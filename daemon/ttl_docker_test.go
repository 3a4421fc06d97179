package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// TestJobTTLReal: a finished Job with ttlSecondsAfterFinished: 2 is gone,
// with its pods, log files and containers, within 3 s of finishing.
func TestJobTTLReal(t *testing.T) {
	rt := dockertest.RequireDocker(t)
	t.Parallel()
	image := dockertest.Busybox(t)
	dir := shortDir(t, "ljttl")
	d := startDaemon(t, dir)
	defer stopDaemon(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sub := d.Controller.Subscribe()
	defer sub.Close()
	job := &manifest.Job{
		ObjectMeta: manifest.ObjectMeta{Name: "short-lived", Namespace: "default"},
		Spec: manifest.JobSpec{
			TTLSecondsAfterFinished: ptr(int32(2)),
			Template: manifest.PodTemplateSpec{Spec: manifest.PodSpec{
				RestartPolicy: "Never",
				Containers: []manifest.Container{{Name: "main", Image: image, ImagePullPolicy: manifest.PullIfNotPresent,
					Command: []string{"echo", "done"}}},
			}},
		},
	}
	j, err := d.Controller.ApplyJob(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	var finished, deleted time.Time
	var pods []*runner.PodRecord
	for deleted.IsZero() {
		ch, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ch.Job != nil && ch.Deleted && ch.Job.Name == job.Name:
			deleted = time.Now()
		case ch.Job != nil && finished.IsZero() && runner.IsJobFinished(ch.Job):
			finished = time.Now()
			pods, _ = d.DB.PodsOfJob(ctx, j.UID)
		}
	}
	took := deleted.Sub(finished)
	t.Logf("deleted %v after it finished (ttl 2s)", took)
	// The finish time is stored in whole seconds, as Kubernetes stores
	// it, so the TTL can expire up to 1 s before 2 s of real time. The
	// upper bound only tells "deleted by the TTL" from "never" on a loaded
	// machine; how fast is for make bench.
	if took > 15*time.Second || took < time.Second {
		t.Errorf("deleted %v after finishing, want 1s..15s", took)
	}
	if len(pods) != 1 {
		t.Fatalf("%d pods, want 1", len(pods))
	}
	p := pods[0].Pod
	if _, err := d.DB.Pod(ctx, p.Namespace, p.Name); err == nil {
		t.Errorf("pod %s still stored", p.Name)
	}
	if _, err := os.Stat(filepath.Dir(d.DB.LogPath(p.Namespace, p.Name, p.UID, "main", 0))); !os.IsNotExist(err) {
		t.Errorf("log dir of %s still there: %v", p.Name, err)
	}
	cs, err := rt.List(ctx, map[string]string{runner.LabelPodUID: p.UID})
	if err != nil || len(cs) != 0 {
		t.Errorf("containers of %s left in the engine: %d (%v)", p.Name, len(cs), err)
	}
}
