package jobcontroller

import (
	"cmp"
	"slices"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// maxCreatesPerSync caps the pods one sync creates, as the controller's
// burst limit does.
const maxCreatesPerSync = 500

// managePods is stage 3 of reconcileJob, the controller's manageJob: it
// stops the active pods above the number that should run, or creates the
// missing ones — unless the failure back-off is still running, when it
// says how long to wait. Indexed Jobs create the lowest free indexes,
// each waiting for its own back-off with backoffLimitPerIndex.
func managePods(spec *manifest.JobSpec, m jobMode, c *podCounts, now time.Time) (create []podToCreate, stop []podToStop, wake time.Duration) {
	want := wantActive(spec, m, c)
	if c.active > want {
		return nil, excessPods(c.activePods, m.indexed, int(c.active-want)), 0
	}
	n := want - c.active
	if m.onlyFailed {
		n -= c.terminating
	}
	if n <= 0 {
		return nil, nil, 0
	}
	n = min(n, maxCreatesPerSync)
	if !m.perIndex {
		if left := backoffLeft(c.failuresAfter, c.lastFailure, now); left > 0 {
			return nil, nil, left
		}
	}
	if !m.indexed {
		for range n {
			create = append(create, podToCreate{index: -1})
		}
		return create, nil, 0
	}
	create, wake = indexesToCreate(m, c, n, now)
	return create, nil, wake
}

// wantActive is how many pods should be active: parallelism, bounded by
// the completions still missing; a work queue (no completions) runs no new
// pod once one succeeded.
func wantActive(spec *manifest.JobSpec, m jobMode, c *podCounts) int32 {
	parallelism := deref32(spec.Parallelism, 1)
	switch {
	case m.completions < 0:
		if c.succeeded > 0 {
			return c.active
		}
		return parallelism
	case m.indexed:
		return max(0, min(m.completions-int32(len(c.succeededIdx)+len(c.failedIdx)), parallelism))
	default:
		return max(0, min(m.completions-c.succeeded, parallelism))
	}
}

// excessPods picks the n active pods to stop: the highest indexes, else
// pending before running, not ready before ready, newest first.
func excessPods(active []podView, indexed bool, n int) []podToStop {
	active = slices.Clone(active)
	slices.SortStableFunc(active, func(a, b podView) int {
		if indexed {
			return cmp.Compare(b.index, a.index)
		}
		if c := cmp.Compare(phaseRank(a.phase), phaseRank(b.phase)); c != 0 {
			return c
		}
		if a.ready != b.ready {
			return map[bool]int{false: -1, true: 1}[a.ready]
		}
		return b.pod.CreationTimestamp.Compare(a.pod.CreationTimestamp.Time)
	})
	var stop []podToStop
	for _, p := range active[:n] {
		stop = append(stop, podToStop{p.name, runner.TerminateJobDeleted})
	}
	return stop
}

func phaseRank(phase string) int {
	if phase == manifest.PodPending || phase == "" {
		return 0
	}
	return 1
}

// indexesToCreate picks up to n indexes to create pods for: the lowest
// that are not succeeded, failed or busy; with backoffLimitPerIndex an
// index whose back-off is running waits, and wake says for how long.
func indexesToCreate(m jobMode, c *podCounts, n int32, now time.Time) (create []podToCreate, wake time.Duration) {
	for i := 0; i < int(m.completions) && int32(len(create)) < n; i++ {
		if c.succeededIdx[i] || c.failedIdx[i] || c.busyIdx[i] {
			continue
		}
		if m.perIndex {
			if left := backoffLeft(int(c.idxFailures[i]), c.idxLastFailure[i], now); left > 0 {
				wake = earliest(wake, left)
				continue
			}
		}
		create = append(create, podToCreate{index: i, failures: c.idxFailures[i], ignore: c.idxIgnored[i]})
	}
	return create, wake
}
