package controller

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/jobcontroller"
	"github.com/localjobs/localjobs/runner/kubelet"
)

// ApplyPod starts a fresh run of a bare pod: a previous pod of the same name
// is stopped and replaced. It returns the stored pod.
func (c *Controller) ApplyPod(ctx context.Context, p *manifest.Pod) (*manifest.Pod, error) {
	runCtx, err := c.admit(ctx, &p.ObjectMeta, &p.Spec)
	if err != nil {
		return nil, err
	}
	pod := runner.Clone(p)
	generateName(&pod.ObjectMeta)
	if err := c.replacePod(ctx, pod.Namespace, pod.Name); err != nil {
		return nil, err
	}
	rec := c.newPodRecord(pod)
	out := runner.Clone(&rec.Pod)
	if err := c.startPod(runCtx, rec); err != nil {
		return nil, err
	}
	return out, nil
}

// admit waits until Run has started and admits a pod spec (a pod's, or a
// Job's template); it returns Run's context.
func (c *Controller) admit(ctx context.Context, meta *manifest.ObjectMeta, spec *manifest.PodSpec) (context.Context, error) {
	runCtx, err := c.runCtx(ctx)
	if err != nil {
		return nil, err
	}
	return runCtx, c.CheckPodSpec(meta, spec)
}

// generateName names an object from its generateName, as the apiserver
// does, when it has no name.
func generateName(m *manifest.ObjectMeta) {
	if m.Name == "" && m.GenerateName != "" {
		m.Name = runner.GenerateName(m.GenerateName)
	}
}

// CheckPodSpec reports whether the controller would admit a pod with this
// metadata and spec (its Pod Security level and hostPath rules), without
// running it. For a Job, pass its template's.
func (c *Controller) CheckPodSpec(meta *manifest.ObjectMeta, spec *manifest.PodSpec) error {
	return c.security().Check(meta, spec)
}

// CreatePod creates a pod of a Job, whose template was admitted with the
// Job (jobcontroller.Host). The pod's worker runs on ctx, the Job
// worker's: Run's context.
func (h hooks) CreatePod(ctx context.Context, pod *manifest.Pod, events ...*manifest.Event) error {
	return h.startPod(ctx, h.newPodRecord(pod), events...)
}

// newPodRecord gives a pod being created its identity, as the apiserver
// does, and its first record, as the kubelet does.
func (c *Controller) newPodRecord(pod *manifest.Pod) *runner.PodRecord {
	now := c.now()
	pod.APIVersion, pod.Kind = "v1", "Pod"
	pod.UID = newUID()
	pod.CreationTimestamp = manifest.Time{Time: now.Truncate(time.Second)}
	pod.ResourceVersion = "1"
	return kubelet.NewRecord(pod, c.NodeName, now)
}

// startPod stores a new pod, with events about its creation in the same
// write, publishes them and starts its worker.
func (c *Controller) startPod(ctx context.Context, rec *runner.PodRecord, events ...*manifest.Event) error {
	if err := c.Store.SavePodEvents(ctx, rec, events); err != nil {
		return fmt.Errorf("save pod: %w", err)
	}
	for _, e := range events {
		c.publish(runner.Change{Event: e})
	}
	c.publish(runner.Change{Pod: runner.Clone(&rec.Pod), Record: runner.Clone(rec)})
	// The worker records Scheduled (or FailedScheduling) under MaxPods.
	c.runPodWorker(ctx, rec.Pod.Namespace, rec.Pod.Name, c.kubelet.NewWorker(rec))
	return nil
}

// TerminatePod asks the worker of a running pod to stop its containers with
// the grace period; the pod ends Failed (or Succeeded if everything had
// succeeded). reason becomes the pod's status reason for DeadlineExceeded.
// It reports false if no worker runs the pod.
func (c *Controller) TerminatePod(ns, name, reason, message string) bool {
	w := c.podWorker(ns, name)
	if w == nil {
		return false
	}
	w.Terminate(context.Background(), kubelet.Termination{Reason: reason, Message: message})
	return true
}

// TerminateAll stops every job (no more pods are created) and every pod,
// with their grace periods (run's SIGINT and timeout).
func (c *Controller) TerminateAll(reason, message string) {
	c.mu.Lock()
	var ws []*kubelet.Worker
	for _, w := range c.pods {
		ws = append(ws, w)
	}
	var js []*jobcontroller.Worker
	for _, j := range c.jobs {
		js = append(js, j)
	}
	c.mu.Unlock()
	for _, j := range js {
		j.Halt()
		<-j.Done()
	}
	for _, w := range ws {
		w.Terminate(context.Background(), kubelet.Termination{Reason: reason, Message: message})
	}
}

// KillAll stops every running container at once (grace 0), whatever
// happens to the controller's context: a second Ctrl-C.
func (c *Controller) KillAll(ctx context.Context) int {
	return c.sumPods(ctx, func(r *runner.PodRecord) int {
		n, _ := c.killRuns(ctx, r)
		return n
	})
}

// KillPod stops the pod's running containers (and sandbox) at once,
// without waiting for its worker; the worker records the exits.
func (c *Controller) KillPod(ctx context.Context, ns, name string) error {
	r, err := c.Store.Pod(ctx, ns, name)
	if err != nil {
		return err
	}
	_, err = c.killRuns(ctx, r)
	return err
}

// killRuns stops every live instance of a pod with grace 0 and counts them.
func (c *Controller) killRuns(ctx context.Context, r *runner.PodRecord) (int, error) {
	runs := []*runner.Run{r.Sandbox}
	for _, cr := range r.Containers {
		runs = append(runs, cr.Current)
	}
	n := 0
	var firstErr error
	for _, run := range runs {
		if run == nil || run.ID == "" || run.Step == runner.StepExited {
			continue
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := c.Runtime.Stop(sctx, run.ID, 0)
		cancel()
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		n++
	}
	return n, firstErr
}

// RunningContainers counts the instances the controller is watching.
func (c *Controller) RunningContainers(ctx context.Context) int {
	return c.sumPods(ctx, func(r *runner.PodRecord) int {
		n := 0
		for _, cr := range r.Containers {
			if cr.Current != nil && cr.Current.Step == runner.StepStarted {
				n++
			}
		}
		return n
	})
}

// sumPods adds up f over every live pod (0 if they cannot be read, which
// the daemon's log says: KillAll then kills nothing). A finished pod has
// no running container: the kubelet records the exits before the phase.
func (c *Controller) sumPods(ctx context.Context, f func(*runner.PodRecord) int) int {
	recs, err := c.Store.LivePods(ctx)
	if err != nil {
		c.logger().Error("list pods", "error", err)
		return 0
	}
	n := 0
	for _, r := range recs {
		n += f(r)
	}
	return n
}
