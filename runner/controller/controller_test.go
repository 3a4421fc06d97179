package controller_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// harness runs a Controller with the fake runtime and store inside a
// synctest bubble.
type harness struct {
	t      *testing.T
	ctrl   *controller.Controller
	rt     *runnertest.Runtime
	store  *runnertest.Store
	sub    *runner.Subscription
	cancel context.CancelFunc
	done   chan struct{}
}

func newHarness(t *testing.T, rt *runnertest.Runtime) *harness {
	t.Helper()
	return newHarnessWith(t, rt, nil)
}

// newHarnessWith is newHarness with the controller's fields changed by mod
// (if not nil) before it runs.
func newHarnessWith(t *testing.T, rt *runnertest.Runtime, mod func(*controller.Controller)) *harness {
	t.Helper()
	h := &harness{t: t, rt: rt, store: runnertest.NewStore(), done: make(chan struct{})}
	h.ctrl = &controller.Controller{Store: h.store, Runtime: rt, NodeName: "testnode"}
	if mod != nil {
		mod(h.ctrl)
	}
	h.sub = h.ctrl.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.ctrl.Run(ctx); close(h.done) }()
	t.Cleanup(func() { cancel(); <-h.done; rt.KillAll() })
	return h
}

// newBusybox is newHarness with a fake runtime that has the busybox image
// and runs each container as script says.
func newBusybox(t *testing.T, script func(runner.ContainerSpec) runnertest.Behavior) *harness {
	t.Helper()
	rt := runnertest.NewRuntime("busybox")
	rt.Script = script
	return newHarness(t, rt)
}

// inTurn is a script under which the n-th container created behaves as
// the n-th behaviour, and those after the last as the last.
func inTurn(bs ...runnertest.Behavior) func(runner.ContainerSpec) runnertest.Behavior {
	var mu sync.Mutex
	n := 0
	return func(runner.ContainerSpec) runnertest.Behavior {
		mu.Lock()
		defer mu.Unlock()
		n++
		return bs[min(n, len(bs))-1]
	}
}

// always is a script under which every container behaves as b.
func always(b runnertest.Behavior) func(runner.ContainerSpec) runnertest.Behavior {
	return func(runner.ContainerSpec) runnertest.Behavior { return b }
}

func pod(name, image string, policy string, cmd ...string) *manifest.Pod {
	p := &manifest.Pod{
		ObjectMeta: manifest.ObjectMeta{Name: name, Namespace: "default"},
		Spec: manifest.PodSpec{
			RestartPolicy: policy,
			Containers:    []manifest.Container{{Name: "main", Image: image, Command: cmd, ImagePullPolicy: manifest.PullIfNotPresent}},
		},
	}
	return p
}

// waitPod waits (in fake time) until the pod satisfies cond.
func (h *harness) waitPod(name string, cond func(*runner.PodRecord) bool) *runner.PodRecord {
	h.t.Helper()
	return waitFor(h, "pod "+name, time.Hour,
		func(ctx context.Context) (*runner.PodRecord, error) { return h.store.Pod(ctx, "default", name) },
		func(ch runner.Change) (*runner.PodRecord, bool) {
			return ch.Record, ch.Record != nil && ch.Record.Pod.Name == name
		}, cond)
}

// waitFor waits, up to limit in fake time, until the object (what) as
// stored, or as a change carries it, satisfies cond.
func waitFor[T any](h *harness, what string, limit time.Duration,
	stored func(context.Context) (T, error), changed func(runner.Change) (T, bool), cond func(T) bool) T {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if v, err := stored(ctx); err == nil && cond(v) {
		return v
	}
	for {
		ch, err := h.sub.Next(ctx)
		if err != nil {
			h.t.Fatalf("%s: condition not reached within %v of fake time", what, limit)
		}
		if v, ok := changed(ch); ok && cond(v) {
			return v
		}
	}
}

func phaseIs(phase string) func(*runner.PodRecord) bool {
	return func(r *runner.PodRecord) bool { return r.Pod.Status.Phase == phase }
}

func TestPodCompletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: 2 * time.Second, Lines: []string{"network-task"}}))
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("simple-task", "busybox", "Never", "echo", "network-task")); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("simple-task", phaseIs(manifest.PodSucceeded))
		term := r.Pod.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.Reason != "Completed" || term.ExitCode != 0 {
			t.Fatalf("terminated = %+v, want Completed/0", term)
		}
		if got := h.store.LogLines("default", "simple-task", r.Pod.UID, "main", 0); !slices.Equal(got, []string{"network-task"}) {
			t.Errorf("log lines = %q, want [network-task]", got)
		}
		if got := h.rt.Created[0].Entrypoint; !slices.Equal(got, []string{"echo", "network-task"}) {
			t.Errorf("entrypoint = %q", got)
		}
		if !strings.HasPrefix(h.rt.Created[0].Name, "lj_01234567_default_simple-task_") || !strings.HasSuffix(h.rt.Created[0].Name, "_main_0") {
			t.Errorf("engine name = %q", h.rt.Created[0].Name)
		}
		if h.rt.Created[0].Labels[runner.LabelInstance] != "0123456789abcdef" {
			t.Errorf("instance label = %q", h.rt.Created[0].Labels[runner.LabelInstance])
		}
	})
}

func TestPodContainerCannotRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		const msg = `exec: "ecoh": executable file not found in $PATH`
		rt.Script = func(runner.ContainerSpec) runnertest.Behavior { return runnertest.Behavior{StartErr: msg} }
		h := newHarness(t, rt)
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("simple-task", "busybox", "Never", "ecoh")); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("simple-task", phaseIs(manifest.PodFailed))
		term := r.Pod.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.Reason != "ContainerCannotRun" || term.Message != msg || term.ExitCode == 0 {
			t.Fatalf("terminated = %+v, want ContainerCannotRun with the engine message", term)
		}
		evs, _ := h.store.Events(context.Background(), "", r.Pod.UID)
		found := false
		for _, e := range evs {
			if e.Type == "Warning" && e.Reason == "Failed" && strings.Contains(e.Message, msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no Warning Failed event carrying %q in %v", msg, evs)
		}
	})
}

func TestPodImagePullBackOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime()
		h := newHarness(t, rt)
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("nope", "missing:1", "Never")); err != nil {
			t.Fatal(err)
		}
		waiting := func(reason string) func(*runner.PodRecord) bool {
			return func(r *runner.PodRecord) bool {
				if len(r.Pod.Status.ContainerStatuses) == 0 {
					return false
				}
				w := r.Pod.Status.ContainerStatuses[0].State.Waiting
				return w != nil && w.Reason == reason
			}
		}
		t0 := time.Now()
		h.waitPod("nope", waiting("ErrImagePull"))
		h.waitPod("nope", waiting("ImagePullBackOff"))
		h.waitPod("nope", waiting("ErrImagePull"))
		// The second pull comes after the 10 s back-off, the third after 20 s.
		if d := time.Since(t0); d < 10*time.Second || d > 11*time.Second {
			t.Errorf("second pull after %v, want 10s", d)
		}
		h.waitPod("nope", waiting("ImagePullBackOff"))
		h.waitPod("nope", waiting("ErrImagePull"))
		if d := time.Since(t0); d < 30*time.Second || d > 31*time.Second {
			t.Errorf("third pull after %v, want 30s", d)
		}
		if rt.Pulls["missing:1"] != 3 {
			t.Errorf("pulls = %d, want 3", rt.Pulls["missing:1"])
		}
	})
}

func TestPodCrashLoopBackOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		var mu sync.Mutex
		var starts []time.Time
		rt.Script = func(runner.ContainerSpec) runnertest.Behavior {
			mu.Lock()
			defer mu.Unlock()
			starts = append(starts, time.Now())
			return runnertest.Behavior{RunFor: time.Second, ExitCode: 1}
		}
		h := newHarness(t, rt)
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("crash", "busybox", "Always")); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("crash", func(r *runner.PodRecord) bool {
			if len(r.Pod.Status.ContainerStatuses) == 0 || r.Containers[0].RestartCount != 5 {
				return false
			}
			w := r.Pod.Status.ContainerStatuses[0].State.Waiting
			return w != nil && w.Reason == "CrashLoopBackOff"
		})
		mu.Lock()
		defer mu.Unlock()
		if r.Pod.Status.Phase != manifest.PodRunning {
			t.Errorf("phase = %s, want Running (restartPolicy Always)", r.Pod.Status.Phase)
		}
		// Delays between one exit (start+1s) and the next start: 0, 10, 20, 40, 80.
		want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}
		for i, w := range want {
			gap := starts[i+1].Sub(starts[i]) - time.Second
			if gap < w || gap > w+time.Second {
				t.Errorf("restart %d after %v, want %v", i+1, gap, w)
			}
		}
		if ls := r.Pod.Status.ContainerStatuses[0].LastState.Terminated; ls == nil || ls.Reason != "Error" {
			t.Errorf("lastState = %+v, want terminated Error", ls)
		}
	})
}

func TestPodOOMKilled(t *testing.T) {
	for _, tt := range []struct {
		name  string
		exit  int
		phase string
	}{
		{"killed", 137, manifest.PodFailed},
		// The reason is OOMKilled whatever the exit code, but the phase
		// follows the exit code, as the kubelet's getPhase does.
		{"exit zero", 0, manifest.PodSucceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newBusybox(t, always(runnertest.Behavior{RunFor: time.Second, OOM: true, ExitCode: tt.exit}))
				if _, err := h.ctrl.ApplyPod(context.Background(), pod("oom", "busybox", "Never")); err != nil {
					t.Fatal(err)
				}
				r := h.waitPod("oom", phaseIs(tt.phase))
				if term := r.Pod.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != "OOMKilled" || term.ExitCode != int32(tt.exit) {
					t.Fatalf("terminated = %+v, want OOMKilled/%d", term, tt.exit)
				}
			})
		})
	}
}

func TestJobBackoffLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: 3 * time.Second, ExitCode: 1}))
		two := int32(2)
		job := &manifest.Job{
			ObjectMeta: manifest.ObjectMeta{Name: "fails", Namespace: "default"},
			Spec: manifest.JobSpec{
				BackoffLimit: &two,
				Template: manifest.PodTemplateSpec{Spec: manifest.PodSpec{
					RestartPolicy: "Never",
					Containers:    []manifest.Container{{Name: "main", Image: "busybox", ImagePullPolicy: manifest.PullIfNotPresent}},
				}},
			},
		}
		j, err := h.ctrl.ApplyJob(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var final *manifest.Job
		for final == nil {
			ch, err := h.sub.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Job != nil && runner.IsJobFinished(ch.Job) {
				final = ch.Job
			}
		}
		if len(h.rt.Created) != 3 {
			t.Fatalf("created %d containers, want 3 pods", len(h.rt.Created))
		}
		pods, _ := h.store.PodsOfJob(ctx, j.UID)
		if len(pods) != 3 {
			t.Fatalf("%d pods, want 3", len(pods))
		}
		slices.SortFunc(pods, func(a, b *runner.PodRecord) int {
			return a.Containers[0].Current.StartedAt.Compare(b.Containers[0].Current.StartedAt)
		})
		for i, want := range []time.Duration{10 * time.Second, 20 * time.Second} {
			gap := pods[i+1].Containers[0].Current.StartedAt.Sub(pods[i].Containers[0].Current.FinishedAt)
			if gap < want || gap > want+time.Second {
				t.Errorf("pod %d started %v after pod %d finished, want %v", i+2, gap, i+1, want)
			}
		}
		var types []string
		for _, c := range final.Status.Conditions {
			types = append(types, c.Type+"/"+c.Reason)
		}
		if want := []string{"FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded"}; !slices.Equal(types, want) {
			t.Errorf("conditions = %v, want %v", types, want)
		}
		if final.Status.Failed != 3 || final.Status.Active != 0 || final.Status.CompletionTime != nil {
			t.Errorf("status = failed %d active %d completionTime %v", final.Status.Failed, final.Status.Active, final.Status.CompletionTime)
		}
	})
}

func TestJobCompletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, inTurn(runnertest.Behavior{RunFor: time.Second, ExitCode: 2}, runnertest.Behavior{RunFor: time.Second}))
		job := &manifest.Job{
			ObjectMeta: manifest.ObjectMeta{Name: "ok", Namespace: "default"},
			Spec: manifest.JobSpec{Template: manifest.PodTemplateSpec{Spec: manifest.PodSpec{
				RestartPolicy: "Never",
				Containers:    []manifest.Container{{Name: "main", Image: "busybox"}},
			}}},
		}
		if _, err := h.ctrl.ApplyJob(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		var final *manifest.Job
		for final == nil {
			ch, err := h.sub.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ch.Job != nil && runner.IsJobFinished(ch.Job) {
				final = ch.Job
			}
		}
		c := final.Status.Conditions
		if len(c) != 2 || c[0].Type != "SuccessCriteriaMet" || c[1].Type != "Complete" || c[1].Reason != "CompletionsReached" {
			t.Errorf("conditions = %+v", c)
		}
		if final.Status.Succeeded != 1 || final.Status.Failed != 1 || final.Status.CompletionTime == nil {
			t.Errorf("status = %+v", final.Status)
		}
	})
}

// TestDeleteShowsTerminating: a deleted pod whose container takes its grace
// period to stop carries a deletionTimestamp (now + grace) and the grace in
// the meantime, so get -w shows it Terminating, then it is gone.
func TestDeleteShowsTerminating(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		rt.Script = func(runner.ContainerSpec) runnertest.Behavior {
			return runnertest.Behavior{RunFor: time.Hour, IgnoreTerm: true}
		}
		h := newHarness(t, rt)
		p := pod("slow-stop", "busybox", "Never", "sleep", "3600")
		p.Spec.TerminationGracePeriodSeconds = ptr[int64](20)
		if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		h.waitPod("slow-stop", phaseIs(manifest.PodRunning))
		t0 := time.Now()
		deleted := make(chan error, 1)
		go func() { deleted <- h.ctrl.DeletePod(context.Background(), "default", "slow-stop") }()
		r := h.waitPod("slow-stop", func(r *runner.PodRecord) bool { return r.Pod.DeletionTimestamp != nil })
		if g := r.Pod.DeletionGracePeriodSeconds; g == nil || *g != 20 {
			t.Errorf("deletionGracePeriodSeconds %v, want 20", g)
		}
		if want := t0.Truncate(time.Second).Add(20 * time.Second); !r.Pod.DeletionTimestamp.Equal(want) {
			t.Errorf("deletionTimestamp %v, want %v (now + grace)", r.Pod.DeletionTimestamp, want)
		}
		if err := <-deleted; err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d < 20*time.Second {
			t.Errorf("deleted after %v, before its 20 s grace", d)
		}
		if _, err := h.store.Pod(context.Background(), "default", "slow-stop"); err == nil {
			t.Error("the pod is still there after the delete returned")
		}
	})
}
