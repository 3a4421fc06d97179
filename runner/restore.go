package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// adoptedRun is a container instance found running at restore: its worker
// resumes waiting for it and following its log.
type adoptedRun struct {
	index   int
	restart int32
	id      string
	since   time.Time
	logf    LogFile
}

// failpoint calls the test hook for a named step (tests simulate a crash
// there, e.g. with runtime.Goexit).
func (c *Controller) failpoint(name string) {
	if c.Failpoint != nil {
		c.Failpoint(name)
	}
}

// RestoreStats counts what Restore found.
type RestoreStats struct {
	Pods, Jobs      int // unfinished objects resumed
	Adopted         int // running containers adopted
	Started         int // created-but-not-started containers started now
	Recreated       int // intents whose container never existed (created now by the worker)
	ExitedWhileDown int // exits recorded from the engine
	Vanished        int // recorded containers the engine no longer has
}

// Restore resumes every unfinished pod and job of the store after a daemon
// (re)start, reconciling each recorded container instance with the engine
// by its deterministic name (DESIGN §5): an intent without a container is
// created (nothing ran, so it is not a failure); a created container is
// started; a running one is adopted, with its wait and log capture resumed
// from the last line written; an exit that happened while the daemon was
// down is recorded as it was; only a container the engine no longer has
// becomes ContainerStatusUnknown (exit 137). Call it after Run started.
func (c *Controller) Restore(ctx context.Context) (RestoreStats, error) {
	var st RestoreStats
	runCtx, err := c.runCtx(ctx)
	if err != nil {
		return st, err
	}
	if c.MountDir != "" {
		// Staged mounts live only from create to start; a crash in between
		// leaves them behind.
		if err := cleanStaging(c.MountDir); err != nil {
			c.logger().Warn("clean staged mounts", "dir", c.MountDir, "error", err)
		}
	}
	recs, err := c.Store.Pods(ctx, "")
	if err != nil {
		return st, fmt.Errorf("list pods: %w", err)
	}
	for _, rec := range recs {
		if IsTerminalPhase(rec.Pod.Status.Phase) {
			continue
		}
		w := newPodWorker(c, rec)
		for i, cr := range rec.Containers {
			if a, ok := c.reconcileRun(ctx, rec, cr, &st); ok {
				a.index = i
				w.adopted = append(w.adopted, a)
			}
		}
		if err := c.Store.SavePod(ctx, rec); err != nil {
			return st, err
		}
		st.Pods++
		c.runPodWorker(runCtx, w)
	}
	jobs, err := c.Store.Jobs(ctx, "")
	if err != nil {
		return st, fmt.Errorf("list jobs: %w", err)
	}
	for _, j := range jobs {
		if IsJobFinished(j) && j.Spec.TTLSecondsAfterFinished == nil {
			continue // finished for good; a finished Job with a TTL waits for it
		}
		st.Jobs++
		c.runJobWorker(runCtx, j)
	}
	return st, nil
}

// reconcileRun brings one container record in line with the engine. It
// returns the instance to adopt when the container is running.
func (c *Controller) reconcileRun(ctx context.Context, rec *PodRecord, cr *ContainerRecord, st *RestoreStats) (adoptedRun, bool) {
	r := cr.Current
	if r == nil || r.Step == StepExited {
		return adoptedRun{}, false
	}
	ref := r.ID
	if ref == "" {
		ref = r.EngineName
	}
	info, err := c.Runtime.Inspect(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		if r.Step == StepIntent {
			// Nothing was created, so nothing ran: undo the intent and let
			// the worker create the container as if for the first time.
			cr.Current, cr.Last = cr.Last, nil
			if cr.Current != nil {
				cr.RestartCount--
			}
			st.Recreated++
			return adoptedRun{}, false
		}
		r.Step = StepExited
		r.ExitCode = 137
		r.Reason = "ContainerStatusUnknown"
		r.Message = "The container could not be located when the pod was terminated"
		r.FinishedAt = c.now()
		st.Vanished++
		return adoptedRun{}, false
	}
	if err != nil {
		// The engine did not answer: treat it as vanished rather than hang;
		// the Job policy decides.
		c.logger().Error("inspect container at restore", "container", ref, "error", err)
		r.Step = StepExited
		r.ExitCode = 137
		r.Reason = "ContainerStatusUnknown"
		r.Message = "inspect at restore: " + err.Error()
		r.FinishedAt = c.now()
		st.Vanished++
		return adoptedRun{}, false
	}
	r.ID = info.ID
	if r.CreatedAt.IsZero() {
		r.CreatedAt = info.CreatedAt
	}
	logf, lerr := c.Store.OpenLog(rec.Pod.Namespace, rec.Pod.Name, rec.Pod.UID, cr.Name, r.Restart)
	if lerr != nil {
		c.logger().Error("open log at restore", "error", lerr)
	}
	since := time.Time{}
	if logf != nil {
		since = logf.LastTimestamp()
	}
	switch {
	case info.Running:
		r.Step = StepStarted
		if !info.StartedAt.IsZero() {
			r.StartedAt = info.StartedAt
		}
		st.Adopted++
		return adoptedRun{restart: r.Restart, id: info.ID, since: since, logf: logf}, true
	case info.Status == "created" && info.Error == "" && info.ExitCode == 0 && info.Labels[LabelStagedMounts] == "true":
		// Created but never started, with staged bind sources that are
		// gone now: create it again as if for the first time.
		if logf != nil {
			logf.Close()
		}
		if err := c.Runtime.Remove(ctx, info.ID); err != nil {
			c.logger().Warn("remove container with staged mounts at restore", "container", info.ID, "error", err)
		}
		cr.Current, cr.Last = cr.Last, nil
		if cr.Current != nil {
			cr.RestartCount--
		}
		st.Recreated++
		return adoptedRun{}, false
	case info.Status == "created" && info.Error == "" && info.ExitCode == 0:
		// Created but never started: start it now.
		if err := c.Runtime.Start(ctx, info.ID); err != nil {
			if logf != nil {
				logf.Close()
			}
			var se *StartError
			msg := err.Error()
			if errors.As(err, &se) {
				msg = se.Message
			}
			r.Step = StepExited
			r.Reason, r.Message, r.ExitCode = "ContainerCannotRun", msg, 128
			r.StartedAt, r.FinishedAt = info.CreatedAt, info.CreatedAt
			return adoptedRun{}, false
		}
		r.Step = StepStarted
		r.StartedAt = c.now()
		st.Started++
		return adoptedRun{restart: r.Restart, id: info.ID, since: since, logf: logf}, true
	default:
		// It exited (or failed to start) while we were down: keep the lines
		// written since the last capture, then record the real exit.
		if logf != nil {
			if err := c.Runtime.Logs(ctx, info.ID, since, false, logf); err != nil {
				c.logger().Warn("log catch-up at restore", "error", err)
			}
			logf.Close()
		}
		applyExit(r, info)
		st.ExitedWhileDown++
		return adoptedRun{}, false
	}
}

// runPodWorker starts a worker goroutine for a pod record.
func (c *Controller) runPodWorker(ctx context.Context, w *podWorker) {
	k := key(w.rec.Pod.Namespace, w.rec.Pod.Name)
	c.mu.Lock()
	c.pods[k] = w
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		w.run(ctx)
		c.mu.Lock()
		if c.pods[k] == w {
			delete(c.pods, k)
		}
		c.mu.Unlock()
	}()
}

// runJobWorker starts a worker goroutine for a job.
func (c *Controller) runJobWorker(ctx context.Context, job *manifest.Job) *jobWorker {
	w := &jobWorker{c: c, job: job, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	k := key(job.Namespace, job.Name)
	c.mu.Lock()
	c.jobs[k] = w
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		w.run(ctx)
		c.mu.Lock()
		if c.jobs[k] == w {
			delete(c.jobs, k)
		}
		c.mu.Unlock()
	}()
	return w
}

// DeletePod stops a pod's containers (with its grace period) and deletes it
// with its events and logs.
func (c *Controller) DeletePod(ctx context.Context, ns, name string) error {
	if _, err := c.Store.Pod(ctx, ns, name); err != nil {
		return err
	}
	if err := c.replacePod(ctx, ns, name); err != nil {
		return err
	}
	c.publish(Change{Pod: &manifest.Pod{ObjectMeta: manifest.ObjectMeta{Namespace: ns, Name: name}}, Deleted: true})
	return nil
}

// DeleteJob stops a job and its pods and deletes them.
func (c *Controller) DeleteJob(ctx context.Context, ns, name string) error {
	j, err := c.Store.Job(ctx, ns, name)
	if err != nil {
		return err
	}
	pods, err := c.Store.PodsOfJob(ctx, j.UID)
	if err != nil {
		return err
	}
	if err := c.replaceJob(ctx, ns, name); err != nil {
		return err
	}
	for _, p := range pods {
		if err := c.replacePod(ctx, p.Pod.Namespace, p.Pod.Name); err != nil {
			return err
		}
	}
	c.publish(Change{Job: &manifest.Job{ObjectMeta: manifest.ObjectMeta{Namespace: ns, Name: name}}, Deleted: true})
	return nil
}

// RunningContainers counts the instances the controller is watching.
func (c *Controller) RunningContainers(ctx context.Context) int {
	recs, err := c.Store.Pods(ctx, "")
	if err != nil {
		return 0
	}
	n := 0
	for _, r := range recs {
		for _, cr := range r.Containers {
			if cr.Current != nil && cr.Current.Step == StepStarted {
				n++
			}
		}
	}
	return n
}
