package jobcontroller

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

var t0 = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

func TestFormatIndexes(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{1, 2}, "1,2"},
		{[]int{1, 2, 3}, "1-3"},
		{[]int{1, 3, 5, 6, 7}, "1,3,5-7"},
		{[]int{0, 2, 4, 6, 8}, "0,2,4,6,8"},
		{[]int{0, 1, 3, 4, 5, 9, 10}, "0,1,3-5,9,10"},
	}
	for _, tt := range tests {
		if got := formatIndexes(tt.in); got != tt.want {
			t.Errorf("formatIndexes(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if got := parseIndexes(tt.want); !slices.Equal(got, tt.in) && len(tt.in) > 0 {
			t.Errorf("parseIndexes(%q) = %v, want %v", tt.want, got, tt.in)
		}
	}
}

func TestPodGenerateName(t *testing.T) {
	long := "a123456789b123456789c123456789d123456789e123456789f123456789" // 60
	tests := []struct {
		job   string
		index int
		want  string
	}{
		{"pi", -1, "pi-"},
		{"pi", 3, "pi-3-"},
		{long, -1, long[:58]},
		{long, 12, long[:54] + "-12-"},
	}
	for _, tt := range tests {
		if got := podGenerateName(tt.job, tt.index); got != tt.want {
			t.Errorf("podGenerateName(%q, %d) = %q, want %q", tt.job, tt.index, got, tt.want)
		}
	}
}

func TestAddCompletionIndexEnv(t *testing.T) {
	spec := manifest.PodSpec{
		InitContainers: []manifest.Container{{Name: "init"}},
		Containers: []manifest.Container{
			{Name: "a"},
			{Name: "b", Env: []manifest.EnvVar{{Name: "JOB_COMPLETION_INDEX", Value: "mine"}}},
		},
	}
	addCompletionIndexEnv(&spec)
	for _, c := range append(spec.InitContainers, spec.Containers[0]) {
		if len(c.Env) != 1 || c.Env[0].ValueFrom == nil ||
			c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("container %s env = %+v", c.Name, c.Env)
		}
	}
	if e := spec.Containers[1].Env; len(e) != 1 || e[0].Value != "mine" {
		t.Errorf("existing JOB_COMPLETION_INDEX overwritten: %+v", e)
	}
}

// jobSpec builds a defaulted Job for reconcileJob tests.
func testJob(mod func(*manifest.JobSpec)) *manifest.Job {
	j := &manifest.Job{
		TypeMeta:   manifest.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: manifest.ObjectMeta{Name: "j", Namespace: "default", UID: "uid"},
		Spec: manifest.JobSpec{Template: manifest.PodTemplateSpec{Spec: manifest.PodSpec{
			RestartPolicy: manifest.RestartPolicyNever,
			Containers:    []manifest.Container{{Name: "main", Image: "busybox"}},
		}}},
	}
	if mod != nil {
		mod(&j.Spec)
	}
	manifest.DefaultJobSpec(&j.Spec)
	j.Status.StartTime = manifest.NewTime(t0)
	return j
}

// tpod is a pod view for tests.
type tpod struct {
	name     string
	phase    string
	index    int
	exit     int32  // exit code of "main" when terminal
	failures int32  // job-index-failure-count
	kill     string // TerminateReason
	cond     string // an extra True pod condition
	at       time.Duration
	restarts int32
}

func views(ps ...tpod) []podView {
	var out []podView
	for _, p := range ps {
		pod := &manifest.Pod{ObjectMeta: manifest.ObjectMeta{Name: p.name, Namespace: "default",
			Annotations: map[string]string{}, CreationTimestamp: manifest.Time{Time: t0}}}
		if p.index >= 0 {
			pod.Annotations[AnnotationCompletionIndex] = strconv.Itoa(p.index)
			pod.Annotations[AnnotationIndexFailureCount] = strconv.Itoa(int(p.failures))
		}
		pod.Status.Phase = p.phase
		if runner.IsTerminalPhase(p.phase) {
			pod.Status.ContainerStatuses = []manifest.ContainerStatus{{Name: "main",
				State: manifest.ContainerState{Terminated: &manifest.StateTerminated{ExitCode: p.exit}}}}
		}
		if p.cond != "" {
			pod.Status.Conditions = append(pod.Status.Conditions, manifest.PodCondition{Type: p.cond, Status: "True"})
		}
		v := viewPod(pod, p.kill, []*runner.ContainerRecord{{Name: "main", RestartCount: p.restarts}})
		v.finishedAt = t0.Add(p.at)
		out = append(out, v)
	}
	return out
}

func conds(st manifest.JobStatus) []string {
	var out []string
	for _, c := range st.Conditions {
		out = append(out, c.Type+"="+c.Status+"/"+c.Reason+": "+c.Message)
	}
	return out
}

func creates(a jobActions) []int {
	var out []int
	for _, c := range a.create {
		out = append(out, c.index)
	}
	return out
}

func stops(a jobActions) []string {
	var out []string
	for _, s := range a.terminate {
		out = append(out, s.name+"/"+s.reason)
	}
	return out
}

func TestReconcileJob(t *testing.T) {
	pfp := func(rules ...manifest.PodFailurePolicyRule) func(*manifest.JobSpec) {
		return func(s *manifest.JobSpec) { s.PodFailurePolicy = &manifest.PodFailurePolicy{Rules: rules} }
	}
	exitIn := func(action string, codes ...int32) manifest.PodFailurePolicyRule {
		return manifest.PodFailurePolicyRule{Action: action, OnExitCodes: &manifest.PodFailurePolicyOnExitCodes{Operator: "In", Values: codes}}
	}
	indexed := func(completions, parallelism int32, mod func(*manifest.JobSpec)) func(*manifest.JobSpec) {
		return func(s *manifest.JobSpec) {
			s.CompletionMode = ptr(manifest.IndexedCompletion)
			s.Completions, s.Parallelism = ptr(completions), ptr(parallelism)
			if mod != nil {
				mod(s)
			}
		}
	}
	perIndex := func(limit int32, maxFailed *int32) func(*manifest.JobSpec) {
		return func(s *manifest.JobSpec) { s.BackoffLimitPerIndex, s.MaxFailedIndexes = ptr(limit), maxFailed }
	}
	tests := []struct {
		name       string
		spec       func(*manifest.JobSpec)
		pods       []podView
		now        time.Duration
		wantConds  []string
		wantCreate []int
		wantStop   []string
		wantWake   time.Duration
		check      func(t *testing.T, st manifest.JobStatus)
	}{
		{
			name: "FirstSyncCreatesOne", wantCreate: []int{-1},
		},
		{
			name: "Completions5Parallelism2",
			spec: func(s *manifest.JobSpec) { s.Completions, s.Parallelism = ptr(int32(5)), ptr(int32(2)) },
			pods: views(tpod{name: "a", phase: pS, index: -1}, tpod{name: "b", phase: pS, index: -1},
				tpod{name: "c", phase: pS, index: -1}, tpod{name: "d", phase: pR, index: -1}),
			wantCreate: []int{-1},
		},
		{
			name: "CompletionsReachedWaitsForNothing",
			spec: func(s *manifest.JobSpec) { s.Completions, s.Parallelism = ptr(int32(2)), ptr(int32(2)) },
			pods: views(tpod{name: "a", phase: pS, index: -1}, tpod{name: "b", phase: pS, index: -1}),
			wantConds: []string{
				"SuccessCriteriaMet=True/CompletionsReached: Reached expected number of succeeded pods",
				"Complete=True/CompletionsReached: Reached expected number of succeeded pods",
			},
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.CompletionTime == nil || st.Succeeded != 2 {
					t.Errorf("completionTime %v succeeded %d", st.CompletionTime, st.Succeeded)
				}
			},
		},
		{
			name: "WorkQueueFirstSuccessStopsCreation",
			spec: func(s *manifest.JobSpec) { s.Parallelism = ptr(int32(3)) },
			pods: views(tpod{name: "a", phase: pS, index: -1}, tpod{name: "b", phase: pR, index: -1}, tpod{name: "c", phase: pF, exit: 1, index: -1}),
		},
		{
			name: "WorkQueueCompleteWhenAllDone",
			spec: func(s *manifest.JobSpec) { s.Parallelism = ptr(int32(3)) },
			pods: views(tpod{name: "a", phase: pS, index: -1}, tpod{name: "b", phase: pS, index: -1}, tpod{name: "c", phase: pF, exit: 1, index: -1}),
			wantConds: []string{
				"SuccessCriteriaMet=True/CompletionsReached: Reached expected number of succeeded pods",
				"Complete=True/CompletionsReached: Reached expected number of succeeded pods",
			},
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.Succeeded != 2 || st.Failed != 1 {
					t.Errorf("succeeded %d failed %d", st.Succeeded, st.Failed)
				}
			},
		},
		{
			name:     "BackoffAfterOneFailure",
			pods:     views(tpod{name: "a", phase: pF, exit: 1, index: -1, at: time.Second}),
			now:      5 * time.Second,
			wantWake: 6 * time.Second,
		},
		{
			name:       "BackoffElapsed",
			pods:       views(tpod{name: "a", phase: pF, exit: 1, index: -1, at: time.Second}),
			now:        11 * time.Second,
			wantCreate: []int{-1},
		},
		{
			name:     "BackoffDoubles",
			pods:     views(tpod{name: "a", phase: pF, exit: 1, index: -1, at: time.Second}, tpod{name: "b", phase: pF, exit: 1, index: -1, at: 12 * time.Second}),
			now:      22 * time.Second,
			wantWake: 10 * time.Second,
		},
		{
			name: "BackoffLimitExceededStopsActive",
			spec: func(s *manifest.JobSpec) {
				s.BackoffLimit = ptr(int32(1))
				s.Parallelism = ptr(int32(2))
				s.Completions = ptr(int32(3))
			},
			pods: views(tpod{name: "a", phase: pF, exit: 1, index: -1}, tpod{name: "b", phase: pF, exit: 1, index: -1}, tpod{name: "c", phase: pR, index: -1}),
			wantConds: []string{
				"FailureTarget=True/BackoffLimitExceeded: Job has reached the specified backoff limit",
			},
			wantStop: []string{"c/JobDeleted"},
		},
		{
			name: "FailedOnceKilledPodsCounted",
			spec: func(s *manifest.JobSpec) { s.BackoffLimit = ptr(int32(1)) },
			pods: views(tpod{name: "a", phase: pF, exit: 1, index: -1}, tpod{name: "b", phase: pF, exit: 1, index: -1},
				tpod{name: "c", phase: pF, exit: 143, index: -1, kill: runner.TerminateJobDeleted}),
			wantConds: []string{
				"FailureTarget=True/BackoffLimitExceeded: Job has reached the specified backoff limit",
				"Failed=True/BackoffLimitExceeded: Job has reached the specified backoff limit",
			},
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.Failed != 3 || st.CompletionTime != nil {
					t.Errorf("failed %d completionTime %v", st.Failed, st.CompletionTime)
				}
			},
		},
		{
			name: "OnFailureRestartsCount",
			spec: func(s *manifest.JobSpec) {
				s.BackoffLimit = ptr(int32(2))
				s.Template.Spec.RestartPolicy = manifest.RestartPolicyOnFailure
			},
			pods:      views(tpod{name: "a", phase: pR, index: -1, restarts: 2}),
			wantConds: []string{"FailureTarget=True/BackoffLimitExceeded: Job has reached the specified backoff limit"},
			wantStop:  []string{"a/JobDeleted"},
		},
		{
			name: "OnFailureBelowLimit",
			spec: func(s *manifest.JobSpec) {
				s.BackoffLimit = ptr(int32(2))
				s.Template.Spec.RestartPolicy = manifest.RestartPolicyOnFailure
			},
			pods: views(tpod{name: "a", phase: pR, index: -1, restarts: 1}),
		},
		{
			name: "TerminatingCountsAsFailedAndIsReplaced",
			spec: func(s *manifest.JobSpec) { s.Parallelism = ptr(int32(1)) },
			pods: views(tpod{name: "a", phase: pR, index: -1, kill: "Killed"}),
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.Failed != 1 || *st.Terminating != 1 || st.Active != 0 {
					t.Errorf("failed %d terminating %d active %d", st.Failed, *st.Terminating, st.Active)
				}
			},
			wantWake: 10 * time.Second,
		},
		{
			name: "PodReplacementPolicyFailedWaits",
			spec: func(s *manifest.JobSpec) { s.PodReplacementPolicy = ptr(manifest.ReplaceFailed) },
			pods: views(tpod{name: "a", phase: pR, index: -1, kill: "Killed"}),
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.Failed != 0 || *st.Terminating != 1 {
					t.Errorf("failed %d terminating %d", st.Failed, *st.Terminating)
				}
			},
		},
		{
			name: "DeadlineExceeded",
			spec: func(s *manifest.JobSpec) { s.ActiveDeadlineSeconds = ptr(int64(30)) },
			pods: views(tpod{name: "a", phase: pR, index: -1}),
			now:  30 * time.Second,
			wantConds: []string{
				"FailureTarget=True/DeadlineExceeded: Job was active longer than specified deadline",
			},
			wantStop: []string{"a/JobDeleted"},
		},
		{
			name:     "DeadlineWakes",
			spec:     func(s *manifest.JobSpec) { s.ActiveDeadlineSeconds = ptr(int64(30)) },
			pods:     views(tpod{name: "a", phase: pR, index: -1}),
			now:      12 * time.Second,
			wantWake: 18 * time.Second,
		},
		{
			name: "PodFailurePolicyFailJob",
			spec: pfp(exitIn("FailJob", 42)),
			pods: views(tpod{name: "j-abcde", phase: pF, exit: 42, index: -1}),
			wantConds: []string{
				"FailureTarget=True/PodFailurePolicy: Container main for pod default/j-abcde failed with exit code 42 matching FailJob rule at index 0",
				"Failed=True/PodFailurePolicy: Container main for pod default/j-abcde failed with exit code 42 matching FailJob rule at index 0",
			},
		},
		{
			name:       "PodFailurePolicyCountNoMatch",
			spec:       pfp(exitIn("FailJob", 42)),
			pods:       views(tpod{name: "a", phase: pF, exit: 1, index: -1}),
			now:        time.Minute,
			wantCreate: []int{-1},
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.Failed != 1 {
					t.Errorf("failed %d", st.Failed)
				}
			},
		},
		{
			name:       "PodFailurePolicyIgnoreDisruption",
			spec:       pfp(manifest.PodFailurePolicyRule{Action: "Ignore", OnPodConditions: []manifest.PodFailurePolicyOnCondition{{Type: "DisruptionTarget"}}}),
			pods:       views(tpod{name: "a", phase: pF, exit: 143, index: -1, cond: "DisruptionTarget"}),
			wantCreate: []int{-1}, // no back-off: the failure is not counted
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.Failed != 0 {
					t.Errorf("failed %d, want 0 (ignored)", st.Failed)
				}
			},
		},
		{
			name: "PodFailurePolicyFailJobOnCondition",
			spec: pfp(manifest.PodFailurePolicyRule{Action: "FailJob", OnPodConditions: []manifest.PodFailurePolicyOnCondition{{Type: "DisruptionTarget", Status: "True"}}}),
			pods: views(tpod{name: "a", phase: pF, exit: 143, index: -1, cond: "DisruptionTarget"}),
			wantConds: []string{
				"FailureTarget=True/PodFailurePolicy: Pod default/a has condition DisruptionTarget matching FailJob rule at index 0",
				"Failed=True/PodFailurePolicy: Pod default/a has condition DisruptionTarget matching FailJob rule at index 0",
			},
		},
		{
			name: "PodFailurePolicyExitZeroNeverMatches",
			spec: pfp(manifest.PodFailurePolicyRule{Action: "FailJob", OnExitCodes: &manifest.PodFailurePolicyOnExitCodes{Operator: "NotIn", Values: []int32{1}}}),
			pods: views(tpod{name: "a", phase: pF, exit: 0, index: -1}),
			now:  time.Minute, wantCreate: []int{-1},
		},
		{
			name:       "IndexedLowestFreeFirst",
			spec:       indexed(5, 2, nil),
			pods:       views(tpod{name: "a", phase: pS, index: 0}, tpod{name: "b", phase: pR, index: 2}),
			wantCreate: []int{1},
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.CompletedIndexes != "0" || st.Succeeded != 1 || st.FailedIndexes != nil {
					t.Errorf("completedIndexes %q succeeded %d failedIndexes %v", st.CompletedIndexes, st.Succeeded, st.FailedIndexes)
				}
			},
		},
		{
			name: "IndexedComplete",
			spec: indexed(3, 3, nil),
			pods: views(tpod{name: "a", phase: pS, index: 0}, tpod{name: "b", phase: pS, index: 1}, tpod{name: "c", phase: pF, exit: 1, index: 2}, tpod{name: "d", phase: pS, index: 2}),
			wantConds: []string{
				"SuccessCriteriaMet=True/CompletionsReached: Reached expected number of succeeded pods",
				"Complete=True/CompletionsReached: Reached expected number of succeeded pods",
			},
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.CompletedIndexes != "0-2" || st.Succeeded != 3 || st.Failed != 1 {
					t.Errorf("completedIndexes %q succeeded %d failed %d", st.CompletedIndexes, st.Succeeded, st.Failed)
				}
			},
		},
		{
			name:       "PerIndexBackoffSkipsIndex",
			spec:       indexed(4, 2, perIndex(1, nil)),
			pods:       views(tpod{name: "a", phase: pF, exit: 1, index: 0, at: 2 * time.Second}, tpod{name: "b", phase: pS, index: 1}),
			now:        4 * time.Second,
			wantCreate: []int{2, 3},
			wantWake:   8 * time.Second,
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.FailedIndexes == nil || *st.FailedIndexes != "" {
					t.Errorf("failedIndexes %v, want \"\"", st.FailedIndexes)
				}
			},
		},
		{
			name:       "PerIndexRetryCarriesFailureCount",
			spec:       indexed(2, 2, perIndex(1, nil)),
			pods:       views(tpod{name: "a", phase: pF, exit: 1, index: 0, at: 2 * time.Second}, tpod{name: "b", phase: pR, index: 1}),
			now:        12 * time.Second,
			wantCreate: []int{0},
		},
		{
			name: "PerIndexIndexFailsOthersContinue",
			spec: indexed(4, 2, perIndex(1, nil)),
			pods: views(tpod{name: "a", phase: pF, exit: 1, index: 0}, tpod{name: "b", phase: pF, exit: 1, index: 0, failures: 1},
				tpod{name: "c", phase: pS, index: 1}),
			now:        time.Hour,
			wantCreate: []int{2, 3},
			check: func(t *testing.T, st manifest.JobStatus) {
				if *st.FailedIndexes != "0" || st.CompletedIndexes != "1" || st.Failed != 2 {
					t.Errorf("failedIndexes %q completedIndexes %q failed %d", *st.FailedIndexes, st.CompletedIndexes, st.Failed)
				}
			},
		},
		{
			name: "PerIndexFailedIndexes",
			spec: indexed(4, 2, perIndex(1, nil)),
			pods: views(tpod{name: "a", phase: pF, exit: 1, index: 0}, tpod{name: "b", phase: pF, exit: 1, index: 0, failures: 1},
				tpod{name: "c", phase: pS, index: 1}, tpod{name: "d", phase: pF, exit: 1, index: 2}, tpod{name: "e", phase: pF, exit: 1, index: 2, failures: 1},
				tpod{name: "f", phase: pS, index: 3}),
			wantConds: []string{
				"FailureTarget=True/FailedIndexes: Job has failed indexes",
				"Failed=True/FailedIndexes: Job has failed indexes",
			},
			check: func(t *testing.T, st manifest.JobStatus) {
				if *st.FailedIndexes != "0,2" || st.CompletedIndexes != "1,3" || st.Failed != 4 || st.Succeeded != 2 {
					t.Errorf("failedIndexes %q completedIndexes %q failed %d succeeded %d", *st.FailedIndexes, st.CompletedIndexes, st.Failed, st.Succeeded)
				}
			},
		},
		{
			name: "MaxFailedIndexesExceeded",
			spec: indexed(5, 3, perIndex(0, ptr(int32(1)))),
			pods: views(tpod{name: "a", phase: pF, exit: 1, index: 0}, tpod{name: "b", phase: pF, exit: 1, index: 1}, tpod{name: "c", phase: pR, index: 2}),
			wantConds: []string{
				"FailureTarget=True/MaxFailedIndexesExceeded: Job has exceeded the specified maximal number of failed indexes",
			},
			wantStop: []string{"c/JobDeleted"},
		},
		{
			name: "PodFailurePolicyFailIndex",
			spec: indexed(3, 3, func(s *manifest.JobSpec) {
				perIndex(5, nil)(s)
				pfp(exitIn("FailIndex", 3))(s)
			}),
			pods: views(tpod{name: "a", phase: pF, exit: 3, index: 0}, tpod{name: "b", phase: pR, index: 1}, tpod{name: "c", phase: pR, index: 2}),
			check: func(t *testing.T, st manifest.JobStatus) {
				if *st.FailedIndexes != "0" {
					t.Errorf("failedIndexes %q, want 0", *st.FailedIndexes)
				}
			},
		},
		{
			name: "SuccessPolicyIndexes",
			spec: indexed(5, 5, func(s *manifest.JobSpec) {
				s.SuccessPolicy = &manifest.SuccessPolicy{Rules: []manifest.SuccessPolicyRule{
					{SucceededIndexes: ptr("0-1"), SucceededCount: ptr(int32(2))},
					{SucceededIndexes: ptr("3")},
				}}
			}),
			pods: views(tpod{name: "a", phase: pR, index: 0}, tpod{name: "b", phase: pR, index: 1}, tpod{name: "c", phase: pR, index: 2},
				tpod{name: "d", phase: pS, index: 3}, tpod{name: "e", phase: pR, index: 4}),
			wantConds: []string{"SuccessCriteriaMet=True/SuccessPolicy: Matched rules at index 1"},
			wantStop:  []string{"a/JobSucceeded", "b/JobSucceeded", "c/JobSucceeded", "e/JobSucceeded"},
		},
		{
			name: "SuccessPolicyLingeringKilledNotFailed",
			spec: indexed(3, 3, func(s *manifest.JobSpec) {
				s.SuccessPolicy = &manifest.SuccessPolicy{Rules: []manifest.SuccessPolicyRule{{SucceededCount: ptr(int32(1))}}}
			}),
			pods: views(tpod{name: "a", phase: pS, index: 0}, tpod{name: "b", phase: pF, exit: 143, index: 1, kill: runner.TerminateJobSucceeded},
				tpod{name: "c", phase: pF, exit: 143, index: 2, kill: runner.TerminateJobSucceeded}),
			wantConds: []string{
				"SuccessCriteriaMet=True/SuccessPolicy: Matched rules at index 0",
				"Complete=True/SuccessPolicy: Matched rules at index 0",
			},
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.Failed != 0 || st.Succeeded != 1 || st.CompletedIndexes != "0" {
					t.Errorf("failed %d succeeded %d completedIndexes %q", st.Failed, st.Succeeded, st.CompletedIndexes)
				}
			},
		},
		{
			name: "SuspendStopsActiveUncounted",
			spec: func(s *manifest.JobSpec) {
				s.Suspend = ptr(true)
				s.Parallelism = ptr(int32(2))
				s.Completions = ptr(int32(4))
			},
			pods:      views(tpod{name: "a", phase: pR, index: -1}, tpod{name: "b", phase: pF, exit: 143, index: -1, kill: runner.TerminateJobSuspended}),
			wantConds: []string{"Suspended=True/JobSuspended: Job suspended"},
			wantStop:  []string{"a/JobSuspended"},
			check: func(t *testing.T, st manifest.JobStatus) {
				if st.Failed != 0 {
					t.Errorf("failed %d, want 0", st.Failed)
				}
			},
		},
		{
			name:      "SuspendedNoDeadline",
			spec:      func(s *manifest.JobSpec) { s.Suspend = ptr(true); s.ActiveDeadlineSeconds = ptr(int64(1)) },
			now:       time.Hour,
			wantConds: []string{"Suspended=True/JobSuspended: Job suspended"},
		},
		{
			name:       "ScaleDownStopsExcess",
			spec:       func(s *manifest.JobSpec) { s.Parallelism = ptr(int32(1)); s.Completions = ptr(int32(5)) },
			pods:       views(tpod{name: "a", phase: pR, index: -1}, tpod{name: "b", phase: pP, index: -1}),
			wantStop:   []string{"b/JobDeleted"},
			wantCreate: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := testJob(tt.spec)
			st, acts, wake := reconcileJob(job, tt.pods, t0.Add(tt.now))
			if got := conds(st); !slices.Equal(got, tt.wantConds) {
				t.Errorf("conditions = %q, want %q", got, tt.wantConds)
			}
			if got := creates(acts); !slices.Equal(got, tt.wantCreate) {
				t.Errorf("create = %v, want %v", got, tt.wantCreate)
			}
			if got := stops(acts); !slices.Equal(got, tt.wantStop) {
				t.Errorf("terminate = %v, want %v", got, tt.wantStop)
			}
			if wake != tt.wantWake {
				t.Errorf("requeue = %v, want %v", wake, tt.wantWake)
			}
			if tt.check != nil {
				tt.check(t, st)
			}
		})
	}
}

func TestReconcileJobPerIndexAnnotations(t *testing.T) {
	job := testJob(func(s *manifest.JobSpec) {
		s.CompletionMode = ptr(manifest.IndexedCompletion)
		s.Completions, s.Parallelism, s.BackoffLimitPerIndex = ptr(int32(2)), ptr(int32(2)), ptr(int32(3))
		s.PodFailurePolicy = &manifest.PodFailurePolicy{Rules: []manifest.PodFailurePolicyRule{
			{Action: "Ignore", OnExitCodes: &manifest.PodFailurePolicyOnExitCodes{Operator: "In", Values: []int32{7}}},
		}}
	})
	pods := views(tpod{name: "a", phase: pF, exit: 1, index: 1}, tpod{name: "b", phase: pF, exit: 7, index: 1, failures: 1}, tpod{name: "c", phase: pR, index: 0})
	_, acts, _ := reconcileJob(job, pods, t0.Add(time.Hour))
	if len(acts.create) != 1 || acts.create[0] != (podToCreate{index: 1, failures: 1, ignore: 1}) {
		t.Errorf("create = %+v, want index 1 with 1 failure and 1 ignored", acts.create)
	}
}

const (
	pP = manifest.PodPending
	pR = manifest.PodRunning
	pS = manifest.PodSucceeded
	pF = manifest.PodFailed
)

func TestReconcileJobResume(t *testing.T) {
	job := testJob(func(s *manifest.JobSpec) { s.Suspend = ptr(true) })
	job.Status.StartTime = nil
	st, acts, _ := reconcileJob(job, nil, t0)
	if st.StartTime != nil || len(acts.create) != 0 {
		t.Fatalf("suspended at creation: startTime %v create %v", st.StartTime, acts.create)
	}
	if len(acts.events) != 1 || acts.events[0].reason != "Suspended" {
		t.Errorf("events = %+v", acts.events)
	}
	job.Status = st
	job.Spec.Suspend = ptr(false)
	st, acts, _ = reconcileJob(job, nil, t0.Add(time.Minute))
	if got := conds(st); !slices.Equal(got, []string{"Suspended=False/JobResumed: Job resumed"}) {
		t.Errorf("conditions = %q", got)
	}
	if st.StartTime == nil || !st.StartTime.Equal(t0.Add(time.Minute)) {
		t.Errorf("startTime = %v, want the resume time", st.StartTime)
	}
	if len(acts.create) != 1 || len(acts.events) != 1 || acts.events[0].reason != "Resumed" {
		t.Errorf("create %v events %+v", acts.create, acts.events)
	}
}
