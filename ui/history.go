package ui

import (
	"context"
	"sort"
	"time"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/kubectl"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/schedule"
)

// Run is one run of a CronJob: one Job it started (or a manual Job made
// from it), as the run history records it.
type Run struct {
	// Namespace and Owner name the CronJob; Job is the Job of this run.
	Namespace, Owner, Job string
	// Scheduled is the time the schedule fired for it; zero for a run
	// that no slot asked for (create job --from, run-on-start).
	Scheduled time.Time
	// Start and End bound the run; End is zero while it runs.
	Start, End time.Time
	// Outcome is "Complete", "Failed" or "Running"; Reason the Job's
	// reason for it (BackoffLimitExceeded, DeadlineExceeded, …).
	Outcome, Reason string
	// ExitCode is the exit code of the failing container of a Failed
	// run (0 for a Complete one); nil when not known.
	ExitCode *int32
}

// Outcomes of a Run.
const (
	OutcomeComplete = "Complete"
	OutcomeFailed   = "Failed"
	OutcomeRunning  = "Running"
)

// Duration is how long the run took, or has taken so far at now.
func (r Run) Duration(now time.Time) time.Duration {
	if r.Start.IsZero() {
		return 0
	}
	if r.End.IsZero() {
		return now.Sub(r.Start)
	}
	return r.End.Sub(r.Start)
}

// JobHistory gives a Reader the History method from the Jobs that still
// exist: each Job a CronJob controls is a run (start and completion times,
// Complete or Failed, the failing container's exit code from its pods).
// Jobs deleted by the CronJob's history limits are gone from it; the
// daemon's own run history, once its API has one, keeps them.
type JobHistory struct{ Reader }

var _ API = JobHistory{}

// History implements API: the runs of CronJob owner in ns (owner "":
// of every CronJob; ns "": in every namespace), oldest first.
func (h JobHistory) History(ctx context.Context, ns, owner string) ([]Run, error) {
	jobs, err := h.Jobs(ctx, ns)
	if err != nil {
		return nil, err
	}
	var runs []Run
	for _, j := range jobs {
		if !ofCronJob(j, owner) {
			continue
		}
		r := runOf(j)
		if r.Outcome == OutcomeFailed {
			r.ExitCode = h.failedExitCode(ctx, j)
		}
		runs = append(runs, r)
	}
	sortRuns(runs)
	return runs, nil
}

// ofCronJob reports whether a CronJob controls j: CronJob owner, or any one
// when owner is "".
func ofCronJob(j *manifest.Job, owner string) bool {
	o := history.CronJobOwner(j)
	return o != "" && (owner == "" || o == owner)
}

// runOf is the Run a Job is (without a Failed run's exit code).
func runOf(j *manifest.Job) Run {
	r := Run{Namespace: j.Namespace, Owner: history.CronJobOwner(j), Job: j.Name}
	r.Start, r.End = jobTimes(j)
	if r.Start.IsZero() {
		r.Start = j.CreationTimestamp.Time
	}
	if s := j.Annotations[schedule.AnnotationScheduledTimestamp]; s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			r.Scheduled = t
		}
	}
	switch c := kubectl.JobCondition(j, manifest.JobComplete); {
	case c != nil:
		r.Outcome, r.Reason = OutcomeComplete, c.Reason
		r.ExitCode = new(int32)
	case kubectl.JobCondition(j, manifest.JobFailed) != nil:
		r.Outcome, r.Reason = OutcomeFailed, kubectl.JobCondition(j, manifest.JobFailed).Reason
	default:
		r.Outcome, r.End = OutcomeRunning, time.Time{}
	}
	return r
}

// failedExitCode is the exit code of the last container of j's pods that
// failed with one, or nil.
func (h JobHistory) failedExitCode(ctx context.Context, j *manifest.Job) *int32 {
	pods, err := h.PodsOfJob(ctx, j.Namespace, j.Name)
	if err != nil {
		return nil
	}
	var code *int32
	var last time.Time
	for _, p := range pods {
		for _, cs := range append(append([]manifest.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			t := cs.State.Terminated
			if t == nil || t.ExitCode == 0 || t.FinishedAt.Before(last) {
				continue
			}
			last, code = t.FinishedAt.Time, &t.ExitCode
		}
	}
	return code
}

func sortRuns(runs []Run) {
	sort.SliceStable(runs, func(a, b int) bool {
		if !runs[a].Start.Equal(runs[b].Start) {
			return runs[a].Start.Before(runs[b].Start)
		}
		return runs[a].Job < runs[b].Job
	})
}

// jobOf is the name of the Job controlling pod, or "".
func jobOf(p *manifest.Pod) string {
	if o := p.ControllerRef(manifest.KindJob); o != nil {
		return o.Name
	}
	return ""
}

// RecordedHistory gives a Reader the History method from the daemon's run
// history (which keeps runs after history limits and TTLs deleted their
// Jobs), plus the runs of Jobs that have not finished yet.
type RecordedHistory struct{ *localapi.Client }

var _ API = RecordedHistory{}

// History implements API: the runs of CronJob owner in ns (owner "":
// of every CronJob; ns "": in every namespace), oldest first.
func (h RecordedHistory) History(ctx context.Context, ns, owner string) ([]Run, error) {
	q := localapi.HistoryQuery{Namespace: ns}
	if owner != "" && ns != "" {
		q.Kind, q.Name = "cronjob", owner
	}
	recs, err := h.Client.History(ctx, q)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var runs []Run
	for _, r := range recs {
		if r.CronJob == "" || owner != "" && r.CronJob != owner || ns != "" && r.Namespace != ns {
			continue
		}
		seen[r.Namespace+"/"+r.Job] = true
		runs = append(runs, Run{Namespace: r.Namespace, Owner: r.CronJob, Job: r.Job, Scheduled: r.Scheduled,
			Start: r.Started, End: r.Finished, Outcome: r.Outcome, Reason: r.Reason, ExitCode: r.ExitCode})
	}
	// Runs still going have no record yet: the Jobs show them. (Not
	// JobHistory's runs: it reads the pods of every failed Job for its
	// exit code, and those runs are recorded.)
	jobs, err := h.Client.Jobs(ctx, ns)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if !ofCronJob(j, owner) {
			continue
		}
		if r := runOf(j); r.Outcome == OutcomeRunning && !seen[r.Namespace+"/"+r.Job] {
			runs = append(runs, r)
		}
	}
	sortRuns(runs)
	return runs, nil
}

// jobTimes are a Job's start and end (zero while it runs); a Failed Job
// has no completionTime, so its end is when it got the Failed condition.
func jobTimes(j *manifest.Job) (start, end time.Time) {
	if j.Status.StartTime != nil {
		start = j.Status.StartTime.Time
	}
	switch {
	case j.Status.CompletionTime != nil:
		end = j.Status.CompletionTime.Time
	case kubectl.JobCondition(j, manifest.JobFailed) != nil:
		end = kubectl.JobCondition(j, manifest.JobFailed).LastTransitionTime.Time
	}
	return start, end
}
