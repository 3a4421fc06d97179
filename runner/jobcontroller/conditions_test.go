package jobcontroller

import (
	"slices"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

func TestUpdateConditions(t *testing.T) {
	withCondition := func(typ, status, reason string) func(*manifest.JobStatus) {
		return func(st *manifest.JobStatus) {
			st.Conditions = append(st.Conditions, manifest.JobCondition{Type: typ, Status: status, Reason: reason, Message: reason})
		}
	}
	tests := []struct {
		name       string
		spec       func(*manifest.JobSpec)
		status     func(*manifest.JobStatus)
		counts     podCounts
		now        time.Duration
		wantConds  []string
		wantStop   string
		wantEvents []string
		wantWake   time.Duration
		wantStart  time.Duration // startTime after t0
	}{
		{
			name:   "RunningNothingToDecide",
			counts: podCounts{active: 1},
		},
		{
			name:       "SuspendStopsThePods",
			spec:       func(s *manifest.JobSpec) { s.Suspend = ptr(true) },
			counts:     podCounts{active: 2},
			wantConds:  []string{"Suspended=True/JobSuspended: Job suspended"},
			wantStop:   runner.TerminateJobSuspended,
			wantEvents: []string{"Normal Suspended"},
		},
		{
			name:       "ResumeRestartsTheClock",
			status:     withCondition(manifest.JobSuspended, "True", reasonJobSuspended),
			now:        time.Minute,
			wantConds:  []string{"Suspended=False/JobResumed: Job resumed"},
			wantEvents: []string{"Normal Resumed"},
			wantStart:  time.Minute,
		},
		{
			name:      "FailJobComesFirst",
			spec:      func(s *manifest.JobSpec) { s.BackoffLimit = ptr(int32(0)) },
			counts:    podCounts{active: 1, failed: 3, failJobMsg: "matched"},
			wantConds: []string{"FailureTarget=True/PodFailurePolicy: matched"},
			wantStop:  runner.TerminateJobDeleted,
		},
		{
			name:      "BackoffLimitWaitsForThePodsToStop",
			counts:    podCounts{active: 1, failed: 7},
			wantConds: []string{"FailureTarget=True/BackoffLimitExceeded: Job has reached the specified backoff limit"},
			wantStop:  runner.TerminateJobDeleted,
		},
		{
			name:   "BackoffLimitFailsOnceIdle",
			counts: podCounts{failed: 7},
			wantConds: []string{
				"FailureTarget=True/BackoffLimitExceeded: Job has reached the specified backoff limit",
				"Failed=True/BackoffLimitExceeded: Job has reached the specified backoff limit",
			},
			wantStop:   runner.TerminateJobDeleted,
			wantEvents: []string{"Warning BackoffLimitExceeded"},
		},
		{
			name: "OnFailureCountsRestarts",
			spec: func(s *manifest.JobSpec) {
				s.BackoffLimit = ptr(int32(2))
				s.Template.Spec.RestartPolicy = manifest.RestartPolicyOnFailure
			},
			counts:    podCounts{active: 1, restarts: 2},
			wantConds: []string{"FailureTarget=True/BackoffLimitExceeded: Job has reached the specified backoff limit"},
			wantStop:  runner.TerminateJobDeleted,
		},
		{
			name:     "DeadlineWakes",
			spec:     func(s *manifest.JobSpec) { s.ActiveDeadlineSeconds = ptr(int64(30)) },
			counts:   podCounts{active: 1},
			now:      10 * time.Second,
			wantWake: 20 * time.Second,
		},
		{
			name:      "DeadlineExceeded",
			spec:      func(s *manifest.JobSpec) { s.ActiveDeadlineSeconds = ptr(int64(30)) },
			counts:    podCounts{active: 1},
			now:       30 * time.Second,
			wantConds: []string{"FailureTarget=True/DeadlineExceeded: Job was active longer than specified deadline"},
			wantStop:  runner.TerminateJobDeleted,
			wantWake:  time.Millisecond,
		},
		{
			name:   "CompletionsReached",
			spec:   func(s *manifest.JobSpec) { s.Completions = ptr(int32(2)) },
			counts: podCounts{succeeded: 2},
			wantConds: []string{
				"SuccessCriteriaMet=True/CompletionsReached: Reached expected number of succeeded pods",
				"Complete=True/CompletionsReached: Reached expected number of succeeded pods",
			},
			wantStop:   runner.TerminateJobSucceeded,
			wantEvents: []string{"Normal Completed"},
		},
		{
			name:   "WorkQueueWaitsForTheActivePods",
			spec:   func(s *manifest.JobSpec) { s.Parallelism = ptr(int32(3)) },
			counts: podCounts{active: 1, succeeded: 1},
		},
		{
			name: "SuccessPolicy",
			spec: func(s *manifest.JobSpec) {
				s.CompletionMode = ptr(manifest.IndexedCompletion)
				s.Completions = ptr(int32(3))
				s.SuccessPolicy = &manifest.SuccessPolicy{Rules: []manifest.SuccessPolicyRule{{SucceededCount: ptr(int32(1))}}}
			},
			counts:    podCounts{active: 2, succeeded: 1, succeededIdx: idx(1)},
			wantConds: []string{"SuccessCriteriaMet=True/SuccessPolicy: Matched rules at index 0"},
			wantStop:  runner.TerminateJobSucceeded,
		},
		{
			name: "MaxFailedIndexes",
			spec: func(s *manifest.JobSpec) {
				s.CompletionMode = ptr(manifest.IndexedCompletion)
				s.Completions, s.BackoffLimitPerIndex, s.MaxFailedIndexes = ptr(int32(5)), ptr(int32(0)), ptr(int32(1))
			},
			counts:    podCounts{active: 1, failed: 2, failedIdx: idx(0, 1)},
			wantConds: []string{"FailureTarget=True/MaxFailedIndexesExceeded: Job has exceeded the specified maximal number of failed indexes"},
			wantStop:  runner.TerminateJobDeleted,
		},
		{
			name:      "FinishingDecidesNothingNew",
			status:    withCondition(manifest.JobFailureTarget, "True", reasonDeadlineExceeded),
			counts:    podCounts{succeeded: 1},
			wantConds: []string{"FailureTarget=True/DeadlineExceeded: DeadlineExceeded", "Failed=True/DeadlineExceeded: DeadlineExceeded"},
			wantStop:  runner.TerminateJobDeleted,
			wantEvents: []string{
				"Warning DeadlineExceeded",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := testJob(tt.spec)
			st := job.Status
			if tt.status != nil {
				tt.status(&st)
			}
			r := updateConditions(&st, &job.Spec, modeOf(&job.Spec), &tt.counts, t0.Add(tt.now))
			if got := conds(st); !slices.Equal(got, tt.wantConds) {
				t.Errorf("conditions = %q, want %q", got, tt.wantConds)
			}
			if r.stopAll != tt.wantStop {
				t.Errorf("stopAll = %q, want %q", r.stopAll, tt.wantStop)
			}
			var events []string
			for _, e := range r.events {
				events = append(events, e.typ+" "+e.reason)
			}
			if !slices.Equal(events, tt.wantEvents) {
				t.Errorf("events = %q, want %q", events, tt.wantEvents)
			}
			if r.wake != tt.wantWake {
				t.Errorf("wake = %v, want %v", r.wake, tt.wantWake)
			}
			if got := st.StartTime.Sub(t0); got != tt.wantStart {
				t.Errorf("startTime = t0+%v, want t0+%v", got, tt.wantStart)
			}
		})
	}
}
