package controller_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// cancelOnPod is a store that cancels the controller's context while the
// Job worker is creating its n-th pod: the daemon is told to stop in the
// middle of a burst of pod creation (issue: SIGTERM ignored in CI).
type cancelOnPod struct {
	*runnertest.Store
	mu     sync.Mutex
	n      int
	seen   map[string]bool
	cancel context.CancelFunc
}

func (s *cancelOnPod) SavePod(ctx context.Context, p *runner.PodRecord) error {
	return s.SavePodEvents(ctx, p, nil)
}

func (s *cancelOnPod) SavePodEvents(ctx context.Context, p *runner.PodRecord, events []*manifest.Event) error {
	s.mu.Lock()
	if p != nil && !s.seen[p.Pod.Name] {
		s.seen[p.Pod.Name] = true
		if len(s.seen) == s.n {
			s.cancel()
		}
	}
	s.mu.Unlock()
	return s.Store.SavePodEvents(ctx, p, events)
}

// TestStopWhileCreatingPods: the controller stops promptly when its context
// ends while a Job worker creates pods, whatever pod the cancel lands on.
// The store, like state.DB, answers every call with ctx.Err() once the
// context is done: the worker must take that as "stop", not as "the Job has
// no pods" (which made it create pods in a loop forever).
func TestStopWhileCreatingPods(t *testing.T) {
	for _, n := range []int{1, 2, 5, 10} {
		ctx, cancel := context.WithCancel(context.Background())
		store := &cancelOnPod{Store: runnertest.NewStore(), n: n, seen: map[string]bool{}, cancel: cancel}
		rt := runnertest.NewRuntime("busybox")
		rt.Script = runFor(time.Hour)
		ctrl := &controller.Controller{Store: store, Runtime: rt, NodeName: "testnode"}
		done := make(chan struct{})
		go func() { ctrl.Run(ctx); close(done) }()
		job := &manifest.Job{
			ObjectMeta: manifest.ObjectMeta{Name: "burst", Namespace: "default"},
			Spec: manifest.JobSpec{
				Completions: ptr[int32](200), Parallelism: ptr[int32](10),
				Template: manifest.PodTemplateSpec{Spec: manifest.PodSpec{
					RestartPolicy: manifest.RestartPolicyNever,
					Containers:    []manifest.Container{{Name: "main", Image: "busybox", ImagePullPolicy: manifest.PullIfNotPresent}},
				}},
			},
		}
		if _, err := ctrl.ApplyJob(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		// A bound that cannot fail on a loaded machine: stopping takes
		// milliseconds; a worker that ignores the end never stops.
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("cancel at pod %d: the controller did not stop within 20s (a worker ignores its context)", n)
		}
		rt.KillAll()
		if got := len(store.seen); got > 10 {
			t.Errorf("cancel at pod %d: %d pods created for parallelism 10", n, got)
		}
	}
}
