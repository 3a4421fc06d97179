package controller_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// newJob returns a defaulted Job with one busybox container and
// restartPolicy Never; mod adjusts the spec before defaulting.
func newJob(name string, mod func(*manifest.JobSpec)) *manifest.Job {
	j := &manifest.Job{
		ObjectMeta: manifest.ObjectMeta{Name: name, Namespace: "default"},
		Spec: manifest.JobSpec{Template: manifest.PodTemplateSpec{Spec: manifest.PodSpec{
			RestartPolicy: manifest.RestartPolicyNever,
			Containers:    []manifest.Container{{Name: "main", Image: "busybox", ImagePullPolicy: manifest.PullIfNotPresent}},
		}}},
	}
	if mod != nil {
		mod(&j.Spec)
	}
	manifest.DefaultJobSpec(&j.Spec)
	return j
}

func p32(v int32) *int32 { return &v }
func p64(v int64) *int64 { return &v }

// waitJob waits (in fake time) until the job satisfies cond.
func (h *harness) waitJob(name string, cond func(*manifest.Job) bool) *manifest.Job {
	h.t.Helper()
	return waitFor(h, "job "+name, 2*time.Hour,
		func(ctx context.Context) (*manifest.Job, error) { return h.store.Job(ctx, "default", name) },
		func(ch runner.Change) (*manifest.Job, bool) {
			return ch.Job, ch.Job != nil && !ch.Deleted && ch.Job.Name == name
		}, cond)
}

func finished(j *manifest.Job) bool { return runner.IsJobFinished(j) }

// byIndex is a script for Indexed Jobs: the pods of the listed completion
// indexes behave as listed, the others as other.
func byIndex(other, listed runnertest.Behavior, indexes ...string) func(runner.ContainerSpec) runnertest.Behavior {
	return func(s runner.ContainerSpec) runnertest.Behavior {
		if slices.Contains(indexes, envOf(s, "JOB_COMPLETION_INDEX")) {
			return listed
		}
		return other
	}
}

// runFor is a script whose containers all run for d and exit 0.
func runFor(d time.Duration) func(runner.ContainerSpec) runnertest.Behavior {
	return always(runnertest.Behavior{RunFor: d})
}

// indexedJob makes the spec an Indexed Job of completions, parallelism at
// a time.
func indexedJob(s *manifest.JobSpec, completions, parallelism int32) {
	s.Completions, s.Parallelism = p32(completions), p32(parallelism)
	s.CompletionMode = ptrTo(manifest.IndexedCompletion)
}

// finishedWith waits until the Job has finished and checks its conditions
// (type/reason, in order).
func (h *harness) finishedWith(name string, conds ...string) *manifest.Job {
	h.t.Helper()
	final := h.waitJob(name, finished)
	if got := condList(final); !slices.Equal(got, conds) {
		h.t.Errorf("conditions = %v, want %v", got, conds)
	}
	return final
}

func condList(j *manifest.Job) []string {
	var out []string
	for _, c := range j.Status.Conditions {
		out = append(out, c.Type+"/"+c.Reason)
	}
	return out
}

func (h *harness) jobEvents(j *manifest.Job) []string {
	h.t.Helper()
	evs, err := h.store.Events(context.Background(), "", j.UID)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type+" "+e.Reason+" "+e.Message)
	}
	return out
}

func (h *harness) apply(j *manifest.Job) *manifest.Job {
	h.t.Helper()
	out, err := h.ctrl.ApplyJob(context.Background(), j)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func (h *harness) podsOf(j *manifest.Job) []*runner.PodRecord {
	h.t.Helper()
	pods, err := h.store.PodsOfJob(context.Background(), j.UID)
	if err != nil {
		h.t.Fatal(err)
	}
	slices.SortFunc(pods, func(a, b *runner.PodRecord) int { return a.Pod.CreationTimestamp.Compare(b.Pod.CreationTimestamp.Time) })
	return pods
}

// envOf returns one environment variable of a created container.
func envOf(spec runner.ContainerSpec, name string) string {
	for _, e := range spec.Env {
		if v, ok := strings.CutPrefix(e, name+"="); ok {
			return v
		}
	}
	return "<unset>"
}

// concurrency tracks how many fake containers run at once.
type concurrency struct {
	mu       sync.Mutex
	now, max int
}

func (c *concurrency) run(d time.Duration) {
	c.mu.Lock()
	c.now++
	c.max = max(c.max, c.now)
	c.mu.Unlock()
	time.AfterFunc(d, func() { c.mu.Lock(); c.now--; c.mu.Unlock() })
}

// §6.1: restartPolicy Never, backoffLimit 2, exit 1: three pods, 10 s and
// 20 s apart, then FailureTarget and Failed BackoffLimitExceeded.
func TestJobTimelineNeverBackoffLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: time.Second, ExitCode: 1}))
		j := h.apply(newJob("j", func(s *manifest.JobSpec) { s.BackoffLimit = p32(2) }))
		final := h.waitJob("j", finished)
		if got, want := condList(final), []string{"FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded"}; !slices.Equal(got, want) {
			t.Errorf("conditions = %v, want %v", got, want)
		}
		if final.Status.Failed != 3 || final.Status.Active != 0 || final.Status.CompletionTime != nil || final.Status.StartTime == nil {
			t.Errorf("status = %+v", final.Status)
		}
		pods := h.podsOf(j)
		if len(pods) != 3 {
			t.Fatalf("%d pods, want 3", len(pods))
		}
		for _, p := range pods {
			if !regexp.MustCompile(`^j-[bcdfghjklmnpqrstvwxz2456789]{5}$`).MatchString(p.Pod.Name) {
				t.Errorf("pod name %q", p.Pod.Name)
			}
			if cs := p.Pod.Status.ContainerStatuses[0]; cs.State.Terminated == nil || cs.State.Terminated.Reason != "Error" || cs.RestartCount != 0 {
				t.Errorf("pod %s container = %+v, want Error with 0 restarts", p.Pod.Name, cs)
			}
		}
		evs := h.jobEvents(final)
		want := []string{
			"Normal SuccessfulCreate Created pod: " + pods[0].Pod.Name,
			"Normal SuccessfulCreate Created pod: " + pods[1].Pod.Name,
			"Normal SuccessfulCreate Created pod: " + pods[2].Pod.Name,
			"Warning BackoffLimitExceeded Job has reached the specified backoff limit",
		}
		if !slices.Equal(evs, want) {
			t.Errorf("events = %q, want %q", evs, want)
		}
	})
}

// §6.2: restartPolicy OnFailure, backoffLimit 2: one pod restarted in place;
// at two restarts the Job fails and the pod is stopped and counted.
func TestJobTimelineOnFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: time.Second, ExitCode: 1}))
		j := h.apply(newJob("j", func(s *manifest.JobSpec) {
			s.BackoffLimit = p32(2)
			s.Template.Spec.RestartPolicy = manifest.RestartPolicyOnFailure
		}))
		start := time.Now()
		ft := h.waitJob("j", func(j *manifest.Job) bool { return len(j.Status.Conditions) > 0 })
		// Exit at 1 s, restart at once, exit at 2 s, back-off 10 s, restart
		// at 12 s: two restarts reach the limit.
		if d := time.Since(start); d < 12*time.Second || d > 13*time.Second {
			t.Errorf("FailureTarget after %v, want 12s", d)
		}
		if got := condList(ft); !slices.Equal(got, []string{"FailureTarget/BackoffLimitExceeded"}) {
			t.Errorf("conditions = %v", got)
		}
		final := h.finishedWith("j", "FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded")
		pods := h.podsOf(j)
		if len(pods) != 1 || len(h.rt.Created) != 3 {
			t.Fatalf("%d pods and %d containers, want 1 pod with 3 containers", len(pods), len(h.rt.Created))
		}
		if final.Status.Failed != 1 || pods[0].Pod.Status.Phase != manifest.PodFailed {
			t.Errorf("failed = %d, pod phase %s; want the stopped pod counted and kept as Failed", final.Status.Failed, pods[0].Pod.Status.Phase)
		}
		if !slices.Contains(h.jobEvents(final), "Normal SuccessfulDelete Deleted pod: "+pods[0].Pod.Name) {
			t.Errorf("no SuccessfulDelete event in %q", h.jobEvents(final))
		}
	})
}

// §6.3: completions 5, parallelism 2, all succeed.
func TestJobTimelineCompletionsParallelism(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		var cc concurrency
		rt.Script = func(runner.ContainerSpec) runnertest.Behavior {
			cc.run(2 * time.Second)
			return runnertest.Behavior{RunFor: 2 * time.Second}
		}
		h := newHarness(t, rt)
		h.apply(newJob("j", func(s *manifest.JobSpec) { s.Completions, s.Parallelism = p32(5), p32(2) }))
		final := h.finishedWith("j", "SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached")
		if final.Status.Succeeded != 5 || final.Status.Failed != 0 || final.Status.CompletionTime == nil {
			t.Errorf("status = %+v", final.Status)
		}
		if len(rt.Created) != 5 || cc.max != 2 {
			t.Errorf("%d pods, at most %d at once; want 5, 2", len(rt.Created), cc.max)
		}
		if d := final.Status.CompletionTime.Sub(final.Status.StartTime.Time); d != 6*time.Second {
			t.Errorf("duration %v, want 6s (3 rounds of 2 s)", d)
		}
		if evs := h.jobEvents(final); evs[len(evs)-1] != "Normal Completed Job completed" {
			t.Errorf("last event %q", evs[len(evs)-1])
		}
	})
}

// §6.4: work queue, parallelism 3: no new pods after the first success;
// Complete once all three ended, a later failure still counted.
func TestJobTimelineWorkQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, inTurn(runnertest.Behavior{RunFor: time.Second}, runnertest.Behavior{RunFor: 5 * time.Second, ExitCode: 1},
			runnertest.Behavior{RunFor: 8 * time.Second}))
		h.apply(newJob("j", func(s *manifest.JobSpec) { s.Parallelism = p32(3) }))
		mid := h.waitJob("j", func(j *manifest.Job) bool { return j.Status.Succeeded == 1 })
		if mid.Status.Active != 2 || len(mid.Status.Conditions) != 0 {
			t.Errorf("after the first success: %+v", mid.Status)
		}
		final := h.finishedWith("j", "SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached")
		if final.Status.Succeeded != 2 || final.Status.Failed != 1 || len(h.rt.Created) != 3 {
			t.Errorf("succeeded %d failed %d pods %d; want 2, 1, 3", final.Status.Succeeded, final.Status.Failed, len(h.rt.Created))
		}
		if d := final.Status.CompletionTime.Sub(final.Status.StartTime.Time); d != 8*time.Second {
			t.Errorf("complete after %v, want 8s (when the last pod ended)", d)
		}
	})
}

func TestJobIndexed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, func(s runner.ContainerSpec) runnertest.Behavior {
			return runnertest.Behavior{RunFor: time.Second, Lines: []string{"item " + envOf(s, "JOB_COMPLETION_INDEX")}}
		})
		j := h.apply(newJob("indexed-job", func(s *manifest.JobSpec) {
			indexedJob(s, 5, 3)
			s.Template.Spec.InitContainers = []manifest.Container{{Name: "input", Image: "busybox", ImagePullPolicy: manifest.PullIfNotPresent}}
		}))
		final := h.waitJob("indexed-job", finished)
		if final.Status.CompletedIndexes != "0-4" || final.Status.Succeeded != 5 || final.Status.FailedIndexes != nil {
			t.Errorf("completedIndexes %q succeeded %d failedIndexes %v", final.Status.CompletedIndexes, final.Status.Succeeded, final.Status.FailedIndexes)
		}
		pods := h.podsOf(j)
		if len(pods) != 5 {
			t.Fatalf("%d pods, want 5", len(pods))
		}
		seen := map[string]bool{}
		for _, p := range pods {
			idx := p.Pod.Labels["batch.kubernetes.io/job-completion-index"]
			seen[idx] = true
			if p.Pod.Annotations["batch.kubernetes.io/job-completion-index"] != idx {
				t.Errorf("pod %s: annotation %q, label %q", p.Pod.Name, p.Pod.Annotations["batch.kubernetes.io/job-completion-index"], idx)
			}
			if !regexp.MustCompile(`^indexed-job-` + idx + `-[a-z0-9]{5}$`).MatchString(p.Pod.Name) {
				t.Errorf("pod name %q for index %s", p.Pod.Name, idx)
			}
			if p.Pod.Spec.Hostname != "indexed-job-"+idx {
				t.Errorf("hostname %q, want indexed-job-%s", p.Pod.Spec.Hostname, idx)
			}
			if got := h.store.LogLines("default", p.Pod.Name, p.Pod.UID, "main", 0); !slices.Equal(got, []string{"item " + idx}) {
				t.Errorf("pod %s logged %q, want item %s", p.Pod.Name, got, idx)
			}
			if got := h.store.LogLines("default", p.Pod.Name, p.Pod.UID, "input", 0); !slices.Equal(got, []string{"item " + idx}) {
				t.Errorf("init container of pod %s logged %q, want item %s", p.Pod.Name, got, idx)
			}
		}
		if len(seen) != 5 {
			t.Errorf("indexes %v, want 0-4 once each", seen)
		}
		// Lowest indexes first: 0, 1, 2 start together.
		var first []string
		for _, p := range pods[:3] {
			first = append(first, p.Pod.Labels["batch.kubernetes.io/job-completion-index"])
		}
		slices.Sort(first)
		if !slices.Equal(first, []string{"0", "1", "2"}) {
			t.Errorf("first pods for indexes %v, want 0 1 2", first)
		}
	})
}

func ptrTo[T any](v T) *T { return &v }

// The job-backoff-limit-per-index example shape: even indexes fail twice,
// odd ones succeed.
func TestJobBackoffLimitPerIndex(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		var mu sync.Mutex
		starts := map[string][]time.Time{}
		rt.Script = func(s runner.ContainerSpec) runnertest.Behavior {
			idx := envOf(s, "JOB_COMPLETION_INDEX")
			mu.Lock()
			starts[idx] = append(starts[idx], time.Now())
			mu.Unlock()
			code := 0
			if idx == "0" || idx == "2" || idx == "4" {
				code = 1
			}
			return runnertest.Behavior{RunFor: time.Second, ExitCode: code}
		}
		h := newHarness(t, rt)
		j := h.apply(newJob("job-backoff-limit-per-index-example", func(s *manifest.JobSpec) {
			indexedJob(s, 6, 3)
			s.BackoffLimitPerIndex = p32(1)
			s.MaxFailedIndexes = p32(5)
		}))
		final := h.finishedWith(j.Name, "FailureTarget/FailedIndexes", "Failed/FailedIndexes")
		if *final.Status.FailedIndexes != "0,2,4" || final.Status.CompletedIndexes != "1,3,5" ||
			final.Status.Succeeded != 3 || final.Status.Failed != 6 {
			t.Errorf("failedIndexes %q completedIndexes %q succeeded %d failed %d", *final.Status.FailedIndexes,
				final.Status.CompletedIndexes, final.Status.Succeeded, final.Status.Failed)
		}
		if c := final.Status.Conditions[1]; c.Message != "Job has failed indexes" {
			t.Errorf("message %q", c.Message)
		}
		// Index 0 is retried once, 10 s after its first failure.
		if s := starts["0"]; len(s) != 2 || s[1].Sub(s[0]) < 11*time.Second || s[1].Sub(s[0]) > 12*time.Second {
			t.Errorf("index 0 started at %v; want twice, 11 s apart (1 s run + 10 s back-off)", s)
		}
		counts := map[string][]string{}
		for _, p := range h.podsOf(j) {
			idx := p.Pod.Annotations["batch.kubernetes.io/job-completion-index"]
			counts[idx] = append(counts[idx], p.Pod.Annotations["batch.kubernetes.io/job-index-failure-count"])
		}
		if !slices.Equal(counts["0"], []string{"0", "1"}) || !slices.Equal(counts["1"], []string{"0"}) {
			t.Errorf("failure-count annotations = %v", counts)
		}
	})
}

func TestJobMaxFailedIndexes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, byIndex(runnertest.Behavior{RunFor: time.Minute}, runnertest.Behavior{RunFor: time.Second, ExitCode: 1}, "0", "1"))
		h.apply(newJob("j", func(s *manifest.JobSpec) {
			indexedJob(s, 4, 4)
			s.BackoffLimitPerIndex = p32(0)
			s.MaxFailedIndexes = p32(1)
		}))
		final := h.finishedWith("j", "FailureTarget/MaxFailedIndexesExceeded", "Failed/MaxFailedIndexesExceeded")
		// The two running pods were stopped and count as failed; at
		// backoffLimitPerIndex 0 their indexes fail too (isIndexFailed).
		if *final.Status.FailedIndexes != "0-3" || final.Status.Failed != 4 {
			t.Errorf("failedIndexes %q failed %d", *final.Status.FailedIndexes, final.Status.Failed)
		}
	})
}
