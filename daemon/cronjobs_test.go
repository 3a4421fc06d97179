package daemon_test

import (
	"context"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
	"github.com/localjobs/localjobs/schedule"
)

const runOnStartCronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: boot
  annotations:
    localjobs.io/run-on-start: "true"
spec:
  schedule: "0 3 1 1 *"
  successfulJobsHistoryLimit: 0
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: busybox
            command: ["echo", "hi"]
`

// TestCronJobJobsNotApplied: a CronJob's Jobs get no applied record, so a
// Job deleted by the history limit stays deleted when the unchanged file
// is applied again; a changed file updates the CronJob in place (same UID).
func TestCronJobJobsNotApplied(t *testing.T) {
	dir := shortDir(t, "ljca")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt := runnertest.NewRuntime("busybox")
	rt.Script = func(runner.ContainerSpec) runnertest.Behavior { return runnertest.Behavior{Lines: []string{"hi"}} }
	file := localapi.ApplyRequest{Files: []localapi.File{{Name: "boot.yaml", Data: []byte(runOnStartCronJob)}}}
	d, err := daemon.Start(ctx, daemon.Config{StateDir: dir, Version: "test", Runtime: rt})
	if err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(t, d)
	// As up does: apply, then start the scheduler (run-on-start runs for
	// what the first apply brought).
	sub := d.Controller.Subscribe()
	first, _ := d.Apply(ctx, file)
	d.StartCronJobs()
	if len(first.Results) != 1 || first.Results[0].Action != "created" {
		t.Fatalf("apply: %+v", first)
	}
	// The run-on-start Job runs, completes and is deleted (history 0).
	var created, deleted string
	for deleted == "" {
		ch, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for the run-on-start job to be created and deleted: %v", err)
		}
		switch {
		case ch.Job != nil && ch.Deleted:
			deleted = ch.Job.Name
		case ch.Job != nil && created == "":
			created = ch.Job.Name
			if ch.Job.Annotations[schedule.AnnotationRunOnStart] != "true" {
				t.Errorf("job %s lacks the run-on-start annotation", created)
			}
		}
	}
	sub.Close()
	if deleted != created {
		t.Errorf("deleted %s, created %s", deleted, created)
	}
	recs, err := d.DB.AppliedObjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Kind != manifest.KindCronJob {
		t.Errorf("applied records %+v: want only the CronJob", recs)
	}
	again, err := d.Apply(ctx, file)
	if err != nil || len(again.Results) != 1 || again.Results[0].Action != "unchanged" {
		t.Fatalf("re-apply: %+v %v", again, err)
	}
	if jobs, _ := d.DB.Jobs(ctx, ""); len(jobs) != 0 {
		t.Errorf("%d jobs after re-applying the unchanged file, want 0", len(jobs))
	}
	before, err := d.Client().CronJob(ctx, "default", "boot")
	if err != nil {
		t.Fatal(err)
	}
	if before.Status.LastScheduleTime != nil {
		t.Errorf("lastScheduleTime %v: a run-on-start run is not a scheduled run", before.Status.LastScheduleTime)
	}
	changed := localapi.ApplyRequest{Files: []localapi.File{{Name: "boot.yaml", Data: []byte(runOnStartCronJob + "  suspend: true\n")}}}
	resp, err := d.Apply(ctx, changed)
	if err != nil || len(resp.Results) != 1 || resp.Results[0].Action != "configured" {
		t.Fatalf("apply changed: %+v %v", resp, err)
	}
	after, err := d.Client().CronJob(ctx, "default", "boot")
	if err != nil {
		t.Fatal(err)
	}
	if after.UID != before.UID || after.Spec.Suspend == nil || !*after.Spec.Suspend {
		t.Errorf("after a change: uid %s (was %s), suspend %v: want updated in place", after.UID, before.UID, after.Spec.Suspend)
	}
}
