package controller_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// runningJob starts a daemon over a new store and engine, applies
// failingJob (its container runs for runFor) and stops the daemon once the
// container runs, as a daemon restart leaves it: running.
func runningJob(t *testing.T, runFor time.Duration) (*runnertest.Store, *runnertest.Runtime, *manifest.Job) {
	t.Helper()
	store := runnertest.NewStore()
	rt := runnertest.NewRuntime("busybox")
	rt.Script = always(runnertest.Behavior{RunFor: runFor})
	c1, sub1, stop1 := startDaemon(store, rt, nil)
	job, err := c1.ApplyJob(context.Background(), failingJob())
	if err != nil {
		t.Fatal(err)
	}
	for {
		ch, err := sub1.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r := ch.Record; r != nil && r.Containers[0].Current != nil && r.Containers[0].Current.Step == runner.StepStarted {
			break
		}
	}
	stop1()
	return store, rt, job
}

// TestRestoreInspectTransportError (issue #10 item 3): at restore the
// engine fails to answer Inspect about a running container (n transport
// errors: fewer than Restore's own attempts, then more, which the pod's
// worker resolves). The container is adopted, not ContainerStatusUnknown;
// no second instance starts; the Job succeeds with no failure.
func TestRestoreInspectTransportError(t *testing.T) {
	for _, n := range []int{1, 2, 10} {
		t.Run(fmt.Sprint(n, " errors"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store, rt, job := runningJob(t, time.Minute)
				rt.Faults.Fail("Inspect", n, nil)
				c2, sub, stop2 := startDaemon(store, rt, nil)
				defer stop2()
				st, err := c2.Restore(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				// Restore asks 3 times; the worker asks about the rest.
				if n < 3 && st.Adopted != 1 || n >= 3 && st.Unresolved != 1 || st.Vanished != 0 {
					t.Errorf("restore stats %+v with %d transport errors: want adopted (< 3) or unresolved (≥ 3), never vanished", st, n)
				}
				final := waitJobDone(t, sub)
				if final.Status.Succeeded != 1 || final.Status.Failed != 0 {
					t.Errorf("job status succeeded %d, failed %d; want 1, 0", final.Status.Succeeded, final.Status.Failed)
				}
				if got := len(rt.Created); got != 1 {
					t.Errorf("%d containers created, want 1 (the running one adopted)", got)
				}
				pods, _ := store.PodsOfJob(context.Background(), job.UID)
				if len(pods) != 1 {
					t.Fatalf("%d pods, want 1", len(pods))
				}
				if term := pods[0].Pod.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != "Completed" {
					t.Errorf("terminated = %+v, want Completed", term)
				}
				stop2()
				rt.KillAll()
			})
		})
	}
}

// waitJobDone waits for the change that finishes a Job.
func waitJobDone(t *testing.T, sub *runner.Subscription) *manifest.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for {
		ch, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("job not finished within an hour of fake time: %v", err)
		}
		if ch.Job != nil && !ch.Deleted && runner.IsJobFinished(ch.Job) {
			return ch.Job
		}
	}
}

// TestSandboxInspectTransportError: after a daemon restart, a container
// of a sandboxed pod restarts while the engine fails to answer Inspect
// about the running sandbox. The sandbox is kept (asked again after the
// back-off), not removed and replaced under the running container.
func TestSandboxInspectTransportError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := runnertest.NewStore()
		rt := runnertest.NewRuntime("busybox")
		rt.Script = func(s runner.ContainerSpec) runnertest.Behavior {
			if s.Labels[runner.LabelContainer] == "side" {
				return runnertest.Behavior{RunFor: 5 * time.Second, ExitCode: 1}
			}
			return runnertest.Behavior{RunFor: time.Hour}
		}
		c1, _, stop1 := startDaemon(store, rt, nil)
		p := pod("pair", "busybox", manifest.RestartPolicyOnFailure)
		p.Spec.Containers = append(p.Spec.Containers, manifest.Container{Name: "side", Image: "busybox", ImagePullPolicy: manifest.PullIfNotPresent})
		if _, err := c1.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		stop1()
		rec, err := store.Pod(context.Background(), "default", "pair")
		if err != nil || rec.Sandbox == nil || rec.Sandbox.ID == "" {
			t.Fatalf("no sandbox recorded: %v", err)
		}
		sandbox := rec.Sandbox.ID
		c2, _, stop2 := startDaemon(store, rt, nil)
		if _, err := c2.Restore(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Restore has its answers; what asks next is the restarting
		// container's worker, about the sandbox.
		var mu sync.Mutex
		failed := 0
		rt.Faults.SetHook(func(op string) error {
			mu.Lock()
			defer mu.Unlock()
			if op == "Inspect" && failed < 4 {
				failed++
				return runnertest.ErrTransport
			}
			return nil
		})
		time.Sleep(time.Minute)
		synctest.Wait()
		if slices.Contains(rt.RemovedIDs(), sandbox) {
			t.Errorf("the running sandbox %s was removed", sandbox)
		}
		pauses := 0
		for _, s := range rt.Created {
			if s.Image == runnertest.PauseImage {
				pauses++
			}
		}
		if pauses != 1 {
			t.Errorf("%d sandboxes created, want 1", pauses)
		}
		stop2()
		rt.KillAll()
	})
}
