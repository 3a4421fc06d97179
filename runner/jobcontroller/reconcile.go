package jobcontroller

import (
	"math"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Job pod-failure back-off (reference §2.5): 10 s doubling per failure
// after the last success, capped at 10 minutes (current controller code).
const (
	jobBackoffInitial = 10 * time.Second
	jobBackoffMax     = 10 * time.Minute
)

// jobActions are what reconcileJob asks the worker to do.
type jobActions struct {
	create    []podToCreate
	terminate []podToStop
	events    []jobEvent
}

// podToCreate is one pod to create: its completion index (-1 for
// NonIndexed Jobs) and, with backoffLimitPerIndex, the index's counted and
// ignored failures so far.
type podToCreate struct {
	index            int
	failures, ignore int32
}

type podToStop struct{ name, reason string }

type jobEvent struct{ typ, reason, msg string }

// reconcileJob is the Job controller's sync (reference §2.4–§2.10): from the
// Job and its pods it returns the new status, what to do, and when to look
// again (0 = only when something changes). It does no I/O. It runs three
// stages, each a pure function with its own tests:
//
//  1. classifyPods counts the pods — active, succeeded, failed (after the
//     pod failure policy), terminating, per completion index — and
//     setCounts writes the counts into the status;
//  2. updateConditions moves the conditions on — Suspended, the
//     FailureTarget or SuccessCriteriaMet decision, then Failed or
//     Complete once no pod is left running — and says whether the pods
//     are to be stopped rather than managed;
//  3. managePods (manageJob) stops pods above parallelism and creates the
//     missing ones once the failure back-off allows.
func reconcileJob(job *manifest.Job, pods []podView, now time.Time) (manifest.JobStatus, jobActions, time.Duration) {
	st := job.Status
	st.Conditions = append([]manifest.JobCondition(nil), job.Status.Conditions...)
	if runner.IsJobFinished(job) {
		return st, jobActions{}, 0
	}
	spec := &job.Spec
	m := modeOf(spec)
	counts := classifyPods(spec, m, pods)
	setCounts(&st, m, &counts)
	cond := updateConditions(&st, spec, m, &counts, now)
	acts := jobActions{events: cond.events}
	if cond.stopAll != "" {
		for _, p := range counts.activePods {
			acts.terminate = append(acts.terminate, podToStop{p.name, cond.stopAll})
		}
		return st, acts, 0
	}
	var wake time.Duration
	acts.create, acts.terminate, wake = managePods(spec, m, &counts, now)
	return st, acts, earliest(cond.wake, wake)
}

// jobMode is what a Job's spec says about how its pods are counted and
// replaced.
type jobMode struct {
	indexed  bool // completionMode Indexed (with completions)
	perIndex bool // backoffLimitPerIndex on an Indexed Job
	// onlyFailed is podReplacementPolicy Failed (implied by a
	// podFailurePolicy): only pods in phase Failed count as failed and
	// replacements wait for the old pod to be terminal; otherwise a pod
	// being stopped counts at once.
	onlyFailed  bool
	suspended   bool
	completions int32 // -1 when unset (a work queue)
}

func modeOf(spec *manifest.JobSpec) jobMode {
	m := jobMode{
		indexed: spec.CompletionMode != nil && *spec.CompletionMode == manifest.IndexedCompletion && spec.Completions != nil,
		onlyFailed: spec.PodFailurePolicy != nil ||
			spec.PodReplacementPolicy != nil && *spec.PodReplacementPolicy == manifest.ReplaceFailed,
		suspended:   spec.Suspend != nil && *spec.Suspend,
		completions: -1,
	}
	m.perIndex = m.indexed && spec.BackoffLimitPerIndex != nil
	if spec.Completions != nil {
		m.completions = *spec.Completions
	}
	return m
}

// tracked reports whether i is a completion index the Job tracks: an
// Indexed Job's index in [0, completions).
func (m jobMode) tracked(i int) bool {
	return m.indexed && i >= 0 && i < int(m.completions)
}

// earliest is the sooner of two requeue delays, 0 meaning none.
func earliest(a, b time.Duration) time.Duration {
	if a == 0 || b != 0 && b < a {
		return b
	}
	return a
}

func deref32(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// jobBackoff is the delay before a replacement after failures counted
// failures since the last success: 10 s doubling, capped at 10 minutes.
func jobBackoff(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	if failures > 20 {
		return jobBackoffMax
	}
	d := jobBackoffInitial * time.Duration(math.Pow(2, float64(failures-1)))
	return min(d, jobBackoffMax)
}

// backoffLeft is how much of the back-off after failures, the newest at
// last, is left at now (0 or less: none).
func backoffLeft(failures int, last, now time.Time) time.Duration {
	d := jobBackoff(failures)
	if d <= 0 {
		return 0
	}
	return d - now.Sub(last)
}
