package controller_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
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
