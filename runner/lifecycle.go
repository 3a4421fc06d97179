package runner

import "github.com/localjobs/localjobs/manifest"

// IsTerminalPhase reports whether a pod phase is final.
func IsTerminalPhase(phase string) bool {
	return phase == manifest.PodSucceeded || phase == manifest.PodFailed
}

// ReasonPodDeadlineExceeded is the pod status reason, and
// PodRecord.TerminateReason, of a pod stopped for its own
// activeDeadlineSeconds (the kubelet's active deadline handler).
const ReasonPodDeadlineExceeded = "DeadlineExceeded"

// Reasons the Job controller gives the pods it stops
// (PodRecord.TerminateReason). Kubernetes removes the tracking finalizer
// before deleting pods of a suspended Job or lingering pods of a succeeded
// one, so those are never counted as failed; every other pod it deletes
// (excess parallelism, the Job failed) is.
const (
	TerminateJobSuspended = "JobSuspended"
	TerminateJobSucceeded = "JobSucceeded"
	TerminateJobDeleted   = "JobDeleted"
)

// IsJobTerminateReason reports whether a pod was stopped by its Job's
// controller (which, unlike a disruption, sets no DisruptionTarget).
func IsJobTerminateReason(r string) bool {
	return r == TerminateJobSuspended || r == TerminateJobSucceeded || r == TerminateJobDeleted
}

// JobCondition returns the Job's condition of type typ if its status is
// True, else nil.
func JobCondition(st *manifest.JobStatus, typ string) *manifest.JobCondition {
	return st.Condition(typ)
}

// IsJobFinished reports whether a Job has its terminal condition.
func IsJobFinished(j *manifest.Job) bool {
	return JobCondition(&j.Status, manifest.JobComplete) != nil || JobCondition(&j.Status, manifest.JobFailed) != nil
}
