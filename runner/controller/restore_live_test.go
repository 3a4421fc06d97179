package controller_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// TestRestoreReadsNoFinishedPods: Restore, its sweeps, KillAll and the
// running count read the live pods and the records the engine's
// containers name, never the list of every pod: with 100k finished pods
// in the store, that list cost seconds of CPU at each start and stop.
// With Pods failing for good, Restore still adopts the running Job's pod,
// removes a finished pod's container a stopped daemon had kept, and
// sweeps an orphan beside the running pod (with its Warning event).
func TestRestoreReadsNoFinishedPods(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store, rt, job := runningJob(t, time.Minute)
		pods, _ := store.PodsOfJob(ctx, job.UID)
		live := pods[0]

		// A finished pod whose exited container is still in the engine.
		done := pod("done", "busybox", manifest.RestartPolicyNever)
		done.UID = "done-uid"
		done.Status.Phase = manifest.PodSucceeded
		if err := store.SavePod(ctx, &runner.PodRecord{Pod: *done, Containers: []*runner.ContainerRecord{{Name: "main",
			Current: &runner.Run{EngineName: "lj_done_main_0", Step: runner.StepExited}}}}); err != nil {
			t.Fatal(err)
		}
		kept, err := rt.Create(ctx, runner.ContainerSpec{Name: "lj_done_main_0", Image: "busybox", Labels: map[string]string{
			runner.LabelInstance: instance, runner.LabelPodUID: "done-uid", runner.LabelNamespace: "default",
			runner.LabelPod: "done", runner.LabelContainer: "main", runner.LabelRestart: "0"}})
		if err != nil {
			t.Fatal(err)
		}
		stray := orphan(t, rt, fmt.Sprintf("lj_01234567_default_%s_x_main_1", live.Pod.Name), instance, live.Pod.UID)

		store.Faults.Fail("Pods", -1, errors.New("the list of every pod was read"))
		c2, sub, stop2 := startDaemon(store, rt, nil)
		defer func() { stop2(); rt.KillAll() }()
		st, err := c2.Restore(ctx)
		if err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if st.Pods != 1 || st.Adopted != 1 || st.Orphans != 1 {
			t.Errorf("restore stats %+v, want 1 pod adopted and 1 orphan", st)
		}
		synctest.Wait() // the removal of recorded exits runs off the start's path
		if got, want := slices.Sorted(slices.Values(rt.RemovedIDs())), slices.Sorted(slices.Values([]string{stray, kept})); !slices.Equal(got, want) {
			t.Errorf("removed %v, want the orphan and the kept exit %v", got, want)
		}
		evs, _ := store.Events(ctx, "default", live.Pod.UID)
		if !slices.ContainsFunc(evs, func(e *manifest.Event) bool { return e.Reason == "OrphanContainer" }) {
			t.Error("no OrphanContainer event on the running pod")
		}
		if n := c2.RunningContainers(ctx); n != 1 {
			t.Errorf("RunningContainers = %d, want 1", n)
		}
		if n := c2.KillAll(ctx); n != 1 {
			t.Errorf("KillAll stopped %d, want 1", n)
		}
		waitJobDone(t, sub)
		if n := store.Faults.Calls("Pods"); n != 0 {
			t.Errorf("Pods was called %d times, want none", n)
		}
	})
}
