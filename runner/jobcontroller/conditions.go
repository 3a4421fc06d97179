package jobcontroller

import (
	"fmt"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Job condition reasons and messages, as the Kubernetes job controller
// writes them (reference §2.8).
const (
	reasonBackoffLimitExceeded     = "BackoffLimitExceeded"
	msgBackoffLimitExceeded        = "Job has reached the specified backoff limit"
	reasonDeadlineExceeded         = "DeadlineExceeded"
	msgDeadlineExceeded            = "Job was active longer than specified deadline"
	reasonCompletionsReached       = "CompletionsReached"
	msgCompletionsReached          = "Reached expected number of succeeded pods"
	reasonPodFailurePolicy         = "PodFailurePolicy"
	reasonMaxFailedIndexesExceeded = "MaxFailedIndexesExceeded"
	msgMaxFailedIndexesExceeded    = "Job has exceeded the specified maximal number of failed indexes"
	reasonFailedIndexes            = "FailedIndexes"
	msgFailedIndexes               = "Job has failed indexes"
	reasonSuccessPolicy            = "SuccessPolicy"
	reasonJobSuspended             = "JobSuspended"
	msgJobSuspended                = "Job suspended"
	reasonJobResumed               = "JobResumed"
	msgJobResumed                  = "Job resumed"
)

// conditionsResult is what updateConditions decides besides the status.
type conditionsResult struct {
	events []jobEvent
	// stopAll, when set, is the reason to stop every active pod with
	// instead of managing the pods: the Job is failing, succeeding or
	// suspended.
	stopAll string
	// wake is when activeDeadlineSeconds runs out (0 = no deadline).
	wake time.Duration
}

// updateConditions is stage 2 of reconcileJob, in the controller's order
// of precedence (§2.5). Unless the Job is already finishing, it sets
// Suspended (True, or False on resume, which restarts the
// activeDeadlineSeconds clock) and decides FailureTarget or
// SuccessCriteriaMet from the counts. A Job with FailureTarget or
// SuccessCriteriaMet stops its active pods and gets Failed or Complete
// once none is left running or terminating; a suspended Job stops them.
func updateConditions(st *manifest.JobStatus, spec *manifest.JobSpec, m jobMode, c *podCounts, now time.Time) conditionsResult {
	var r conditionsResult
	finishing := runner.JobCondition(st, manifest.JobFailureTarget) != nil || runner.JobCondition(st, manifest.JobSuccessCriteriaMet) != nil
	if !finishing {
		r.events = suspendCondition(st, m.suspended, now)
		r.wake = targetCondition(st, spec, m, c, now)
	}
	idle := c.active == 0 && c.terminating == 0
	if ft := runner.JobCondition(st, manifest.JobFailureTarget); ft != nil {
		r.stopAll = runner.TerminateJobDeleted
		if idle {
			addCondition(st, manifest.JobFailed, ft.Reason, ft.Message, now)
			r.events = append(r.events, jobEvent{"Warning", ft.Reason, ft.Message})
		}
		return r
	}
	if sc := runner.JobCondition(st, manifest.JobSuccessCriteriaMet); sc != nil {
		r.stopAll = runner.TerminateJobSucceeded
		if idle {
			addCondition(st, manifest.JobComplete, sc.Reason, sc.Message, now)
			st.CompletionTime = manifest.NewTime(now)
			r.events = append(r.events, jobEvent{"Normal", "Completed", "Job completed"})
		}
		return r
	}
	if m.suspended {
		r.stopAll = runner.TerminateJobSuspended
	}
	return r
}

// suspendCondition keeps the Suspended condition in line with
// spec.suspend and starts the Job's clock (startTime) when it runs: at
// creation, and again on resume, since activeDeadlineSeconds counts
// continuous activity. It returns the Suspended or Resumed event.
func suspendCondition(st *manifest.JobStatus, suspended bool, now time.Time) []jobEvent {
	if suspended {
		if ensureCondition(st, manifest.JobSuspended, "True", reasonJobSuspended, msgJobSuspended, now) {
			return []jobEvent{{"Normal", "Suspended", msgJobSuspended}}
		}
		return nil
	}
	var events []jobEvent
	if ensureCondition(st, manifest.JobSuspended, "False", reasonJobResumed, msgJobResumed, now) {
		events = append(events, jobEvent{"Normal", "Resumed", msgJobResumed})
		st.StartTime = manifest.NewTime(now)
	}
	if st.StartTime == nil {
		st.StartTime = manifest.NewTime(now)
	}
	return events
}

// targetCondition adds FailureTarget or SuccessCriteriaMet when the counts
// call for it, the first that applies of: a podFailurePolicy FailJob, the
// backoffLimit (failed pods, or restarts under OnFailure), the
// activeDeadlineSeconds, maxFailedIndexes, failed indexes with every index
// done, a successPolicy rule, the completions. It returns how long the
// deadline has to run (0 = none).
func targetCondition(st *manifest.JobStatus, spec *manifest.JobSpec, m jobMode, c *podCounts, now time.Time) time.Duration {
	backoffLimit := deref32(spec.BackoffLimit, 6)
	onFailure := spec.Template.Spec.RestartPolicy == manifest.RestartPolicyOnFailure
	var deadline time.Time
	if ads := spec.ActiveDeadlineSeconds; ads != nil && !m.suspended && st.StartTime != nil {
		deadline = st.StartTime.Add(time.Duration(*ads) * time.Second)
	}
	rule := -1
	if m.indexed {
		rule = matchSuccessPolicy(spec.SuccessPolicy, c.succeededIdx)
	}
	failedIdx := int32(len(c.failedIdx))
	switch {
	case c.failJobMsg != "":
		addCondition(st, manifest.JobFailureTarget, reasonPodFailurePolicy, c.failJobMsg, now)
	case !onFailure && c.failed > backoffLimit,
		onFailure && (backoffLimit > 0 && c.restarts >= backoffLimit || backoffLimit == 0 && c.restarts > 0):
		addCondition(st, manifest.JobFailureTarget, reasonBackoffLimitExceeded, msgBackoffLimitExceeded, now)
	case !deadline.IsZero() && !now.Before(deadline):
		addCondition(st, manifest.JobFailureTarget, reasonDeadlineExceeded, msgDeadlineExceeded, now)
	case m.perIndex && spec.MaxFailedIndexes != nil && failedIdx > *spec.MaxFailedIndexes:
		addCondition(st, manifest.JobFailureTarget, reasonMaxFailedIndexesExceeded, msgMaxFailedIndexesExceeded, now)
	case m.perIndex && failedIdx > 0 && failedIdx+int32(len(c.succeededIdx)) >= m.completions:
		addCondition(st, manifest.JobFailureTarget, reasonFailedIndexes, msgFailedIndexes, now)
	case rule >= 0:
		addCondition(st, manifest.JobSuccessCriteriaMet, reasonSuccessPolicy, fmt.Sprintf("Matched rules at index %d", rule), now)
	case m.completions >= 0 && c.succeeded >= m.completions,
		m.completions < 0 && c.succeeded > 0 && c.active == 0:
		addCondition(st, manifest.JobSuccessCriteriaMet, reasonCompletionsReached, msgCompletionsReached, now)
	}
	if deadline.IsZero() {
		return 0
	}
	return max(deadline.Sub(now), time.Millisecond)
}

// jobFinishTime is when a finished Job got its terminal condition.
func jobFinishTime(j *manifest.Job) time.Time {
	for _, typ := range []string{manifest.JobComplete, manifest.JobFailed} {
		if c := runner.JobCondition(&j.Status, typ); c != nil {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

func addCondition(st *manifest.JobStatus, typ, reason, msg string, now time.Time) {
	t := manifest.Time{Time: now.Truncate(time.Second)}
	st.Conditions = append(st.Conditions, manifest.JobCondition{
		Type: typ, Status: "True", Reason: reason, Message: msg, LastProbeTime: t, LastTransitionTime: t,
	})
}

// ensureCondition is the job controller's ensureJobConditionStatus: it
// flips an existing condition of this type to status (with new reason,
// message and times), or adds it if it is missing and status is True. It
// reports whether anything changed.
func ensureCondition(st *manifest.JobStatus, typ, status, reason, msg string, now time.Time) bool {
	t := manifest.Time{Time: now.Truncate(time.Second)}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != typ {
			continue
		}
		if c.Status == status {
			return false
		}
		c.Status, c.Reason, c.Message = status, reason, msg
		c.LastProbeTime, c.LastTransitionTime = t, t
		return true
	}
	if status != "True" {
		return false
	}
	addCondition(st, typ, reason, msg, now)
	return true
}
