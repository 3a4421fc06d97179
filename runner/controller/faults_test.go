package controller_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// TestJobFailedReadsCreateNoPods (issue #10 item 1): 25 failed reads of a
// Job's pods are not 25 Jobs without pods. The Job of parallelism 2 never
// has more than 2 pods at once, creates one pod per completion and
// completes; no container failed, so it is not BackoffLimitExceeded.
func TestJobFailedReadsCreateNoPods(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, runFor(10*time.Second))
		h.store.Faults.Fail("PodsOfJob", 25, nil)
		job := newJob("reads", func(s *manifest.JobSpec) {
			s.Completions, s.Parallelism = p32(4), p32(2)
		})
		if _, err := h.ctrl.ApplyJob(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		most := 0
		final := h.waitJob("reads", func(j *manifest.Job) bool {
			most = max(most, activePods(h))
			return finished(j)
		})
		if got := h.store.Faults.Calls("PodsOfJob"); got <= 25 {
			t.Fatalf("PodsOfJob called %d times; the 25 failures were not all used", got)
		}
		if most > 2 {
			t.Errorf("%d containers ran at once for parallelism 2", most)
		}
		if got := len(h.rt.Created); got != 4 {
			t.Errorf("%d containers created for 4 completions, want 4", got)
		}
		if got, want := condList(final), []string{"SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached"}; !slices.Equal(got, want) {
			t.Errorf("conditions = %v, want %v", got, want)
		}
		if final.Status.Failed != 0 {
			t.Errorf("status.failed = %d, want 0", final.Status.Failed)
		}
	})
}

// activePods counts the stored pods not in a terminal phase.
func activePods(h *harness) int {
	recs, err := h.store.Pods(context.Background(), "")
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if !runner.IsTerminalPhase(r.Pod.Status.Phase) {
			n++
		}
	}
	return n
}

// stepStore is a store whose SavePod fails (ErrStore) for the first fails
// records that show a container instance (with sandbox, the sandbox) at
// step; it counts the failed and the successful saves of such records.
type stepStore struct {
	*runnertest.Store
	step    string
	fails   int
	sandbox bool

	mu              sync.Mutex
	failed, written int
}

func (s *stepStore) SavePod(ctx context.Context, p *runner.PodRecord) error {
	return s.SavePodEvents(ctx, p, nil)
}

func (s *stepStore) SavePodEvents(ctx context.Context, p *runner.PodRecord, events []*manifest.Event) error {
	if p == nil {
		return s.Store.SavePodEvents(ctx, nil, events)
	}
	at := false
	for _, c := range p.Containers {
		at = at || c.Current != nil && c.Current.Step == s.step
	}
	if s.sandbox {
		at = p.Sandbox != nil && p.Sandbox.Step == s.step
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if at && s.failed < s.fails {
		s.failed++
		return runnertest.ErrStore
	}
	if err := s.Store.SavePodEvents(ctx, p, events); err != nil {
		return err
	}
	if at {
		s.written++
	}
	return nil
}

func (s *stepStore) counts() (failed, written int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed, s.written
}

// newStepHarness is newBusybox over a stepStore.
func newStepHarness(t *testing.T, store *stepStore, script func(runner.ContainerSpec) runnertest.Behavior) *harness {
	t.Helper()
	rt := runnertest.NewRuntime("busybox")
	rt.Script = script
	h := &harness{t: t, rt: rt, store: store.Store, done: make(chan struct{})}
	h.ctrl = &controller.Controller{Store: store, Runtime: rt, NodeName: "testnode"}
	h.sub = h.ctrl.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.ctrl.Run(ctx); close(h.done) }()
	t.Cleanup(func() { cancel(); <-h.done; rt.KillAll() })
	return h
}

// TestUnsavedIntentCreatesNothing (issue #10 item 5): while the intent to
// create a container cannot be recorded, the container is not created;
// the pod waits with a back-off and creates it once the record is saved.
func TestUnsavedIntentCreatesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &stepStore{Store: runnertest.NewStore(), step: runner.StepIntent, fails: 3}
		failedAtCreate := -1
		h := newStepHarness(t, store, func(runner.ContainerSpec) runnertest.Behavior {
			failedAtCreate, _ = store.counts()
			return runnertest.Behavior{RunFor: time.Second}
		})
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("intent", "busybox", "Never")); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("intent", phaseIs(manifest.PodSucceeded))
		if failedAtCreate != 3 {
			t.Errorf("container created after %d failed intent saves, want after all 3", failedAtCreate)
		}
		if got := len(h.rt.Created); got != 1 {
			t.Errorf("%d containers created, want 1", got)
		}
		if got := r.Pod.Status.ContainerStatuses[0].RestartCount; got != 0 {
			t.Errorf("restartCount = %d, want 0", got)
		}
	})
}

// TestUnsavedCreateStartsNothing (issue #10 item 5): a created container
// whose record could not be saved is not started; it is started only
// after its created step is recorded, and the pod runs one instance.
func TestUnsavedCreateStartsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &stepStore{Store: runnertest.NewStore(), step: runner.StepCreated, fails: 2}
		h := newStepHarness(t, store, runFor(time.Second))
		writtenAtStart := -1
		h.rt.Faults.Hook = func(op string) error {
			if op == "Start" {
				_, writtenAtStart = store.counts()
			}
			return nil
		}
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("created", "busybox", "Never")); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("created", phaseIs(manifest.PodSucceeded))
		if got := h.rt.Faults.Calls("Start"); got != 1 {
			t.Errorf("Start called %d times, want 1", got)
		}
		if writtenAtStart < 1 {
			t.Errorf("started before its created step was recorded (%d saves at step created)", writtenAtStart)
		}
		if got := r.Pod.Status.ContainerStatuses[0].RestartCount; got != 0 {
			t.Errorf("restartCount = %d, want 0", got)
		}
		if failed, _ := store.counts(); failed != 2 {
			t.Errorf("%d failed saves, want 2", failed)
		}
	})
}

// TestUnsavedJobPodNotStarted (issue #10 item 5): a pod of a Job whose
// record could not be saved is not started. For a minute every save of a
// pod fails: nothing runs, the Job retries with a back-off (not in a hot
// loop) and then runs one pod per completion.
func TestUnsavedJobPodNotStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, runFor(10*time.Second))
		t0 := time.Now()
		var mu sync.Mutex
		failed := 0
		h.store.Faults.Hook = func(op string) error {
			mu.Lock()
			defer mu.Unlock()
			if op != "SavePod" || time.Since(t0) >= time.Minute || failed >= 1000 {
				return nil // 1000: a hot loop, in which fake time stands still
			}
			failed++
			return runnertest.ErrStore
		}
		job := newJob("unsaved", func(s *manifest.JobSpec) {
			s.Completions, s.Parallelism = p32(2), p32(2)
		})
		if _, err := h.ctrl.ApplyJob(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		final := h.finishedWith("unsaved", "SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached")
		mu.Lock()
		defer mu.Unlock()
		if failed < 2 || failed > 40 {
			t.Errorf("%d pod saves failed in a minute; want a few, retried with a back-off", failed)
		}
		if got := len(h.rt.Created); got != 2 {
			t.Errorf("%d containers created for 2 completions, want 2", got)
		}
		if final.Status.Failed != 0 {
			t.Errorf("status.failed = %d, want 0", final.Status.Failed)
		}
	})
}

// TestUnsavedJobStatusNotActedOn (issue #10 item 5): the Job worker does
// not create pods for a status it could not save.
func TestUnsavedJobStatusNotActedOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		saves, failedAtCreate := 0, -1
		h := newBusybox(t, func(runner.ContainerSpec) runnertest.Behavior {
			mu.Lock()
			defer mu.Unlock()
			if failedAtCreate < 0 {
				failedAtCreate = min(saves-1, 3)
			}
			return runnertest.Behavior{RunFor: time.Second}
		})
		h.store.Faults.Hook = func(op string) error {
			mu.Lock()
			defer mu.Unlock()
			if op != "SaveJob" {
				return nil
			}
			saves++
			if saves >= 2 && saves <= 4 { // the first is ApplyJob's
				return runnertest.ErrStore
			}
			return nil
		}
		if _, err := h.ctrl.ApplyJob(context.Background(), newJob("status", nil)); err != nil {
			t.Fatal(err)
		}
		h.finishedWith("status", "SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached")
		mu.Lock()
		defer mu.Unlock()
		if failedAtCreate != 3 {
			t.Errorf("pod created after %d failed saves of the Job, want after all 3", failedAtCreate)
		}
		if got := len(h.rt.Created); got != 1 {
			t.Errorf("%d containers created, want 1", got)
		}
	})
}

// TestUnsavedSandboxNotCreated (issue #10 item 5): a pod sandbox whose
// intent could not be recorded is not created, and one whose created step
// could not be recorded is not started; the pod runs once both are saved.
func TestUnsavedSandboxNotCreated(t *testing.T) {
	for _, step := range []string{runner.StepIntent, runner.StepCreated} {
		t.Run(step, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := &stepStore{Store: runnertest.NewStore(), step: step, fails: 2, sandbox: true}
				h := newStepHarness(t, store, runFor(time.Second))
				var mu sync.Mutex
				failedAt := map[string]int{}
				h.rt.Faults.Hook = func(op string) error {
					mu.Lock()
					defer mu.Unlock()
					if _, seen := failedAt[op]; !seen && (op == "Create" || op == "Start") {
						failedAt[op], _ = store.counts()
					}
					return nil
				}
				p := pod("pair", "busybox", "Never")
				p.Spec.Containers = append(p.Spec.Containers, manifest.Container{Name: "side", Image: "busybox", ImagePullPolicy: manifest.PullIfNotPresent})
				if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
					t.Fatal(err)
				}
				h.waitPod("pair", phaseIs(manifest.PodSucceeded))
				mu.Lock()
				defer mu.Unlock()
				op := map[string]string{runner.StepIntent: "Create", runner.StepCreated: "Start"}[step]
				if failedAt[op] != 2 {
					t.Errorf("first %s after %d failed saves of the sandbox at %s, want after both", op, failedAt[op], step)
				}
			})
		})
	}
}

// TestJobTTLDeleteRetried: a TTL deletion of a finished Job that fails
// (its pods could not be listed, then the Job's record not deleted) is
// tried again after a back-off, not given up: the Job and its pod go.
func TestJobTTLDeleteRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, runFor(time.Second))
		j := h.apply(newJob("ttl", func(s *manifest.JobSpec) { s.TTLSecondsAfterFinished = p32(5) }))
		h.waitJob("ttl", finished)
		pod := h.podsOf(j)[0]
		h.store.Faults.Fail("PodsOfJob", 1, nil)
		h.store.Faults.Fail("DeleteJob", 2, nil)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		ctx := context.Background()
		if _, err := h.store.Job(ctx, "default", "ttl"); err == nil {
			t.Error("job still stored")
		}
		if _, err := h.store.Pod(ctx, "default", pod.Pod.Name); err == nil {
			t.Error("pod still stored")
		}
		if got := h.store.Faults.Calls("DeleteJob"); got != 3 {
			t.Errorf("DeleteJob called %d times, want 3 (2 failures, then done)", got)
		}
	})
}

// TestUnsavedTerminalStateRetried (issue #10 item 5): a pod whose terminal
// state the store fails to take does not end its worker with the record
// still Running: it saves again after a back-off, and its Job completes.
func TestUnsavedTerminalStateRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &stepStore{Store: runnertest.NewStore(), step: runner.StepExited, fails: 3}
		h := newStepHarness(t, store, runFor(time.Second))
		j := h.apply(newJob("final", nil))
		h.finishedWith("final", "SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached")
		if p := h.podsOf(j)[0]; p.Pod.Status.Phase != manifest.PodSucceeded {
			t.Errorf("stored pod is %s, want Succeeded", p.Pod.Status.Phase)
		}
		if failed, _ := store.counts(); failed != 3 {
			t.Errorf("%d failed saves, want 3", failed)
		}
	})
}
