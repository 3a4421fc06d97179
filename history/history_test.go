package history_test

import (
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func pod(name string, created time.Duration, phase string, exit int32, reason string) *runner.PodRecord {
	yes := true
	return &runner.PodRecord{
		Pod: manifest.Pod{ObjectMeta: manifest.ObjectMeta{Name: name, UID: "uid-" + name, Namespace: "default",
			CreationTimestamp: manifest.Time{Time: t0.Add(created)},
			OwnerReferences:   []manifest.OwnerReference{{Kind: "Job", Name: "backup-1", UID: "job-uid", Controller: &yes}}},
			Status: manifest.PodStatus{Phase: phase}},
		Containers: []*runner.ContainerRecord{{Name: "main", Current: &runner.Run{Step: runner.StepExited, ExitCode: exit, Reason: reason,
			StartedAt: t0.Add(created + time.Second), FinishedAt: t0.Add(created + 5*time.Second)}}},
	}
}

// TestFromJob: a failed CronJob run with two attempts: owner, scheduled
// time, start from the first container, outcome and reason from the Job's
// condition, exit code and log tail from the last attempt.
func TestFromJob(t *testing.T) {
	yes := true
	j := &manifest.Job{
		ObjectMeta: manifest.ObjectMeta{Name: "backup-1", Namespace: "default", UID: "job-uid", CreationTimestamp: manifest.Time{Time: t0},
			Annotations:     map[string]string{history.ScheduledTimestamp: "2026-03-01T03:00:00Z"},
			OwnerReferences: []manifest.OwnerReference{{Kind: "CronJob", Name: "backup", Controller: &yes}}},
		Status: manifest.JobStatus{Failed: 2, Conditions: []manifest.JobCondition{{Type: manifest.JobFailed, Status: "True",
			Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: manifest.Time{Time: t0.Add(time.Minute)}}}},
	}
	pods := []*runner.PodRecord{pod("b", 20*time.Second, manifest.PodFailed, 3, "Error"), pod("a", 0, manifest.PodFailed, 1, "Error")}
	tail := func(rec *runner.PodRecord, c string) string {
		return strings.Repeat("x", 3000) + "\nlast line of " + rec.Pod.Name + "\n"
	}
	r := history.FromJob(j, pods, tail, t0.Add(time.Hour))
	if r.CronJob != "backup" || r.Owner() != "cronjob/backup" || !r.Scheduled.Equal(t0) || r.Outcome != "Failed" || r.Reason != "BackoffLimitExceeded" {
		t.Errorf("run %+v", r)
	}
	if !r.Started.Equal(t0.Add(time.Second)) || r.Duration() != 59*time.Second {
		t.Errorf("started %v, duration %v", r.Started, r.Duration())
	}
	if r.AttemptCount != 2 || r.Attempts[0].Pod != "a" || r.Attempts[1].Pod != "b" {
		t.Errorf("attempts %+v, want a then b", r.Attempts)
	}
	if r.ExitCode == nil || *r.ExitCode != 3 {
		t.Errorf("exit code %v, want the last attempt's 3", r.ExitCode)
	}
	if got := r.LastAttempt().LogTail; got != "last line of b\n" {
		t.Errorf("log tail %q: want the end, cut at a line, ≤ %d bytes", got, history.LogTailMax)
	}
	// Deleted unfinished.
	j.Status.Conditions = nil
	if r := history.FromJob(j, nil, nil, t0.Add(time.Hour)); r.Outcome != history.OutcomeDeleted || !r.Finished.Equal(t0.Add(time.Hour)) {
		t.Errorf("unfinished: %+v", r)
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"aaaa\nbbbb\n", 7, "bbbb\n"},
		{"aaaaaaaaaa", 4, "aaaa"},
		{"ééééé", 5, "éé"},
	}
	for _, tt := range tests {
		if got := history.Tail(tt.in, tt.max); got != tt.want {
			t.Errorf("Tail(%q, %d) got %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestTargetWants(t *testing.T) {
	tests := []struct {
		t       history.Target
		outcome string
		want    bool
	}{
		{history.Target{URL: "http://h/", On: "failure"}, history.OutcomeFailed, true},
		{history.Target{URL: "http://h/", On: "failure"}, history.OutcomeComplete, false},
		{history.Target{URL: "http://h/", On: "always"}, history.OutcomeComplete, true},
		{history.Target{URL: "http://h/", On: "always"}, history.OutcomeDeleted, false},
		{history.Target{URL: "http://h/", On: "never"}, history.OutcomeFailed, false},
		{history.Target{On: "always"}, history.OutcomeFailed, false},
	}
	for _, tt := range tests {
		if got := tt.t.Wants(tt.outcome); got != tt.want {
			t.Errorf("%+v.Wants(%s) got %v, want %v", tt.t, tt.outcome, got, tt.want)
		}
	}
}
