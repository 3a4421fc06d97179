package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/kubelet"
)

// Deleting and replacing pods and Jobs, all of it: a deleted pod leaves
// nothing behind — its worker is stopped (its containers with their grace
// period), its record goes with its events and logs, and the engine's
// containers of this instance that carry its UID are removed. A deleted
// Job takes its pods with it.

// DeletePod stops a pod's containers (with its grace period) and deletes it
// with its events and logs. Until its containers have stopped the pod
// shows Terminating (its deletionTimestamp is set).
func (c *Controller) DeletePod(ctx context.Context, ns, name string) error {
	return c.DeletePodWithGrace(ctx, ns, name, nil)
}

// DeletePodWithGrace deletes a pod as DeletePod does, but stops its running
// containers after grace instead of the pod's terminationGracePeriodSeconds:
// kubectl delete --grace-period=N, or 0 for --force (SIGKILL at once). A nil
// grace is the pod's own. A pod already stopping with a longer grace is
// stopped again with the shorter one.
func (c *Controller) DeletePodWithGrace(ctx context.Context, ns, name string, grace *time.Duration) error {
	if _, err := c.Store.Pod(ctx, ns, name); err != nil {
		return err
	}
	if w := c.podWorker(ns, name); w != nil {
		if err := w.Terminate(ctx, kubelet.Termination{Grace: grace, Delete: true}); err != nil {
			return err
		}
	}
	if err := c.replacePod(ctx, ns, name); err != nil {
		return err
	}
	c.publishPodDeleted(ns, name)
	return nil
}

// DeleteJob stops a job and its pods and deletes them.
func (c *Controller) DeleteJob(ctx context.Context, ns, name string) error {
	if _, err := c.Store.Job(ctx, ns, name); err != nil {
		return err
	}
	if err := c.replaceJob(ctx, ns, name); err != nil {
		return err
	}
	c.publishJobDeleted(ns, name)
	return nil
}

// DeleteExpiredJob deletes a finished Job whose ttlSecondsAfterFinished
// has passed, with its pods and their logs (jobcontroller.Host). Its
// worker calls it as it ends, so it does not wait for the worker. A pod
// list that could not be read deletes nothing; a pod that could not be
// deleted keeps the Job; the worker tries again.
func (h hooks) DeleteExpiredJob(ctx context.Context, job *manifest.Job) error {
	c := h.Controller
	recs, err := c.Store.PodsOfJob(ctx, job.UID)
	if err != nil {
		return fmt.Errorf("list job pods: %w", err)
	}
	var failed error
	for _, r := range recs {
		if err := c.deletePodRecord(ctx, r.Pod.Namespace, r.Pod.Name); err != nil {
			failed = cmp.Or(failed, fmt.Errorf("delete pod %s: %w", r.Pod.Name, err))
			continue
		}
		c.publishPodDeleted(r.Pod.Namespace, r.Pod.Name)
	}
	if failed != nil {
		return failed
	}
	if err := c.Store.DeleteJob(ctx, job.Namespace, job.Name); err != nil && !errors.Is(err, runner.ErrObjectNotFound) {
		return fmt.Errorf("delete job: %w", err)
	}
	c.publishJobDeleted(job.Namespace, job.Name)
	return nil
}

// replacePod stops a running worker of ns/name and deletes its record.
func (c *Controller) replacePod(ctx context.Context, ns, name string) error {
	if w := c.podWorker(ns, name); w != nil {
		w.Terminate(context.Background(), kubelet.Termination{Reason: "Replaced", Message: "replaced by a new run"})
		if err := waitDone(ctx, w.Done()); err != nil {
			return err
		}
	}
	return c.deletePodRecord(ctx, ns, name)
}

// replaceJob stops a running worker of Job ns/name, then deletes its pods
// (stopped first, then their records, logs and containers, so get pods
// does not fill with orphans) and its record. Once the worker has stopped
// the Job's record is marked (deletionTimestamp) before anything is
// deleted, so a daemon killed in the middle finishes the delete when it
// restarts (Restore) rather than bring the Job back to re-run pods.
func (c *Controller) replaceJob(ctx context.Context, ns, name string) error {
	w := c.jobWorker(ns, name)
	old, err := c.Store.Job(ctx, ns, name)
	if errors.Is(err, runner.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	pods, err := c.Store.PodsOfJob(ctx, old.UID)
	if err != nil {
		return err
	}
	if w != nil {
		w.Halt() // creates nothing more
		if err := waitDone(ctx, w.Done()); err != nil {
			return err
		}
		// The worker's last save is the newest record.
		if old, err = c.Store.Job(ctx, ns, name); err != nil {
			return err
		}
	}
	if old.DeletionTimestamp == nil {
		old.DeletionTimestamp = &manifest.Time{Time: c.now()}
		if err := c.Store.SaveJob(ctx, old); err != nil {
			return fmt.Errorf("mark job deleted: %w", err)
		}
	}
	for _, p := range pods {
		if err := c.replacePod(ctx, p.Pod.Namespace, p.Pod.Name); err != nil {
			return err
		}
	}
	if err := c.Store.DeleteJob(ctx, ns, name); err != nil && !errors.Is(err, runner.ErrObjectNotFound) {
		return err
	}
	return nil
}

// waitDone waits until done is closed or ctx ends.
func waitDone(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deletePodRecord deletes a finished pod's record (with its events and
// logs) and removes its containers from the engine, so deleted pods leave
// nothing behind. Only this instance's containers are touched.
func (c *Controller) deletePodRecord(ctx context.Context, ns, name string) error {
	rec, err := c.Store.Pod(ctx, ns, name)
	if errors.Is(err, runner.ErrObjectNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if err := c.Store.DeletePod(ctx, ns, name); err != nil && !errors.Is(err, runner.ErrObjectNotFound) {
		return err
	}
	cs, err := c.Runtime.List(ctx, map[string]string{runner.LabelInstance: c.Store.InstanceID(), runner.LabelPodUID: rec.Pod.UID})
	if err != nil {
		c.logger().Warn("list containers of deleted pod", "pod", ns+"/"+name, "error", err)
		return nil
	}
	for _, ci := range cs {
		if err := c.Runtime.Remove(ctx, ci.ID); err != nil {
			c.logger().Warn("remove container of deleted pod", "container", ci.Name, "error", err)
		}
	}
	return nil
}

func (c *Controller) publishPodDeleted(ns, name string) {
	c.publish(runner.Change{Pod: &manifest.Pod{ObjectMeta: manifest.ObjectMeta{Namespace: ns, Name: name}}, Deleted: true})
}

func (c *Controller) publishJobDeleted(ns, name string) {
	c.publish(runner.Change{Job: &manifest.Job{ObjectMeta: manifest.ObjectMeta{Namespace: ns, Name: name}}, Deleted: true})
}
