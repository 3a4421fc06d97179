package controller

import (
	"context"
	"fmt"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/jobcontroller"
)

// ApplyJob starts a fresh run of a Job: a previous Job of the same name is
// stopped and replaced with its pods.
func (c *Controller) ApplyJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error) {
	runCtx, err := c.admit(ctx, &j.Spec.Template.ObjectMeta, &j.Spec.Template.Spec)
	if err != nil {
		return nil, err
	}
	job := runner.Clone(j)
	generateName(&job.ObjectMeta)
	if err := c.replaceJob(ctx, job.Namespace, job.Name); err != nil {
		return nil, err
	}
	jobcontroller.Initialize(job, newUID(), c.now())
	if err := c.Store.SaveJob(ctx, job); err != nil {
		return nil, fmt.Errorf("save job: %w", err)
	}
	out := runner.Clone(job)
	c.publish(runner.Change{Job: runner.Clone(job)})
	c.runJobWorker(runCtx, job)
	return out, nil
}

// UpdateJob changes the mutable fields of a Job in place from j, the Job
// as re-applied — spec.suspend and spec.parallelism (nil keeps them),
// spec.activeDeadlineSeconds (nil removes it) and metadata.labels (empty
// keeps them); every other field of j is ignored — and wakes its worker.
// Suspending stops the active pods without counting them as failed;
// resuming restarts the activeDeadlineSeconds timer. It returns
// runner.ErrObjectNotFound (wrapped) for an unknown Job.
func (c *Controller) UpdateJob(ctx context.Context, j *manifest.Job) error {
	if w := c.jobWorker(j.Namespace, j.Name); w != nil {
		applied, err := w.Update(ctx, j)
		if err != nil || applied {
			return err
		}
		// Finished meanwhile: fall back to the store.
	}
	old, err := c.Store.Job(ctx, j.Namespace, j.Name)
	if err != nil {
		return err
	}
	if !jobcontroller.ApplyMutable(old, j) {
		return nil
	}
	if err := c.Store.SaveJob(ctx, old); err != nil {
		return fmt.Errorf("save job: %w", err)
	}
	c.publish(runner.Change{Job: old})
	return nil
}

// kickJob wakes the worker of the Job with this UID: one of its pods
// changed.
func (c *Controller) kickJob(uid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.jobs {
		if w.UID() == uid {
			w.Kick()
		}
	}
}

// controllerUID is the UID of the object of this kind that controls m, or
// "".
func controllerUID(m *manifest.ObjectMeta, kind string) string {
	if o := m.ControllerRef(kind); o != nil {
		return o.UID
	}
	return ""
}
