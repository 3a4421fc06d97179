package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// Job pod-failure back-off (reference §2.5): 10 s doubling per failure
// after the last success, capped at 10 minutes (current controller code).
const (
	jobBackoffInitial = 10 * time.Second
	jobBackoffMax     = 10 * time.Minute
)

// Job condition reasons and messages, as the Kubernetes job controller
// writes them.
const (
	reasonBackoffLimitExceeded = "BackoffLimitExceeded"
	msgBackoffLimitExceeded    = "Job has reached the specified backoff limit"
	reasonDeadlineExceeded     = "DeadlineExceeded"
	msgDeadlineExceeded        = "Job was active longer than specified deadline"
	reasonCompletionsReached   = "CompletionsReached"
	msgCompletionsReached      = "Reached expected number of succeeded pods"
)

// Labels the apiserver adds to a Job's pod template (generateSelector).
const (
	LabelJobName          = "job-name"
	LabelJobNameNew       = "batch.kubernetes.io/job-name"
	LabelControllerUID    = "controller-uid"
	LabelControllerUIDNew = "batch.kubernetes.io/controller-uid"
)

// jobActions are what reconcileJob asks the worker to do.
type jobActions struct {
	create    int      // new pods to create
	terminate []string // names of active pods to stop
	events    []jobEvent
}

type jobEvent struct{ typ, reason, msg string }

// podView is what reconcileJob needs to know about one pod of the job.
type podView struct {
	name        string
	phase       string
	terminating bool // being stopped by localjobs
	ready       bool
	restarts    int32 // sum over containers
	finishedAt  time.Time
}

func viewPods(recs []*PodRecord) []podView {
	out := make([]podView, 0, len(recs))
	for _, r := range recs {
		v := podView{name: r.Pod.Name, phase: r.Pod.Status.Phase, terminating: r.TerminateReason != "" && !IsTerminalPhase(r.Pod.Status.Phase)}
		for _, c := range r.Containers {
			v.restarts += c.RestartCount
			if c.Current != nil && c.Current.FinishedAt.After(v.finishedAt) {
				v.finishedAt = c.Current.FinishedAt
			}
		}
		if v.finishedAt.IsZero() {
			v.finishedAt = r.Pod.CreationTimestamp.Time
		}
		for _, cond := range r.Pod.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				v.ready = true
			}
		}
		out = append(out, v)
	}
	return out
}

func hasCondition(st *manifest.JobStatus, typ string) *manifest.JobCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == typ && st.Conditions[i].Status == "True" {
			return &st.Conditions[i]
		}
	}
	return nil
}

// IsJobFinished reports whether a Job has its terminal condition.
func IsJobFinished(j *manifest.Job) bool {
	return hasCondition(&j.Status, manifest.JobComplete) != nil || hasCondition(&j.Status, manifest.JobFailed) != nil
}

func addCondition(st *manifest.JobStatus, typ, reason, msg string, now time.Time) {
	t := manifest.Time{Time: now.Truncate(time.Second)}
	st.Conditions = append(st.Conditions, manifest.JobCondition{
		Type: typ, Status: "True", Reason: reason, Message: msg, LastProbeTime: t, LastTransitionTime: t,
	})
}

func deref32(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// reconcileJob is the Job controller's sync for one NonIndexed Job
// (reference §2.4–§2.8): it returns the new status, what to do, and when to
// look again. It does no I/O.
func reconcileJob(job *manifest.Job, pods []podView, now time.Time) (manifest.JobStatus, jobActions, time.Duration) {
	st := job.Status
	st.Conditions = append([]manifest.JobCondition(nil), job.Status.Conditions...)
	var acts jobActions
	if IsJobFinished(job) {
		return st, acts, 0
	}
	spec := &job.Spec
	if st.StartTime == nil {
		st.StartTime = manifest.NewTime(now)
	}

	var active, succeeded, failed, terminating, ready int32
	var restarts int32
	var activeNames []string
	var lastSuccess time.Time
	for _, p := range pods {
		switch {
		case p.phase == manifest.PodSucceeded:
			succeeded++
			if p.finishedAt.After(lastSuccess) {
				lastSuccess = p.finishedAt
			}
		case p.phase == manifest.PodFailed:
			failed++
		case p.terminating:
			terminating++
		default:
			active++
			restarts += p.restarts
			activeNames = append(activeNames, p.name)
			if p.ready {
				ready++
			}
		}
	}
	// Failures after the last success drive the creation back-off.
	var failuresAfter int
	var lastFailure time.Time
	for _, p := range pods {
		if p.phase == manifest.PodFailed && p.finishedAt.After(lastSuccess) {
			failuresAfter++
			if p.finishedAt.After(lastFailure) {
				lastFailure = p.finishedAt
			}
		}
	}
	st.Active, st.Succeeded, st.Failed = active, succeeded, failed
	st.Ready = &ready
	st.Terminating = &terminating
	if st.UncountedTerminatedPods == nil {
		st.UncountedTerminatedPods = &manifest.UncountedTerminatedPods{}
	}

	backoffLimit := deref32(spec.BackoffLimit, 6)
	parallelism := deref32(spec.Parallelism, 1)
	var requeue time.Duration
	wake := func(d time.Duration) {
		if d <= 0 {
			d = time.Millisecond
		}
		if requeue == 0 || d < requeue {
			requeue = d
		}
	}

	if hasCondition(&st, manifest.JobFailureTarget) == nil && hasCondition(&st, manifest.JobSuccessCriteriaMet) == nil {
		onFailure := spec.Template.Spec.RestartPolicy == manifest.RestartPolicyOnFailure
		switch {
		case !onFailure && failed > backoffLimit,
			onFailure && (restarts >= backoffLimit && backoffLimit > 0 || backoffLimit == 0 && restarts > 0):
			addCondition(&st, manifest.JobFailureTarget, reasonBackoffLimitExceeded, msgBackoffLimitExceeded, now)
		case spec.ActiveDeadlineSeconds != nil && now.Sub(st.StartTime.Time) >= time.Duration(*spec.ActiveDeadlineSeconds)*time.Second:
			addCondition(&st, manifest.JobFailureTarget, reasonDeadlineExceeded, msgDeadlineExceeded, now)
		case spec.Completions != nil && succeeded >= *spec.Completions,
			spec.Completions == nil && succeeded > 0 && active == 0:
			addCondition(&st, manifest.JobSuccessCriteriaMet, reasonCompletionsReached, msgCompletionsReached, now)
		}
	}

	if ft := hasCondition(&st, manifest.JobFailureTarget); ft != nil {
		acts.terminate = activeNames
		if active == 0 && terminating == 0 {
			addCondition(&st, manifest.JobFailed, ft.Reason, ft.Message, now)
			acts.events = append(acts.events, jobEvent{"Warning", ft.Reason, ft.Message})
		}
		return st, acts, 0
	}
	if sc := hasCondition(&st, manifest.JobSuccessCriteriaMet); sc != nil {
		acts.terminate = activeNames
		if active == 0 && terminating == 0 {
			addCondition(&st, manifest.JobComplete, sc.Reason, sc.Message, now)
			st.CompletionTime = manifest.NewTime(now)
			acts.events = append(acts.events, jobEvent{"Normal", "Completed", "Job completed"})
		}
		return st, acts, 0
	}

	var want int32
	if spec.Completions == nil {
		want = parallelism
		if succeeded > 0 {
			want = active
		}
	} else {
		want = max(0, min(*spec.Completions-succeeded, parallelism))
	}
	diff := want - active
	if spec.PodReplacementPolicy != nil && *spec.PodReplacementPolicy == "Failed" {
		diff -= terminating
	}
	if diff > 0 {
		if failuresAfter > 0 {
			delay := jobBackoffInitial * time.Duration(math.Pow(2, float64(failuresAfter-1)))
			if delay > jobBackoffMax || delay <= 0 {
				delay = jobBackoffMax
			}
			if remaining := delay - now.Sub(lastFailure); remaining > 0 {
				wake(remaining)
				diff = 0
			}
		}
		acts.create = int(min(diff, 500))
	}
	if ads := spec.ActiveDeadlineSeconds; ads != nil {
		wake(st.StartTime.Add(time.Duration(*ads) * time.Second).Sub(now))
	}
	return st, acts, requeue
}

// ---- worker ----

type jobWorker struct {
	c    *Controller
	job  *manifest.Job
	kick chan struct{}
	done chan struct{}
}

// ApplyJob starts a fresh run of a Job: a previous Job of the same name is
// stopped and replaced (its pods stay as records until deleted).
func (c *Controller) ApplyJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error) {
	runCtx, err := c.runCtx(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkPodSecurity(&j.Spec.Template.Spec); err != nil {
		return nil, err
	}
	job := cloneJob(j)
	if job.Name == "" && job.GenerateName != "" {
		job.Name = job.GenerateName + randSuffix(5)
	}
	if err := c.replaceJob(ctx, job.Namespace, job.Name); err != nil {
		return nil, err
	}
	now := c.now()
	job.APIVersion, job.Kind = "batch/v1", "Job"
	job.UID = newUID()
	job.ResourceVersion = "1"
	job.Generation = 1
	job.CreationTimestamp = manifest.Time{Time: now.Truncate(time.Second)}
	sel := map[string]string{LabelControllerUIDNew: job.UID}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &manifest.LabelSelector{MatchLabels: sel}
	}
	tl := map[string]string{}
	maps.Copy(tl, job.Spec.Template.Labels)
	maps.Copy(tl, map[string]string{
		LabelControllerUID: job.UID, LabelControllerUIDNew: job.UID,
		LabelJobName: job.Name, LabelJobNameNew: job.Name,
	})
	job.Spec.Template.Labels = tl
	if len(job.Labels) == 0 {
		job.Labels = maps.Clone(tl)
	}
	job.Status = manifest.JobStatus{}
	if err := c.Store.SaveJob(ctx, job); err != nil {
		return nil, fmt.Errorf("save job: %w", err)
	}
	out := cloneJob(job)
	c.publish(Change{Job: cloneJob(job)})
	w := &jobWorker{c: c, job: job, kick: make(chan struct{}, 1), done: make(chan struct{})}
	c.mu.Lock()
	c.jobs[key(job.Namespace, job.Name)] = w
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		w.run(runCtx)
		c.mu.Lock()
		if c.jobs[key(job.Namespace, job.Name)] == w {
			delete(c.jobs, key(job.Namespace, job.Name))
		}
		c.mu.Unlock()
	}()
	return out, nil
}

func (c *Controller) replaceJob(ctx context.Context, ns, name string) error {
	c.mu.Lock()
	w := c.jobs[key(ns, name)]
	c.mu.Unlock()
	old, err := c.Store.Job(ctx, ns, name)
	if errors.Is(err, ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	pods, err := c.Store.PodsOfJob(ctx, old.UID)
	if err != nil {
		return err
	}
	for _, p := range pods {
		c.TerminatePod(p.Pod.Namespace, p.Pod.Name, "Replaced", "job replaced by a new run")
	}
	if w != nil {
		close(w.kick) // ends the worker
		select {
		case <-w.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return c.Store.DeleteJob(ctx, ns, name)
}

func (c *Controller) kickJob(ns, uid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.jobs {
		if w.job.UID == uid {
			select {
			case w.kick <- struct{}{}:
			default:
			}
		}
	}
}

func (w *jobWorker) run(ctx context.Context) {
	defer close(w.done)
	c := w.c
	for {
		recs, err := c.Store.PodsOfJob(ctx, w.job.UID)
		if err != nil {
			c.logger().Error("list job pods", "job", w.job.Name, "error", err)
		}
		now := c.now()
		st, acts, requeue := reconcileJob(w.job, viewPods(recs), now)
		changed := !jobStatusEqual(&w.job.Status, &st)
		w.job.Status = st
		if changed {
			if err := c.Store.SaveJob(ctx, w.job); err != nil {
				c.logger().Error("save job", "job", w.job.Name, "error", err)
			}
			c.publish(Change{Job: cloneJob(w.job)})
		}
		ref := objectRef(&w.job.TypeMeta, &w.job.ObjectMeta, "")
		for _, e := range acts.events {
			c.recordEvent(ctx, ref, e.typ, e.reason, e.msg, "job-controller")
		}
		for _, name := range acts.terminate {
			c.TerminatePod(w.job.Namespace, name, "", "")
		}
		for i := 0; i < acts.create; i++ {
			if err := w.createPod(ctx, now); err != nil {
				c.recordEvent(ctx, ref, "Warning", "FailedCreate", "Error creating: "+err.Error(), "job-controller")
			}
		}
		if IsJobFinished(w.job) {
			return
		}
		if acts.create > 0 {
			continue
		}
		var timerC <-chan time.Time
		var timer Timer
		if requeue > 0 {
			timer = c.clock().NewTimer(requeue)
			timerC = timer.C()
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-w.kick:
			if !ok {
				return
			}
		case <-timerC:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

func jobStatusEqual(a, b *manifest.JobStatus) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// createPod creates one pod from the Job's template (reference §2.3).
func (w *jobWorker) createPod(ctx context.Context, now time.Time) error {
	job := w.job
	prefix := job.Name + "-"
	if len(prefix) > 58 {
		prefix = prefix[:58]
	}
	pod := &manifest.Pod{
		ObjectMeta: manifest.ObjectMeta{
			Name:        prefix + randSuffix(5),
			Namespace:   job.Namespace,
			Labels:      maps.Clone(job.Spec.Template.Labels),
			Annotations: maps.Clone(job.Spec.Template.Annotations),
			OwnerReferences: []manifest.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
			Finalizers: []string{"batch.kubernetes.io/job-tracking"},
		},
		Spec: job.Spec.Template.Spec,
	}
	var spec manifest.PodSpec
	deepCopy(&job.Spec.Template.Spec, &spec)
	pod.Spec = spec
	rec := w.c.newPodRecord(pod)
	if err := w.c.startPod(ctx, rec); err != nil {
		return err
	}
	w.c.recordEvent(ctx, objectRef(&job.TypeMeta, &job.ObjectMeta, ""), "Normal", "SuccessfulCreate",
		"Created pod: "+pod.Name, "job-controller")
	return nil
}

func ptr[T any](v T) *T { return &v }
