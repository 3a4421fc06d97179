package controller_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// Engine hygiene (DESIGN §5, issue #10 item 10): once a container's exit
// and logs are recorded it is removed from the engine; our records and log
// files are the history, not the engine's list of exited containers.

// engineContainers lists the containers the fake engine still has, by
// container label and restart.
func engineContainers(t *testing.T, rt *runnertest.Runtime) []string {
	t.Helper()
	cs, err := rt.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.Labels[runner.LabelPod]+"/"+c.Labels[runner.LabelContainer]+"/"+c.Labels[runner.LabelRestart])
	}
	slices.Sort(out)
	return out
}

// TestExitedContainersRemoved: after a Job of three completions has
// finished, the engine holds none of its containers, and every pod's log
// and exit are still recorded.
func TestExitedContainersRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: time.Second, Lines: []string{"done"}}))
		job := h.apply(newJob("three", func(s *manifest.JobSpec) { s.Completions = p32(3) }))
		h.finishedWith("three", "SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached")
		synctest.Wait() // the removals run off the critical path
		if got := engineContainers(t, h.rt); len(got) != 0 {
			t.Errorf("engine still has %v after the Job finished, want none", got)
		}
		pods := h.podsOf(job)
		if len(pods) != 3 {
			t.Fatalf("%d pods, want 3", len(pods))
		}
		for _, p := range pods {
			if got := h.store.LogLines("default", p.Pod.Name, p.Pod.UID, "main", 0); !slices.Equal(got, []string{"done"}) {
				t.Errorf("%s: log %q, want [done]", p.Pod.Name, got)
			}
			if term := p.Pod.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != "Completed" {
				t.Errorf("%s: terminated %+v, want Completed", p.Pod.Name, term)
			}
		}
	})
}

// TestKeepExited: with KeepExited (up/run --keep-exited) the exited
// containers stay in the engine for debugging.
func TestKeepExited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		rt.Script = runFor(time.Second)
		h := newHarnessWith(t, rt, func(c *controller.Controller) { c.KeepExited = true })
		h.apply(newJob("kept", func(s *manifest.JobSpec) { s.Completions = p32(3) }))
		h.waitJob("kept", finished)
		synctest.Wait()
		if got := engineContainers(t, h.rt); len(got) != 3 {
			t.Errorf("engine has %v, want the 3 exited containers kept", got)
		}
	})
}

// TestRestartedContainerRemoved: a container restarted under OnFailure is
// removed once its exit is recorded, while the pod goes on; its log stays
// readable as the previous instance's.
func TestRestartedContainerRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, inTurn(runnertest.Behavior{RunFor: time.Second, ExitCode: 1, Lines: []string{"first"}},
			runnertest.Behavior{RunFor: time.Hour}))
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("again", "busybox", manifest.RestartPolicyOnFailure)); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("again", func(r *runner.PodRecord) bool {
			c := r.Containers[0]
			return c.Current != nil && c.Current.Restart == 1 && c.Current.Step == runner.StepStarted
		})
		synctest.Wait()
		if got, want := engineContainers(t, h.rt), []string{"again/main/1"}; !slices.Equal(got, want) {
			t.Errorf("engine has %v, want %v (the exited instance removed)", got, want)
		}
		if got := h.store.LogLines("default", "again", r.Pod.UID, "main", 0); !slices.Equal(got, []string{"first"}) {
			t.Errorf("previous log %q, want [first]", got)
		}
	})
}

// TestSandboxedPodKeepsExitedUntilFinished: in a pod with a sandbox, an
// exited init container stays in the engine while the pod runs (its
// containers share the sandbox's namespaces and volumes); all of them go
// once the pod has finished.
func TestSandboxedPodKeepsExitedUntilFinished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, func(cs runner.ContainerSpec) runnertest.Behavior {
			if containerOf(cs) == "main" {
				return runnertest.Behavior{RunFor: time.Minute}
			}
			return runnertest.Behavior{RunFor: time.Second}
		})
		p := pod("boxed", "busybox", manifest.RestartPolicyNever)
		p.Spec.InitContainers = []manifest.Container{{Name: "setup", Image: "busybox"}}
		if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		h.waitPod("boxed", phaseIs(manifest.PodRunning))
		synctest.Wait()
		if got, want := engineContainers(t, h.rt), []string{"boxed/POD/0", "boxed/main/0", "boxed/setup/0"}; !slices.Equal(got, want) {
			t.Errorf("while running, engine has %v, want %v", got, want)
		}
		h.waitPod("boxed", phaseIs(manifest.PodSucceeded))
		synctest.Wait()
		if got := engineContainers(t, h.rt); len(got) != 0 {
			t.Errorf("after the pod finished, engine has %v, want none", got)
		}
	})
}

// TestRestoreRemovesRecordedExits: exits recorded by a daemon that stopped
// before it removed the containers (here: one that kept them) are removed
// by the next daemon when it restores.
func TestRestoreRemovesRecordedExits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := runnertest.NewStore()
		rt := runnertest.NewRuntime("busybox")
		rt.Script = runFor(time.Second)
		c1 := &controller.Controller{Store: store, Runtime: rt, NodeName: "n", KeepExited: true}
		sub1 := c1.Subscribe()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { c1.Run(ctx); close(done) }()
		stop1 := func() { cancel(); <-done }
		if _, err := c1.ApplyPod(context.Background(), pod("old", "busybox", manifest.RestartPolicyNever)); err != nil {
			t.Fatal(err)
		}
		for {
			ch, err := sub1.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ch.Pod != nil && runner.IsTerminalPhase(ch.Pod.Status.Phase) {
				break
			}
		}
		stop1()
		if got := engineContainers(t, rt); len(got) != 1 {
			t.Fatalf("engine has %v before the restart, want the kept container", got)
		}
		c2, _, stop2 := startDaemon(store, rt, nil)
		defer stop2()
		if _, err := c2.Restore(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := engineContainers(t, rt); len(got) != 0 {
			t.Errorf("after restore, engine has %v, want none", got)
		}
	})
}

// TestSandboxedPodKeepsLastTwo: a container of a pod with a sandbox that
// keeps crashing leaves at most its last two instances (lastState and
// the current one) in the engine, not one per restart.
func TestSandboxedPodKeepsLastTwo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, func(cs runner.ContainerSpec) runnertest.Behavior {
			if containerOf(cs) == "side" {
				return runnertest.Behavior{RunFor: 24 * time.Hour}
			}
			return runnertest.Behavior{RunFor: time.Second, ExitCode: 1}
		})
		p := pod("crashy", "busybox", manifest.RestartPolicyAlways)
		p.Spec.Containers = append(p.Spec.Containers, manifest.Container{Name: "side", Image: "busybox", ImagePullPolicy: manifest.PullIfNotPresent})
		if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		h.waitPod("crashy", func(r *runner.PodRecord) bool { return r.Containers[0].RestartCount >= 4 })
		synctest.Wait()
		var mains []string
		for _, c := range engineContainers(t, h.rt) {
			if strings.HasPrefix(c, "crashy/main/") {
				mains = append(mains, c)
			}
		}
		if len(mains) > 2 {
			t.Errorf("engine has %v of the crashing container, want at most its last two", mains)
		}
	})
}
