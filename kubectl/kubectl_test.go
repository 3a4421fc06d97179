package kubectl

import (
	"testing"

	"github.com/localjobs/localjobs/manifest"
)

func TestJobColumns(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	cond := func(typ string) []manifest.JobCondition {
		return []manifest.JobCondition{{Type: typ, Status: "True"}}
	}
	tests := []struct {
		name                string
		job                 manifest.Job
		status, completions string
	}{
		{"running", manifest.Job{}, "Running", "0/1"},
		{"complete", manifest.Job{Spec: manifest.JobSpec{Completions: i32(3)}, Status: manifest.JobStatus{Succeeded: 3, Conditions: cond(manifest.JobComplete)}}, "Complete", "3/3"},
		{"failed", manifest.Job{Status: manifest.JobStatus{Conditions: cond(manifest.JobFailed)}}, "Failed", "0/1"},
		{"suspended", manifest.Job{Status: manifest.JobStatus{Conditions: cond(manifest.JobSuspended)}}, "Suspended", "0/1"},
		{"failure target", manifest.Job{Status: manifest.JobStatus{Conditions: cond(manifest.JobFailureTarget)}}, "FailureTarget", "0/1"},
		{"terminating", manifest.Job{ObjectMeta: manifest.ObjectMeta{DeletionTimestamp: &manifest.Time{}}}, "Terminating", "0/1"},
		{"work queue", manifest.Job{Spec: manifest.JobSpec{Parallelism: i32(4)}, Status: manifest.JobStatus{Succeeded: 1}}, "Running", "1/1 of 4"},
		{"condition not true", manifest.Job{Status: manifest.JobStatus{Conditions: []manifest.JobCondition{{Type: manifest.JobComplete, Status: "False"}}}}, "Running", "0/1"},
	}
	for _, tt := range tests {
		if got := JobStatus(&tt.job); got != tt.status {
			t.Errorf("%s: JobStatus = %q, want %q", tt.name, got, tt.status)
		}
		if got := JobCompletions(&tt.job); got != tt.completions {
			t.Errorf("%s: JobCompletions = %q, want %q", tt.name, got, tt.completions)
		}
	}
}
