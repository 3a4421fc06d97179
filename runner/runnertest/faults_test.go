package runnertest_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

func TestStoreFaults(t *testing.T) {
	ctx := context.Background()
	s := runnertest.NewStore()
	job := &manifest.Job{}
	job.Namespace, job.Name = "default", "j"

	s.Faults.Fail("SaveJob", 1, nil)
	if err := s.SaveJob(ctx, job); !errors.Is(err, runnertest.ErrStore) {
		t.Fatalf("SaveJob with a failure queued: got %v, want ErrStore", err)
	}
	if _, err := s.Job(ctx, "default", "j"); !errors.Is(err, runner.ErrObjectNotFound) {
		t.Fatalf("Job after a failed save: got %v, want not found", err)
	}
	s.Faults.Lose("SaveJob", 1, nil)
	if err := s.SaveJob(ctx, job); !errors.Is(err, runnertest.ErrStore) {
		t.Fatalf("SaveJob with a lost reply: got %v, want ErrStore", err)
	}
	if _, err := s.Job(ctx, "default", "j"); err != nil {
		t.Fatalf("Job after a lost reply: got %v, want the saved job", err)
	}
	boom := errors.New("boom")
	s.Faults.Fail("Jobs", -1, boom)
	for range 3 {
		if _, err := s.Jobs(ctx, ""); err != boom {
			t.Fatalf("Jobs failing for ever: got %v, want boom", err)
		}
	}
	if _, err := s.Job(ctx, "default", "j"); err != nil {
		t.Fatalf("Job is not Jobs: got %v", err)
	}
	s.Faults.Reset()
	if _, err := s.Jobs(ctx, ""); err != nil {
		t.Fatalf("Jobs after Reset: %v", err)
	}
	if got, want := s.Faults.Calls("Jobs"), 4; got != want {
		t.Errorf("Calls(Jobs) = %d, want %d", got, want)
	}
	s.Faults.Hook = func(op string) error {
		if op == "PodsOfJob" {
			return boom
		}
		return nil
	}
	if _, err := s.PodsOfJob(ctx, "u"); err != boom {
		t.Errorf("PodsOfJob with a hook: got %v, want boom", err)
	}
	if _, err := s.Pods(ctx, ""); err != nil {
		t.Errorf("Pods with a hook for PodsOfJob: %v", err)
	}
}

func TestRuntimeFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		rt := runnertest.NewRuntime("busybox")
		rt.Script = func(runner.ContainerSpec) runnertest.Behavior { return runnertest.Behavior{RunFor: time.Hour} }
		id, err := rt.Create(ctx, runner.ContainerSpec{Name: "a", Image: "busybox"})
		if err != nil {
			t.Fatal(err)
		}
		rt.Faults.Lose("Start", 1, nil)
		if err := rt.Start(ctx, id); !errors.Is(err, runnertest.ErrTransport) {
			t.Fatalf("Start with a lost reply: got %v, want ErrTransport", err)
		}
		if got := len(rt.Running()); got != 1 {
			t.Fatalf("running after a lost start reply: %d, want 1", got)
		}
		rt.Faults.Fail("Inspect", 2, nil)
		for range 2 {
			if _, err := rt.Inspect(ctx, id); !errors.Is(err, runnertest.ErrTransport) {
				t.Fatalf("Inspect with a failure queued: got %v", err)
			}
		}
		rt.Faults.Delay("Inspect", time.Minute)
		t0 := time.Now()
		info, err := rt.Inspect(ctx, id)
		if err != nil || !info.Running {
			t.Fatalf("Inspect: %+v, %v", info, err)
		}
		if got := time.Since(t0); got != time.Minute {
			t.Errorf("Inspect took %v, want the 1m delay", got)
		}
		rt.KillAll()
	})
}

// TestPodsOfJobRecordsReadOnly: the fake holds callers to the state's
// contract that PodsOfJob's records are shared and not to be changed.
func TestPodsOfJobRecordsReadOnly(t *testing.T) {
	ctx := context.Background()
	s := runnertest.NewStore()
	yes := true
	rec := &runner.PodRecord{}
	rec.Pod.Namespace, rec.Pod.Name = "default", "p"
	rec.Pod.OwnerReferences = []manifest.OwnerReference{{Kind: "Job", Name: "j", UID: "job-uid", Controller: &yes}}
	if err := s.SavePod(ctx, rec); err != nil {
		t.Fatal(err)
	}
	recs, err := s.PodsOfJob(ctx, "job-uid")
	if err != nil || len(recs) != 1 {
		t.Fatalf("PodsOfJob = %d, %v", len(recs), err)
	}
	if _, err := s.PodsOfJob(ctx, "job-uid"); err != nil {
		t.Fatalf("PodsOfJob after reading only: %v", err)
	}
	recs, _ = s.PodsOfJob(ctx, "job-uid")
	recs[0].Pod.Status.Phase = manifest.PodFailed
	defer func() {
		if recover() == nil {
			t.Error("PodsOfJob after a caller changed a record it returned did not panic")
		}
	}()
	s.PodsOfJob(ctx, "job-uid")
}
