package jobcontroller

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// podView is what reconcileJob needs to know about one pod of the job.
type podView struct {
	pod             *manifest.Pod
	name            string
	phase           string
	terminateReason string
	terminating     bool // being stopped (not for its own deadline), not terminal yet
	ready           bool
	restarts        int32 // sum over containers
	finishedAt      time.Time
	index           int   // completion index, -1 if none
	indexFailures   int32 // job-index-failure-count annotation
}

func viewPods(recs []*runner.PodRecord) []podView {
	out := make([]podView, 0, len(recs))
	for _, r := range recs {
		out = append(out, viewPod(&r.Pod, r.TerminateReason, r.Containers))
	}
	return out
}

func viewPod(p *manifest.Pod, terminateReason string, containers []*runner.ContainerRecord) podView {
	v := podView{
		pod: p, name: p.Name, phase: p.Status.Phase, terminateReason: terminateReason,
		terminating: terminateReason != "" && terminateReason != runner.ReasonPodDeadlineExceeded && !runner.IsTerminalPhase(p.Status.Phase),
		index:       podIndex(&p.ObjectMeta),
	}
	if n, err := strconv.Atoi(p.Annotations[AnnotationIndexFailureCount]); err == nil {
		v.indexFailures = int32(n)
	}
	for _, c := range containers {
		v.restarts += c.RestartCount
		if c.Current != nil && c.Current.FinishedAt.After(v.finishedAt) {
			v.finishedAt = c.Current.FinishedAt
		}
	}
	if v.finishedAt.IsZero() {
		v.finishedAt = p.CreationTimestamp.Time
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == "Ready" && cond.Status == "True" {
			v.ready = true
		}
	}
	return v
}

// podCounts is what the pods of a Job add up to (classifyPods).
type podCounts struct {
	active, succeeded, failed, terminating, ready int32
	restarts                                      int32 // container restarts of the active pods
	activePods                                    []podView
	// failJobMsg is the message of the first podFailurePolicy FailJob
	// match ("" = none).
	failJobMsg string
	// lastSuccess is when the newest succeeded pod finished; the
	// failuresAfter counted failures since then, the newest at
	// lastFailure, drive the creation back-off.
	lastSuccess   time.Time
	failuresAfter int
	lastFailure   time.Time
	// By completion index (Indexed Jobs, indexes in range): succeeded,
	// failed for good (backoffLimitPerIndex, FailIndex), busy (an active
	// pod, or with onlyFailed a terminating one), and the counted and
	// ignored failures and the newest failure of each.
	succeededIdx, failedIdx, busyIdx map[int]bool
	idxFailures, idxIgnored          map[int]int32
	idxLastFailure                   map[int]time.Time
}

// classifyPods is stage 1 of reconcileJob: it counts the Job's pods as
// the job controller does. A pod stopped for its Job's suspension or
// success never counts as failed; with onlyFailed, only a pod in phase
// Failed does. Failures go through the podFailurePolicy: Ignore does not
// count, FailJob is remembered for the conditions, FailIndex fails the
// index. An Indexed Job counts each index once: an index that succeeded
// is not failed.
func classifyPods(spec *manifest.JobSpec, m jobMode, pods []podView) podCounts {
	c := podCounts{
		succeededIdx: map[int]bool{}, failedIdx: map[int]bool{}, busyIdx: map[int]bool{},
		idxFailures: map[int]int32{}, idxIgnored: map[int]int32{}, idxLastFailure: map[int]time.Time{},
	}
	var failures []time.Time
	for _, p := range pods {
		if at, failed := c.add(spec, m, p); failed {
			failures = append(failures, at)
		}
	}
	for i := range c.succeededIdx {
		delete(c.failedIdx, i)
	}
	for _, at := range failures {
		if at.After(c.lastSuccess) {
			c.failuresAfter++
			if at.After(c.lastFailure) {
				c.lastFailure = at
			}
		}
	}
	if m.indexed {
		c.succeeded = int32(len(c.succeededIdx))
	}
	return c
}

// add counts one pod; it reports a counted failure and when it happened.
func (c *podCounts) add(spec *manifest.JobSpec, m jobMode, p podView) (failedAt time.Time, failed bool) {
	if !runner.IsTerminalPhase(p.phase) && !p.terminating {
		c.active++
		c.restarts += p.restarts
		c.activePods = append(c.activePods, p)
		if p.ready {
			c.ready++
		}
		if m.tracked(p.index) {
			c.busyIdx[p.index] = true
		}
		return time.Time{}, false
	}
	if p.terminating {
		c.terminating++
		if m.onlyFailed && m.tracked(p.index) {
			c.busyIdx[p.index] = true
		}
	}
	uncounted := p.terminateReason == runner.TerminateJobSuspended || p.terminateReason == runner.TerminateJobSucceeded
	killedCounted := p.terminateReason != "" && !uncounted && p.terminateReason != runner.ReasonPodDeadlineExceeded
	if p.phase == manifest.PodSucceeded && (m.onlyFailed || !killedCounted) {
		c.succeeded++
		if p.finishedAt.After(c.lastSuccess) {
			c.lastSuccess = p.finishedAt
		}
		if m.tracked(p.index) {
			c.succeededIdx[p.index] = true
		}
		return time.Time{}, false
	}
	if uncounted || p.phase != manifest.PodFailed && (m.onlyFailed || !killedCounted) {
		return time.Time{}, false
	}
	action := pfpCount
	if p.phase == manifest.PodFailed {
		var msg string
		action, msg = matchPodFailurePolicy(spec.PodFailurePolicy, p.pod)
		if action == pfpFailJob && c.failJobMsg == "" {
			c.failJobMsg = msg
		}
	}
	if action == pfpIgnore {
		if m.tracked(p.index) {
			c.idxIgnored[p.index]++
		}
		return time.Time{}, false
	}
	c.failed++
	if m.tracked(p.index) {
		c.idxFailures[p.index]++
		if p.finishedAt.After(c.idxLastFailure[p.index]) {
			c.idxLastFailure[p.index] = p.finishedAt
		}
		if m.perIndex && (action == pfpFailIndex || p.indexFailures >= *spec.BackoffLimitPerIndex) {
			c.failedIdx[p.index] = true
		}
	}
	return p.finishedAt, true
}

// setCounts writes the counts into the Job's status: active, succeeded,
// failed, ready, terminating and, for Indexed Jobs, the completed (and
// with backoffLimitPerIndex the failed) indexes.
func setCounts(st *manifest.JobStatus, m jobMode, c *podCounts) {
	if m.indexed {
		st.CompletedIndexes = formatIndexes(slices.Sorted(maps.Keys(c.succeededIdx)))
	}
	if m.perIndex {
		st.FailedIndexes = ptr(formatIndexes(slices.Sorted(maps.Keys(c.failedIdx))))
	}
	st.Active, st.Succeeded, st.Failed = c.active, c.succeeded, c.failed
	st.Ready = ptr(c.ready)
	st.Terminating = ptr(c.terminating)
	if st.UncountedTerminatedPods == nil {
		st.UncountedTerminatedPods = &manifest.UncountedTerminatedPods{}
	}
}
