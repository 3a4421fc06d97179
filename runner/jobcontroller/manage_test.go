package jobcontroller

import (
	"slices"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

func TestManagePods(t *testing.T) {
	sized := func(completions *int32, parallelism int32) func(*manifest.JobSpec) {
		return func(s *manifest.JobSpec) { s.Completions, s.Parallelism = completions, ptr(parallelism) }
	}
	indexed := func(completions, parallelism int32, perIndex bool) func(*manifest.JobSpec) {
		return func(s *manifest.JobSpec) {
			s.CompletionMode = ptr(manifest.IndexedCompletion)
			s.Completions, s.Parallelism = ptr(completions), ptr(parallelism)
			if perIndex {
				s.BackoffLimitPerIndex = ptr(int32(3))
			}
		}
	}
	active := func(ps ...tpod) podCounts {
		v := views(ps...)
		return podCounts{active: int32(len(v)), activePods: v}
	}
	readyB := active(tpod{name: "a", phase: pR, index: -1}, tpod{name: "b", phase: pR, index: -1})
	readyB.activePods[1].ready = true
	newerB := active(tpod{name: "a", phase: pR, index: -1}, tpod{name: "b", phase: pR, index: -1})
	newerB.activePods[1].pod.CreationTimestamp.Time = t0.Add(time.Second)
	tests := []struct {
		name       string
		spec       func(*manifest.JobSpec)
		counts     podCounts
		now        time.Duration
		wantCreate []int
		wantStop   []string
		wantWake   time.Duration
	}{
		{
			name:       "UpToParallelism",
			spec:       sized(ptr(int32(5)), 2),
			wantCreate: []int{-1, -1},
		},
		{
			name:       "NoMoreThanTheMissingCompletions",
			spec:       sized(ptr(int32(5)), 3),
			counts:     podCounts{succeeded: 4},
			wantCreate: []int{-1},
		},
		{
			name:   "WorkQueueCreatesNothingAfterASuccess",
			spec:   sized(nil, 3),
			counts: podCounts{active: 1, succeeded: 1, activePods: views(tpod{name: "a", phase: pR, index: -1})},
		},
		{
			name:     "ScaleDownPendingFirst",
			spec:     sized(ptr(int32(5)), 1),
			counts:   active(tpod{name: "a", phase: pR, index: -1}, tpod{name: "b", phase: pP, index: -1}),
			wantStop: []string{"b/JobDeleted"},
		},
		{
			name:     "ScaleDownNotReadyFirst",
			spec:     sized(ptr(int32(5)), 1),
			counts:   readyB,
			wantStop: []string{"a/JobDeleted"},
		},
		{
			name:     "ScaleDownNewestFirst",
			spec:     sized(ptr(int32(5)), 1),
			counts:   newerB,
			wantStop: []string{"b/JobDeleted"},
		},
		{
			name:     "IndexedScaleDownHighestIndexFirst",
			spec:     indexed(5, 1, false),
			counts:   active(tpod{name: "a", phase: pR, index: 2}, tpod{name: "b", phase: pP, index: 0}),
			wantStop: []string{"a/JobDeleted"},
		},
		{
			name:     "BackoffWaits",
			spec:     sized(ptr(int32(5)), 2),
			counts:   podCounts{failed: 1, failuresAfter: 1, lastFailure: t0},
			now:      4 * time.Second,
			wantWake: 6 * time.Second,
		},
		{
			name:     "BackoffDoubles",
			spec:     sized(ptr(int32(5)), 2),
			counts:   podCounts{failed: 2, failuresAfter: 2, lastFailure: t0},
			now:      5 * time.Second,
			wantWake: 15 * time.Second,
		},
		{
			name:       "BackoffOver",
			spec:       sized(ptr(int32(5)), 1),
			counts:     podCounts{failed: 2, failuresAfter: 2, lastFailure: t0},
			now:        20 * time.Second,
			wantCreate: []int{-1},
		},
		{
			name: "TerminatingPodsTakeTheirPlaceWithReplacementPolicyFailed",
			spec: func(s *manifest.JobSpec) {
				sized(ptr(int32(5)), 2)(s)
				s.PodReplacementPolicy = ptr(manifest.ReplaceFailed)
			},
			counts: podCounts{active: 1, terminating: 1, activePods: views(tpod{name: "a", phase: pR, index: -1})},
		},
		{
			name:       "IndexedLowestFreeIndexes",
			spec:       indexed(5, 3, false),
			counts:     podCounts{active: 1, succeededIdx: idx(0), busyIdx: idx(1), activePods: views(tpod{name: "a", phase: pR, index: 1})},
			wantCreate: []int{2, 3},
		},
		{
			name: "PerIndexBackoffSkipsTheIndex",
			spec: indexed(3, 2, true),
			counts: podCounts{failed: 1, failuresAfter: 1, lastFailure: t0,
				idxFailures: map[int]int32{0: 1}, idxLastFailure: map[int]time.Time{0: t0}},
			now:        3 * time.Second,
			wantCreate: []int{1, 2},
			wantWake:   7 * time.Second,
		},
		{
			name:       "CappedPerSync",
			spec:       sized(ptr(int32(1000)), 1000),
			wantCreate: slices.Repeat([]int{-1}, maxCreatesPerSync),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := testJob(tt.spec)
			create, stop, wake := managePods(&job.Spec, modeOf(&job.Spec), &tt.counts, t0.Add(tt.now))
			if got := creates(jobActions{create: create}); !slices.Equal(got, tt.wantCreate) {
				t.Errorf("create = %v, want %v", got, tt.wantCreate)
			}
			if got := stops(jobActions{terminate: stop}); !slices.Equal(got, tt.wantStop) {
				t.Errorf("stop = %v, want %v", got, tt.wantStop)
			}
			if wake != tt.wantWake {
				t.Errorf("wake = %v, want %v", wake, tt.wantWake)
			}
		})
	}
}

func TestEarliest(t *testing.T) {
	tests := []struct{ a, b, want time.Duration }{
		{0, 0, 0},
		{0, time.Second, time.Second},
		{time.Second, 0, time.Second},
		{2 * time.Second, time.Second, time.Second},
		{time.Second, 2 * time.Second, time.Second},
	}
	for _, tt := range tests {
		if got := earliest(tt.a, tt.b); got != tt.want {
			t.Errorf("earliest(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
