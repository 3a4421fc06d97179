package runner

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
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
// writes them (reference §2.8).
const (
	reasonBackoffLimitExceeded     = "BackoffLimitExceeded"
	msgBackoffLimitExceeded        = "Job has reached the specified backoff limit"
	reasonDeadlineExceeded         = "DeadlineExceeded"
	msgDeadlineExceeded            = "Job was active longer than specified deadline"
	reasonCompletionsReached       = "CompletionsReached"
	msgCompletionsReached          = "Reached expected number of succeeded pods"
	reasonPodFailurePolicy         = "PodFailurePolicy"
	reasonMaxFailedIndexesExceeded = "MaxFailedIndexesExceeded"
	msgMaxFailedIndexesExceeded    = "Job has exceeded the specified maximal number of failed indexes"
	reasonFailedIndexes            = "FailedIndexes"
	msgFailedIndexes               = "Job has failed indexes"
	reasonSuccessPolicy            = "SuccessPolicy"
	reasonJobSuspended             = "JobSuspended"
	msgJobSuspended                = "Job suspended"
	reasonJobResumed               = "JobResumed"
	msgJobResumed                  = "Job resumed"
)

// Labels the apiserver adds to a Job's pod template (generateSelector).
const (
	LabelJobName          = "job-name"
	LabelJobNameNew       = "batch.kubernetes.io/job-name"
	LabelControllerUID    = "controller-uid"
	LabelControllerUIDNew = "batch.kubernetes.io/controller-uid"
)

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

// isJobTerminateReason reports whether a pod was stopped by its Job's
// controller (which, unlike a disruption, sets no DisruptionTarget).
func isJobTerminateReason(r string) bool {
	return r == TerminateJobSuspended || r == TerminateJobSucceeded || r == TerminateJobDeleted
}

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

func viewPods(recs []*PodRecord) []podView {
	out := make([]podView, 0, len(recs))
	for _, r := range recs {
		out = append(out, viewPod(&r.Pod, r.TerminateReason, r.Containers))
	}
	return out
}

func viewPod(p *manifest.Pod, terminateReason string, containers []*ContainerRecord) podView {
	v := podView{
		pod: p, name: p.Name, phase: p.Status.Phase, terminateReason: terminateReason,
		terminating: terminateReason != "" && terminateReason != ReasonPodDeadlineExceeded && !IsTerminalPhase(p.Status.Phase),
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

// jobFinishTime is when a finished Job got its terminal condition.
func jobFinishTime(j *manifest.Job) time.Time {
	for _, typ := range []string{manifest.JobComplete, manifest.JobFailed} {
		if c := hasCondition(&j.Status, typ); c != nil {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

func addCondition(st *manifest.JobStatus, typ, reason, msg string, now time.Time) {
	t := manifest.Time{Time: now.Truncate(time.Second)}
	st.Conditions = append(st.Conditions, manifest.JobCondition{
		Type: typ, Status: "True", Reason: reason, Message: msg, LastProbeTime: t, LastTransitionTime: t,
	})
}

// ensureCondition is the job controller's ensureJobConditionStatus: it
// flips an existing condition of this type to status (with new reason,
// message and times), or adds it if it is missing and status is True. It
// reports whether anything changed.
func ensureCondition(st *manifest.JobStatus, typ, status, reason, msg string, now time.Time) bool {
	t := manifest.Time{Time: now.Truncate(time.Second)}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != typ {
			continue
		}
		if c.Status == status {
			return false
		}
		c.Status, c.Reason, c.Message = status, reason, msg
		c.LastProbeTime, c.LastTransitionTime = t, t
		return true
	}
	if status != "True" {
		return false
	}
	addCondition(st, typ, reason, msg, now)
	return true
}

func deref32(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

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

// reconcileJob is the Job controller's sync (reference §2.4–§2.10): from the
// Job and its pods it returns the new status, what to do, and when to look
// again (0 = only when something changes). It does no I/O.
func reconcileJob(job *manifest.Job, pods []podView, now time.Time) (manifest.JobStatus, jobActions, time.Duration) {
	st := job.Status
	st.Conditions = append([]manifest.JobCondition(nil), job.Status.Conditions...)
	var acts jobActions
	if IsJobFinished(job) {
		return st, acts, 0
	}
	spec := &job.Spec
	indexed := spec.CompletionMode != nil && *spec.CompletionMode == manifest.IndexedCompletion && spec.Completions != nil
	perIndex := indexed && spec.BackoffLimitPerIndex != nil
	// With podReplacementPolicy Failed (implied by a podFailurePolicy) only
	// pods in phase Failed count as failed and replacements wait for the
	// old pod to be terminal; otherwise a pod being stopped counts at once.
	onlyFailed := spec.PodFailurePolicy != nil ||
		spec.PodReplacementPolicy != nil && *spec.PodReplacementPolicy == manifest.ReplaceFailed
	suspended := spec.Suspend != nil && *spec.Suspend
	finishing := hasCondition(&st, manifest.JobFailureTarget) != nil || hasCondition(&st, manifest.JobSuccessCriteriaMet) != nil

	var requeue time.Duration
	wake := func(d time.Duration) {
		if d <= 0 {
			d = time.Millisecond
		}
		if requeue == 0 || d < requeue {
			requeue = d
		}
	}

	if !finishing {
		if suspended {
			if ensureCondition(&st, manifest.JobSuspended, "True", reasonJobSuspended, msgJobSuspended, now) {
				acts.events = append(acts.events, jobEvent{"Normal", "Suspended", msgJobSuspended})
			}
		} else {
			if ensureCondition(&st, manifest.JobSuspended, "False", reasonJobResumed, msgJobResumed, now) {
				// The activeDeadlineSeconds timer counts continuous activity.
				acts.events = append(acts.events, jobEvent{"Normal", "Resumed", msgJobResumed})
				st.StartTime = manifest.NewTime(now)
			}
			if st.StartTime == nil {
				st.StartTime = manifest.NewTime(now)
			}
		}
	}

	var completions int32 = -1
	if spec.Completions != nil {
		completions = *spec.Completions
	}
	inRange := func(i int) bool { return i >= 0 && i < int(completions) }

	var active, succeeded, failed, terminating, ready, restarts int32
	var activePods []podView
	var lastSuccess time.Time
	var failJobMsg string
	succeededIdx := map[int]bool{}
	failedIdx := map[int]bool{}
	busyIdx := map[int]bool{}      // active (or, with onlyFailed, terminating) pods
	idxFailures := map[int]int32{} // counted failures per index
	idxIgnored := map[int]int32{}  // failures an Ignore rule matched
	idxLastFailure := map[int]time.Time{}
	var failures []time.Time
	for _, p := range pods {
		terminal := IsTerminalPhase(p.phase)
		if !terminal && !p.terminating {
			active++
			restarts += p.restarts
			activePods = append(activePods, p)
			if p.ready {
				ready++
			}
			if indexed && inRange(p.index) {
				busyIdx[p.index] = true
			}
			continue
		}
		if p.terminating {
			terminating++
			if onlyFailed && indexed && inRange(p.index) {
				busyIdx[p.index] = true
			}
		}
		uncounted := p.terminateReason == TerminateJobSuspended || p.terminateReason == TerminateJobSucceeded
		killedCounted := p.terminateReason != "" && !uncounted && p.terminateReason != ReasonPodDeadlineExceeded
		if p.phase == manifest.PodSucceeded && (onlyFailed || !killedCounted) {
			succeeded++
			if p.finishedAt.After(lastSuccess) {
				lastSuccess = p.finishedAt
			}
			if indexed && inRange(p.index) {
				succeededIdx[p.index] = true
			}
			continue
		}
		if uncounted || p.phase != manifest.PodFailed && (onlyFailed || !killedCounted) {
			continue
		}
		action := pfpCount
		if p.phase == manifest.PodFailed {
			var msg string
			action, msg = matchPodFailurePolicy(spec.PodFailurePolicy, p.pod)
			if action == pfpFailJob && failJobMsg == "" {
				failJobMsg = msg
			}
		}
		if action == pfpIgnore {
			if indexed && inRange(p.index) {
				idxIgnored[p.index]++
			}
			continue
		}
		failed++
		failures = append(failures, p.finishedAt)
		if indexed && inRange(p.index) {
			idxFailures[p.index]++
			if p.finishedAt.After(idxLastFailure[p.index]) {
				idxLastFailure[p.index] = p.finishedAt
			}
			if perIndex && (action == pfpFailIndex || p.indexFailures >= *spec.BackoffLimitPerIndex) {
				failedIdx[p.index] = true
			}
		}
	}
	for i := range succeededIdx {
		delete(failedIdx, i)
	}
	// Failures after the last success drive the creation back-off.
	var failuresAfter int
	var lastFailure time.Time
	for _, at := range failures {
		if at.After(lastSuccess) {
			failuresAfter++
			if at.After(lastFailure) {
				lastFailure = at
			}
		}
	}
	if indexed {
		succeeded = int32(len(succeededIdx))
		st.CompletedIndexes = formatIndexes(slices.Sorted(maps.Keys(succeededIdx)))
	}
	if perIndex {
		st.FailedIndexes = ptr(formatIndexes(slices.Sorted(maps.Keys(failedIdx))))
	}
	st.Active, st.Succeeded, st.Failed = active, succeeded, failed
	st.Ready = &ready
	st.Terminating = &terminating
	if st.UncountedTerminatedPods == nil {
		st.UncountedTerminatedPods = &manifest.UncountedTerminatedPods{}
	}

	// Conditions, in the controller's order of precedence (§2.5).
	if !finishing {
		backoffLimit := deref32(spec.BackoffLimit, 6)
		onFailure := spec.Template.Spec.RestartPolicy == manifest.RestartPolicyOnFailure
		var deadline time.Time
		if ads := spec.ActiveDeadlineSeconds; ads != nil && !suspended && st.StartTime != nil {
			deadline = st.StartTime.Add(time.Duration(*ads) * time.Second)
		}
		rule := -1
		if indexed {
			rule = matchSuccessPolicy(spec.SuccessPolicy, succeededIdx)
		}
		switch {
		case failJobMsg != "":
			addCondition(&st, manifest.JobFailureTarget, reasonPodFailurePolicy, failJobMsg, now)
		case !onFailure && failed > backoffLimit,
			onFailure && (backoffLimit > 0 && restarts >= backoffLimit || backoffLimit == 0 && restarts > 0):
			addCondition(&st, manifest.JobFailureTarget, reasonBackoffLimitExceeded, msgBackoffLimitExceeded, now)
		case !deadline.IsZero() && !now.Before(deadline):
			addCondition(&st, manifest.JobFailureTarget, reasonDeadlineExceeded, msgDeadlineExceeded, now)
		case perIndex && spec.MaxFailedIndexes != nil && int32(len(failedIdx)) > *spec.MaxFailedIndexes:
			addCondition(&st, manifest.JobFailureTarget, reasonMaxFailedIndexesExceeded, msgMaxFailedIndexesExceeded, now)
		case perIndex && len(failedIdx) > 0 && int32(len(failedIdx)+len(succeededIdx)) >= completions:
			addCondition(&st, manifest.JobFailureTarget, reasonFailedIndexes, msgFailedIndexes, now)
		case rule >= 0:
			addCondition(&st, manifest.JobSuccessCriteriaMet, reasonSuccessPolicy, fmt.Sprintf("Matched rules at index %d", rule), now)
		case completions >= 0 && succeeded >= completions,
			completions < 0 && succeeded > 0 && active == 0:
			addCondition(&st, manifest.JobSuccessCriteriaMet, reasonCompletionsReached, msgCompletionsReached, now)
		}
		if !deadline.IsZero() {
			wake(deadline.Sub(now))
		}
	}

	stopAll := func(reason string) {
		for _, p := range activePods {
			acts.terminate = append(acts.terminate, podToStop{p.name, reason})
		}
	}
	if ft := hasCondition(&st, manifest.JobFailureTarget); ft != nil {
		stopAll(TerminateJobDeleted)
		if active == 0 && terminating == 0 {
			addCondition(&st, manifest.JobFailed, ft.Reason, ft.Message, now)
			acts.events = append(acts.events, jobEvent{"Warning", ft.Reason, ft.Message})
		}
		return st, acts, 0
	}
	if sc := hasCondition(&st, manifest.JobSuccessCriteriaMet); sc != nil {
		stopAll(TerminateJobSucceeded)
		if active == 0 && terminating == 0 {
			addCondition(&st, manifest.JobComplete, sc.Reason, sc.Message, now)
			st.CompletionTime = manifest.NewTime(now)
			acts.events = append(acts.events, jobEvent{"Normal", "Completed", "Job completed"})
		}
		return st, acts, 0
	}
	if suspended {
		stopAll(TerminateJobSuspended)
		return st, acts, 0
	}

	// How many pods should run (manageJob).
	parallelism := deref32(spec.Parallelism, 1)
	var want int32
	switch {
	case completions < 0:
		want = parallelism
		if succeeded > 0 {
			want = active
		}
	case indexed:
		want = max(0, min(completions-int32(len(succeededIdx)+len(failedIdx)), parallelism))
	default:
		want = max(0, min(completions-succeeded, parallelism))
	}
	if active > want {
		// Stop the excess: highest indexes, else pending before running,
		// not ready before ready, newest first.
		slices.SortStableFunc(activePods, func(a, b podView) int {
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
		for _, p := range activePods[:active-want] {
			acts.terminate = append(acts.terminate, podToStop{p.name, TerminateJobDeleted})
		}
		return st, acts, requeue
	}
	diff := want - active
	if onlyFailed {
		diff -= terminating
	}
	if diff <= 0 {
		return st, acts, requeue
	}
	diff = min(diff, 500)
	if !perIndex {
		if d := jobBackoff(failuresAfter); d > 0 {
			if remaining := d - now.Sub(lastFailure); remaining > 0 {
				wake(remaining)
				return st, acts, requeue
			}
		}
	}
	if !indexed {
		for range diff {
			acts.create = append(acts.create, podToCreate{index: -1})
		}
		return st, acts, requeue
	}
	// Indexed: the lowest indexes not succeeded, failed or running; with
	// backoffLimitPerIndex each index waits for its own back-off.
	for i := 0; i < int(completions) && int32(len(acts.create)) < diff; i++ {
		if succeededIdx[i] || failedIdx[i] || busyIdx[i] {
			continue
		}
		if perIndex {
			if d := jobBackoff(int(idxFailures[i])); d > 0 {
				if remaining := d - now.Sub(idxLastFailure[i]); remaining > 0 {
					wake(remaining)
					continue
				}
			}
		}
		acts.create = append(acts.create, podToCreate{index: i, failures: idxFailures[i], ignore: idxIgnored[i]})
	}
	return st, acts, requeue
}

func phaseRank(phase string) int {
	if phase == manifest.PodPending || phase == "" {
		return 0
	}
	return 1
}

// ---- worker ----

// jobWorker drives one Job: it alone writes w.job; UpdateJob hands it
// changes through pending.
type jobWorker struct {
	c        *Controller
	job      *manifest.Job
	kick     chan struct{}
	stop     chan struct{} // closed (once, by halt) to end the worker
	stopOnce sync.Once
	done     chan struct{}

	mu      sync.Mutex
	pending []*manifest.Job // updates from UpdateJob, applied by run
	applied []chan struct{} // closed once the matching update is applied
	stopped map[string]bool // pods this worker asked to stop
}

// ApplyJob starts a fresh run of a Job: a previous Job of the same name is
// stopped and replaced (its pods stay as records until deleted).
func (c *Controller) ApplyJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error) {
	runCtx, err := c.runCtx(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.checkPodSecurity(&j.Spec.Template.ObjectMeta, &j.Spec.Template.Spec); err != nil {
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
	c.runJobWorker(runCtx, job)
	return out, nil
}

// UpdateJob changes the mutable fields of a Job in place from j, the Job
// as re-applied — spec.suspend and spec.parallelism (nil keeps them),
// spec.activeDeadlineSeconds (nil removes it) and metadata.labels (empty
// keeps them); every other field of j is ignored — and wakes its worker. Suspending stops the
// active pods without counting them as failed; resuming restarts the
// activeDeadlineSeconds timer. It returns ErrObjectNotFound (wrapped) for
// an unknown Job.
func (c *Controller) UpdateJob(ctx context.Context, j *manifest.Job) error {
	c.mu.Lock()
	w := c.jobs[key(j.Namespace, j.Name)]
	c.mu.Unlock()
	if w != nil {
		applied := make(chan struct{})
		w.mu.Lock()
		w.pending = append(w.pending, cloneJob(j))
		w.applied = append(w.applied, applied)
		w.mu.Unlock()
		select {
		case w.kick <- struct{}{}:
		default:
		}
		select {
		case <-applied:
			return nil
		case <-w.done:
			// Finished meanwhile: fall back to the store.
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	old, err := c.Store.Job(ctx, j.Namespace, j.Name)
	if err != nil {
		return err
	}
	if !applyMutable(old, j) {
		return nil
	}
	if err := c.Store.SaveJob(ctx, old); err != nil {
		return fmt.Errorf("save job: %w", err)
	}
	c.publish(Change{Job: old})
	return nil
}

// applyMutable copies the mutable fields of upd into j and reports whether
// anything changed.
func applyMutable(j, upd *manifest.Job) bool {
	before, _ := json.Marshal([]any{j.Labels, j.Spec.Suspend, j.Spec.Parallelism, j.Spec.ActiveDeadlineSeconds})
	if len(upd.Labels) > 0 {
		j.Labels = maps.Clone(upd.Labels)
	}
	if upd.Spec.Suspend != nil {
		j.Spec.Suspend = ptr(*upd.Spec.Suspend)
	}
	if upd.Spec.Parallelism != nil {
		j.Spec.Parallelism = ptr(*upd.Spec.Parallelism)
	}
	j.Spec.ActiveDeadlineSeconds = nil
	if upd.Spec.ActiveDeadlineSeconds != nil {
		j.Spec.ActiveDeadlineSeconds = ptr(*upd.Spec.ActiveDeadlineSeconds)
	}
	after, _ := json.Marshal([]any{j.Labels, j.Spec.Suspend, j.Spec.Parallelism, j.Spec.ActiveDeadlineSeconds})
	if bytes.Equal(before, after) {
		return false
	}
	j.Generation++
	if n, err := strconv.Atoi(j.ResourceVersion); err == nil {
		j.ResourceVersion = strconv.Itoa(n + 1)
	}
	return true
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
	if w != nil {
		w.halt() // creates nothing more
		select {
		case <-w.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// The old run's pods go with it (stopped first, then their records,
	// logs and containers), so get pods does not fill with orphans.
	for _, p := range pods {
		if err := c.replacePod(ctx, p.Pod.Namespace, p.Pod.Name); err != nil {
			return err
		}
	}
	if err := c.Store.DeleteJob(ctx, ns, name); err != nil && !errors.Is(err, ErrObjectNotFound) {
		return err
	}
	return nil
}

// halt ends the worker; safe to call more than once.
func (w *jobWorker) halt() { w.stopOnce.Do(func() { close(w.stop) }) }

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

// takeUpdates applies the updates UpdateJob queued and returns the
// channels to close once they are saved.
func (w *jobWorker) takeUpdates() (changed bool, applied []chan struct{}) {
	w.mu.Lock()
	pending, applied := w.pending, w.applied
	w.pending, w.applied = nil, nil
	w.mu.Unlock()
	for _, u := range pending {
		if applyMutable(w.job, u) {
			changed = true
		}
	}
	return changed, applied
}

func (w *jobWorker) save(ctx context.Context) {
	if err := w.c.Store.SaveJob(ctx, w.job); err != nil {
		w.c.logger().Error("save job", "job", w.job.Name, "error", err)
	}
	w.c.publish(Change{Job: cloneJob(w.job)})
}

func (w *jobWorker) run(ctx context.Context) {
	defer close(w.done)
	c := w.c
	if w.stopped == nil {
		w.stopped = map[string]bool{}
	}
	retry := time.Duration(0)
	for {
		if ctx.Err() != nil {
			return // the daemon is stopping; the next start resumes the Job
		}
		recs, err := c.Store.PodsOfJob(ctx, w.job.UID)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Never reconcile on a failed observation: a Job whose pods
			// could not be read is not a Job without pods. Look again
			// after a capped back-off.
			retry = min(max(2*retry, 100*time.Millisecond), 30*time.Second)
			c.logger().Error("list job pods; retrying", "job", w.job.Namespace+"/"+w.job.Name, "error", err, "in", retry)
			if !w.wait(ctx, retry) {
				return
			}
			continue
		}
		retry = 0
		changed, applied := w.takeUpdates()
		now := c.now()
		st, acts, requeue := reconcileJob(w.job, viewPods(recs), now)
		if !jobStatusEqual(&w.job.Status, &st) {
			changed = true
		}
		w.job.Status = st
		// Events first, so whoever sees the new status finds them.
		ref := objectRef(&w.job.TypeMeta, &w.job.ObjectMeta, "")
		for _, e := range acts.events {
			c.recordEvent(ctx, ref, e.typ, e.reason, e.msg, "job-controller")
		}
		if changed {
			w.save(ctx)
		}
		for _, ch := range applied {
			close(ch)
		}
		for _, p := range acts.terminate {
			if w.stopped[p.name] {
				continue
			}
			w.stopped[p.name] = true
			if c.TerminatePod(w.job.Namespace, p.name, p.reason, "") {
				c.recordEvent(ctx, ref, "Normal", "SuccessfulDelete", "Deleted pod: "+p.name, "job-controller")
			}
		}
		for _, pc := range acts.create {
			if ctx.Err() != nil {
				return
			}
			if err := w.createPod(ctx, pc); err != nil {
				c.recordEvent(ctx, ref, "Warning", "FailedCreate", "Error creating: "+err.Error(), "job-controller")
			}
		}
		if IsJobFinished(w.job) {
			w.afterFinished(ctx)
			return
		}
		if len(acts.create) > 0 {
			continue
		}
		if !w.wait(ctx, requeue) {
			return
		}
	}
}

// wait blocks until a kick, the requeue time (0 = none) or the end; it
// reports whether to go on.
func (w *jobWorker) wait(ctx context.Context, d time.Duration) bool {
	var timerC <-chan time.Time
	if d > 0 {
		timer := w.c.clock().NewTimer(d)
		defer timer.Stop()
		timerC = timer.C()
	}
	select {
	case <-ctx.Done():
		return false
	case <-w.stop:
		return false
	case <-w.kick:
	case <-timerC:
	}
	return true
}

// afterFinished keeps a finished Job's worker until its
// ttlSecondsAfterFinished has passed, then deletes the Job with its pods and
// their logs. Label updates are still applied meanwhile.
func (w *jobWorker) afterFinished(ctx context.Context) {
	ttl := w.job.Spec.TTLSecondsAfterFinished
	if ttl == nil {
		return
	}
	expire := jobFinishTime(w.job).Add(time.Duration(*ttl) * time.Second)
	for {
		changed, applied := w.takeUpdates()
		if changed {
			w.save(ctx)
		}
		for _, ch := range applied {
			close(ch)
		}
		left := expire.Sub(w.c.now())
		if left <= 0 {
			break
		}
		if !w.wait(ctx, left) {
			return
		}
	}
	c := w.c
	recs, err := c.Store.PodsOfJob(ctx, w.job.UID)
	if err != nil {
		c.logger().Error("list job pods", "job", w.job.Name, "error", err)
		return
	}
	for _, r := range recs {
		if err := c.deletePodRecord(ctx, r.Pod.Namespace, r.Pod.Name); err != nil {
			c.logger().Error("delete pod", "pod", r.Pod.Name, "error", err)
			continue
		}
		c.publish(Change{Pod: &manifest.Pod{ObjectMeta: manifest.ObjectMeta{Namespace: r.Pod.Namespace, Name: r.Pod.Name}}, Deleted: true})
	}
	if err := c.Store.DeleteJob(ctx, w.job.Namespace, w.job.Name); err != nil && !errors.Is(err, ErrObjectNotFound) {
		c.logger().Error("delete job", "job", w.job.Name, "error", err)
		return
	}
	c.publish(Change{Job: &manifest.Job{ObjectMeta: manifest.ObjectMeta{Namespace: w.job.Namespace, Name: w.job.Name}}, Deleted: true})
}

func jobStatusEqual(a, b *manifest.JobStatus) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// createPod creates one pod from the Job's template (reference §2.3).
func (w *jobWorker) createPod(ctx context.Context, pc podToCreate) error {
	job := w.job
	var spec manifest.PodSpec
	deepCopy(&job.Spec.Template.Spec, &spec)
	labels := maps.Clone(job.Spec.Template.Labels)
	annotations := maps.Clone(job.Spec.Template.Annotations)
	if pc.index >= 0 {
		if labels == nil {
			labels = map[string]string{}
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
		idx := strconv.Itoa(pc.index)
		labels[LabelCompletionIndex] = idx
		annotations[AnnotationCompletionIndex] = idx
		if job.Spec.BackoffLimitPerIndex != nil {
			annotations[AnnotationIndexFailureCount] = strconv.Itoa(int(pc.failures))
			if pc.ignore > 0 {
				annotations[AnnotationIndexIgnoredFailures] = strconv.Itoa(int(pc.ignore))
			}
		}
		spec.Hostname = job.Name + "-" + idx
		addCompletionIndexEnv(&spec)
	}
	pod := &manifest.Pod{
		ObjectMeta: manifest.ObjectMeta{
			Name:        podGenerateName(job.Name, pc.index) + randSuffix(5),
			Namespace:   job.Namespace,
			Labels:      labels,
			Annotations: annotations,
			OwnerReferences: []manifest.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
			Finalizers: []string{"batch.kubernetes.io/job-tracking"},
		},
		Spec: spec,
	}
	rec := w.c.newPodRecord(pod)
	if err := w.c.startPod(ctx, rec); err != nil {
		return err
	}
	w.c.recordEvent(ctx, objectRef(&job.TypeMeta, &job.ObjectMeta, ""), "Normal", "SuccessfulCreate",
		"Created pod: "+pod.Name, "job-controller")
	return nil
}

func ptr[T any](v T) *T { return &v }
