package jobcontroller

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// summary writes what a test of classifyPods compares: the counts, then
// the index sets and the FailJob message when there are any.
func summary(c podCounts) string {
	s := fmt.Sprintf("active=%d ready=%d succeeded=%d failed=%d terminating=%d restarts=%d failuresAfter=%d",
		c.active, c.ready, c.succeeded, c.failed, c.terminating, c.restarts, c.failuresAfter)
	for _, set := range []struct {
		name string
		idx  map[int]bool
	}{{"succeededIdx", c.succeededIdx}, {"failedIdx", c.failedIdx}, {"busyIdx", c.busyIdx}} {
		if len(set.idx) > 0 {
			s += " " + set.name + "=" + formatIndexes(slices.Sorted(maps.Keys(set.idx)))
		}
	}
	if c.failJobMsg != "" {
		s += " failJob=" + c.failJobMsg
	}
	return s
}

func TestClassifyPods(t *testing.T) {
	rules := func(rules ...manifest.PodFailurePolicyRule) func(*manifest.JobSpec) {
		return func(s *manifest.JobSpec) { s.PodFailurePolicy = &manifest.PodFailurePolicy{Rules: rules} }
	}
	exitIn := func(action string, codes ...int32) manifest.PodFailurePolicyRule {
		return manifest.PodFailurePolicyRule{Action: action, OnExitCodes: &manifest.PodFailurePolicyOnExitCodes{Operator: "In", Values: codes}}
	}
	indexed := func(completions int32, perIndex *int32) func(*manifest.JobSpec) {
		return func(s *manifest.JobSpec) {
			s.CompletionMode = ptr(manifest.IndexedCompletion)
			s.Completions, s.Parallelism, s.BackoffLimitPerIndex = ptr(completions), ptr(completions), perIndex
		}
	}
	ready := views(tpod{name: "a", phase: pR, index: -1, restarts: 2})
	ready[0].ready = true
	tests := []struct {
		name string
		spec func(*manifest.JobSpec)
		pods []podView
		want string
	}{
		{
			name: "ActiveReadyAndRestarts",
			pods: append(ready, views(tpod{name: "b", phase: pP, index: -1, restarts: 1})...),
			want: "active=2 ready=1 succeeded=0 failed=0 terminating=0 restarts=3 failuresAfter=0",
		},
		{
			name: "StoppedByTheJobNeverFailed",
			pods: views(tpod{name: "a", phase: pF, exit: 143, index: -1, kill: runner.TerminateJobSuspended},
				tpod{name: "b", phase: pF, exit: 143, index: -1, kill: runner.TerminateJobSucceeded}),
			want: "active=0 ready=0 succeeded=0 failed=0 terminating=0 restarts=0 failuresAfter=0",
		},
		{
			name: "KilledPodFailsAtOnce",
			pods: views(tpod{name: "a", phase: pR, index: -1, kill: "Killed"}),
			want: "active=0 ready=0 succeeded=0 failed=1 terminating=1 restarts=0 failuresAfter=1",
		},
		{
			name: "KilledPodWaitsForFailedWithReplacementPolicyFailed",
			spec: func(s *manifest.JobSpec) { s.PodReplacementPolicy = ptr(manifest.ReplaceFailed) },
			pods: views(tpod{name: "a", phase: pR, index: -1, kill: "Killed"}),
			want: "active=0 ready=0 succeeded=0 failed=0 terminating=1 restarts=0 failuresAfter=0",
		},
		{
			name: "OwnDeadlineIsNotTerminating",
			pods: views(tpod{name: "a", phase: pR, index: -1, kill: runner.ReasonPodDeadlineExceeded}),
			want: "active=1 ready=0 succeeded=0 failed=0 terminating=0 restarts=0 failuresAfter=0",
		},
		{
			name: "KilledAfterSuccessCountsFailed",
			pods: views(tpod{name: "a", phase: pS, index: -1, kill: "Killed"}),
			want: "active=0 ready=0 succeeded=0 failed=1 terminating=0 restarts=0 failuresAfter=1",
		},
		{
			name: "FailuresAfterTheLastSuccess",
			pods: views(tpod{name: "a", phase: pF, exit: 1, index: -1, at: time.Second}, tpod{name: "b", phase: pS, index: -1, at: 5 * time.Second},
				tpod{name: "c", phase: pF, exit: 1, index: -1, at: 8 * time.Second}, tpod{name: "d", phase: pF, exit: 1, index: -1, at: 9 * time.Second}),
			want: "active=0 ready=0 succeeded=1 failed=3 terminating=0 restarts=0 failuresAfter=2",
		},
		{
			name: "PodFailurePolicyIgnoreAndFirstFailJob",
			spec: rules(exitIn("Ignore", 3), exitIn("FailJob", 42)),
			pods: views(tpod{name: "a", phase: pF, exit: 3, index: -1}, tpod{name: "b", phase: pF, exit: 42, index: -1},
				tpod{name: "c", phase: pF, exit: 42, index: -1}),
			want: "active=0 ready=0 succeeded=0 failed=2 terminating=0 restarts=0 failuresAfter=2" +
				" failJob=Container main for pod default/b failed with exit code 42 matching FailJob rule at index 1",
		},
		{
			name: "IndexedCountsEachIndexOnce",
			spec: indexed(3, nil),
			pods: views(tpod{name: "a", phase: pS, index: 0}, tpod{name: "b", phase: pS, index: 0},
				tpod{name: "c", phase: pF, exit: 1, index: 1, at: time.Second}, tpod{name: "d", phase: pR, index: 2}, tpod{name: "e", phase: pS, index: 7}),
			want: "active=1 ready=0 succeeded=1 failed=1 terminating=0 restarts=0 failuresAfter=1 succeededIdx=0 busyIdx=2",
		},
		{
			name: "PerIndexLimitFailsTheIndex",
			spec: indexed(3, ptr(int32(1))),
			pods: views(tpod{name: "a", phase: pF, exit: 1, index: 0}, tpod{name: "b", phase: pF, exit: 1, index: 0, failures: 1},
				tpod{name: "c", phase: pF, exit: 1, index: 1}),
			want: "active=0 ready=0 succeeded=0 failed=3 terminating=0 restarts=0 failuresAfter=3 failedIdx=0",
		},
		{
			name: "SucceededIndexIsNotFailed",
			spec: indexed(3, ptr(int32(0))),
			pods: views(tpod{name: "a", phase: pF, exit: 1, index: 0}, tpod{name: "b", phase: pS, index: 0, at: time.Second}),
			want: "active=0 ready=0 succeeded=1 failed=1 terminating=0 restarts=0 failuresAfter=0 succeededIdx=0",
		},
		{
			name: "FailIndexAction",
			spec: func(s *manifest.JobSpec) { indexed(3, ptr(int32(5)))(s); rules(exitIn("FailIndex", 3))(s) },
			pods: views(tpod{name: "a", phase: pF, exit: 3, index: 2}),
			want: "active=0 ready=0 succeeded=0 failed=1 terminating=0 restarts=0 failuresAfter=1 failedIdx=2",
		},
		{
			name: "TerminatingIndexBusyWithReplacementPolicyFailed",
			spec: func(s *manifest.JobSpec) { indexed(3, nil)(s); s.PodReplacementPolicy = ptr(manifest.ReplaceFailed) },
			pods: views(tpod{name: "a", phase: pR, index: 1, kill: "Killed"}),
			want: "active=0 ready=0 succeeded=0 failed=0 terminating=1 restarts=0 failuresAfter=0 busyIdx=1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := testJob(tt.spec)
			got := summary(classifyPods(&job.Spec, modeOf(&job.Spec), tt.pods))
			if got != tt.want {
				t.Errorf("classifyPods\n got  %s\n want %s", got, tt.want)
			}
		})
	}
}

func TestSetCounts(t *testing.T) {
	job := testJob(func(s *manifest.JobSpec) {
		s.CompletionMode = ptr(manifest.IndexedCompletion)
		s.Completions, s.BackoffLimitPerIndex = ptr(int32(6)), ptr(int32(1))
	})
	c := podCounts{active: 2, succeeded: 3, failed: 4, ready: 1, terminating: 1,
		succeededIdx: idx(0, 1, 2), failedIdx: idx(4)}
	st := job.Status
	setCounts(&st, modeOf(&job.Spec), &c)
	got := fmt.Sprintf("active=%d succeeded=%d failed=%d ready=%d terminating=%d completed=%q failed=%q uncounted=%v",
		st.Active, st.Succeeded, st.Failed, *st.Ready, *st.Terminating, st.CompletedIndexes, *st.FailedIndexes, st.UncountedTerminatedPods != nil)
	if want := `active=2 succeeded=3 failed=4 ready=1 terminating=1 completed="0-2" failed="4" uncounted=true`; got != want {
		t.Errorf("setCounts:\n got  %s\n want %s", got, want)
	}
}

// idx is a set of completion indexes.
func idx(is ...int) map[int]bool {
	m := map[int]bool{}
	for _, i := range is {
		m[i] = true
	}
	return m
}
