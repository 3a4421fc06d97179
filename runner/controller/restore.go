package controller

import (
	"context"
	"fmt"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/kubelet"
)

// finishDelete finishes in the background the delete of a Job marked
// deleted, as DeleteJob would have.
func (c *Controller) finishDelete(ctx context.Context, j *manifest.Job) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.replaceJob(ctx, j.Namespace, j.Name); err != nil {
			c.logger().Error("finish deleting job", "job", j.Namespace+"/"+j.Name, "error", err)
			return
		}
		c.publishJobDeleted(j.Namespace, j.Name)
	}()
}

// RestoreStats counts what Restore found.
type RestoreStats struct {
	Pods, Jobs int // unfinished objects resumed
	Orphans    int // containers no record explains, stopped and removed
	// Adopted, Started, Recreated, ExitedWhileDown and Vanished count
	// what reconciling the pods' containers with the engine found.
	kubelet.RestoreStats
}

// Restore resumes every unfinished pod and job of the store after a daemon
// (re)start, reconciling each recorded container instance with the engine
// by its deterministic name (DESIGN §5; kubelet.Kubelet.Restore): an
// intent without a container is created (nothing ran, so it is not a
// failure); a created container is started; a running one is adopted,
// with its wait and log capture resumed from the last line written; an
// exit that happened while the daemon was down is recorded as it was; only
// a container the engine no longer has becomes ContainerStatusUnknown
// (exit 137). Then the containers of this instance that no record explains
// are stopped and removed (SweepOrphans). Call it after Run started.
func (c *Controller) Restore(ctx context.Context) (RestoreStats, error) {
	var st RestoreStats
	runCtx, err := c.runCtx(ctx)
	if err != nil {
		return st, err
	}
	c.kubelet.CleanStaging()
	recs, err := c.Store.LivePods(ctx)
	if err != nil {
		return st, fmt.Errorf("list live pods: %w", err)
	}
	// The pods as restored, for removing the containers whose exits a
	// stopped daemon recorded but had not removed yet (the workers own
	// recs once run; finished pods are read by the containers' labels).
	restored := make([]*runner.PodRecord, 0, len(recs))
	for _, rec := range recs {
		w, err := c.kubelet.Restore(ctx, rec, &st.RestoreStats)
		if err != nil {
			return st, err
		}
		st.Pods++
		restored = append(restored, runner.Clone(rec))
		c.runPodWorker(runCtx, rec.Pod.Namespace, rec.Pod.Name, w)
	}
	c.kubelet.SweepExited(runCtx, restored)
	jobs, err := c.Store.Jobs(ctx, "")
	if err != nil {
		return st, fmt.Errorf("list jobs: %w", err)
	}
	for _, j := range jobs {
		if j.DeletionTimestamp != nil {
			// A delete the previous daemon did not finish.
			c.finishDelete(runCtx, j)
			continue
		}
		if runner.IsJobFinished(j) && j.Spec.TTLSecondsAfterFinished == nil {
			continue // finished for good; a finished Job with a TTL waits for it
		}
		st.Jobs++
		c.runJobWorker(runCtx, j)
	}
	st.Orphans, err = c.SweepOrphans(ctx)
	if err != nil {
		// Not fatal: the periodic sweep tries again.
		c.logger().Warn("sweep orphan containers at restore", "error", err)
	}
	return st, nil
}
