package controller_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// TestLostReply (issue #10 item 4): the engine carries out a create or a
// start but the daemon sees a transport error (lost), or the call fails in
// transport before the engine has it (failed). The pod still runs one
// container, which completes (not ContainerCannotRun), and the Job
// succeeds with no failure and no second instance.
func TestLostReply(t *testing.T) {
	for _, tc := range []struct {
		op   string
		lost bool
	}{{"Create", true}, {"Start", true}, {"Start", false}} {
		name := tc.op + map[bool]string{true: " lost", false: " failed"}[tc.lost]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newBusybox(t, runFor(10*time.Second))
				if tc.lost {
					h.rt.Faults.Lose(tc.op, 1, nil)
				} else {
					h.rt.Faults.Fail(tc.op, 1, nil)
				}
				if _, err := h.ctrl.ApplyJob(context.Background(), newJob("lost", nil)); err != nil {
					t.Fatal(err)
				}
				final := h.finishedWith("lost", "SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached")
				if final.Status.Failed != 0 || final.Status.Succeeded != 1 {
					t.Errorf("job status failed %d, succeeded %d; want 0, 1", final.Status.Failed, final.Status.Succeeded)
				}
				if got := len(h.rt.Created); got != 1 {
					t.Errorf("%d containers created, want 1", got)
				}
				pods, err := h.store.PodsOfJob(context.Background(), final.UID)
				if err != nil || len(pods) != 1 {
					t.Fatalf("pods of the Job: %d, %v; want 1", len(pods), err)
				}
				if term := pods[0].Pod.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != "Completed" {
					t.Errorf("terminated = %+v, want Completed", term)
				}
			})
		})
	}
}

// orphan creates and starts a container in the fake engine with the
// identity labels of instance inst and pod uid, as a lost reply or another
// daemon would leave it.
func orphan(t *testing.T, rt *runnertest.Runtime, name, inst, uid string) string {
	t.Helper()
	ctx := context.Background()
	id, err := rt.Create(ctx, runner.ContainerSpec{Name: name, Image: "busybox",
		Labels: map[string]string{runner.LabelInstance: inst, runner.LabelPodUID: uid}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

const instance = "0123456789abcdef" // runnertest.Store's InstanceID

// TestOrphanSweep (issue #10 item 4): every 30 s the controller stops and
// removes the running containers of this instance that no record
// explains — one of a pod with no record, one beside a recorded pod's
// live container — with a Warning event on the pod, and leaves alone the
// pod's own container and another instance's.
func TestOrphanSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, runFor(time.Hour))
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("live", "busybox", "Never")); err != nil {
			t.Fatal(err)
		}
		rec := h.waitPod("live", phaseIs(manifest.PodRunning))
		noRecord := orphan(t, h.rt, "lj_01234567_default_gone_0000_main_0", instance, "gone-uid")
		beside := orphan(t, h.rt, "lj_01234567_default_live_x_main_7", instance, rec.Pod.UID)
		other := orphan(t, h.rt, "lj_fedcba98_default_live_x_main_0", "fedcba9876543210", rec.Pod.UID)

		time.Sleep(controllerSweep - time.Second)
		synctest.Wait()
		if len(h.rt.RemovedIDs()) != 0 {
			t.Fatalf("removed %v before the first sweep", h.rt.RemovedIDs())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got, want := slices.Sorted(slices.Values(h.rt.RemovedIDs())), []string{noRecord, beside}; !slices.Equal(got, want) {
			t.Errorf("removed %v, want the two orphans %v (not %s)", got, want, other)
		}
		running := map[string]bool{}
		for _, s := range h.rt.Running() {
			running[s.Name] = true
		}
		if !running[rec.Containers[0].Current.EngineName] || len(running) != 2 {
			t.Errorf("running %v, want the pod's own container and the other instance's", running)
		}
		evs, _ := h.store.Events(context.Background(), "default", rec.Pod.UID)
		if !slices.ContainsFunc(evs, func(e *manifest.Event) bool { return e.Reason == "OrphanContainer" && e.Type == "Warning" }) {
			t.Errorf("no Warning OrphanContainer event on the pod")
		}
		live, _ := h.store.Pod(context.Background(), "default", "live")
		if live.Pod.Status.Phase != manifest.PodRunning {
			t.Errorf("live pod is %s, want Running", live.Pod.Status.Phase)
		}
	})
}

// controllerSweep is the controller's default orphan sweep period.
const controllerSweep = 30 * time.Second

// TestRestoreSweepsOrphans (issue #10 item 4): Restore removes the
// containers no record explains before the first periodic sweep, and
// adopts the one the record names.
func TestRestoreSweepsOrphans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, rt, job := runningJob(t, time.Minute)
		pods, _ := store.PodsOfJob(context.Background(), job.UID)
		stray := orphan(t, rt, fmt.Sprintf("lj_01234567_default_%s_x_main_1", pods[0].Pod.Name), instance, pods[0].Pod.UID)
		c2, sub, stop2 := startDaemon(store, rt, nil)
		defer stop2()
		st, err := c2.Restore(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Orphans != 1 || st.Adopted != 1 {
			t.Errorf("restore stats %+v, want 1 adopted and 1 orphan", st)
		}
		if !slices.Equal(rt.RemovedIDs(), []string{stray}) {
			t.Errorf("removed %v, want [%s]", rt.RemovedIDs(), stray)
		}
		final := waitJobDone(t, sub)
		if final.Status.Succeeded != 1 || final.Status.Failed != 0 {
			t.Errorf("job status succeeded %d, failed %d; want 1, 0", final.Status.Succeeded, final.Status.Failed)
		}
		stop2()
		rt.KillAll()
	})
}

// TestOrphanSweepIdle: an idle controller (no pod worker since the last
// sweep) does not list the engine every period; one pod that ran and ended
// gets one more sweep, then the sweeps stop again.
func TestOrphanSweepIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, nil)
		base := h.rt.Faults.Calls("List")
		time.Sleep(10*controllerSweep + time.Second)
		synctest.Wait()
		if n := h.rt.Faults.Calls("List") - base; n != 0 {
			t.Fatalf("idle: %d engine lists in 10 sweep periods, want 0", n)
		}
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("once", "busybox", "Never")); err != nil {
			t.Fatal(err)
		}
		h.waitPod("once", phaseIs(manifest.PodSucceeded))
		base = h.rt.Faults.Calls("List")
		time.Sleep(10*controllerSweep + time.Second)
		synctest.Wait()
		if n := h.rt.Faults.Calls("List") - base; n < 1 || n > 2 {
			t.Errorf("after one pod: %d engine lists in 10 sweep periods, want 1 or 2 (the period it ran in, then none)", n)
		}
	})
}
