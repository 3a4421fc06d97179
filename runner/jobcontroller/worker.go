package jobcontroller

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Store is what the Job controller needs from persistence; runner.Store
// has it.
type Store interface {
	// PodsOfJob lists the pods whose controller is the Job with this UID.
	PodsOfJob(ctx context.Context, jobUID string) ([]*runner.PodRecord, error)
	SaveJob(ctx context.Context, j *manifest.Job) error
}

// Host is what the Job controller needs from the controller that runs it:
// pods are created, stopped and deleted there.
type Host interface {
	// CreatePod stores a new pod of the Job, with events (about the Job)
	// in the same write, publishes them and starts the pod.
	CreatePod(ctx context.Context, pod *manifest.Pod, events ...*manifest.Event) error
	// TerminatePod asks a running pod to stop with reason (its
	// TerminateReason); it reports false if the pod does not run.
	TerminatePod(ns, name, reason, message string) bool
	// DeleteExpiredJob deletes a finished Job whose
	// ttlSecondsAfterFinished has passed, with its pods and their logs.
	// An error means the Job is not (wholly) deleted: the worker tries
	// again after a back-off.
	DeleteExpiredJob(ctx context.Context, job *manifest.Job) error
	// Publish delivers a change of the Job to subscribers.
	Publish(ch runner.Change)
	// RecordEvent stores and publishes an event about ref.
	RecordEvent(ctx context.Context, ref manifest.ObjectReference, typ, reason, msg, component string)
	// NewEvent returns an event about ref, named and timed, for the
	// caller to have stored (CreatePod).
	NewEvent(ref manifest.ObjectReference, typ, reason, msg, component string) *manifest.Event
}

// Controller is the Job controller: what its workers, one per unfinished
// Job, share. Fill the fields before the first worker starts.
type Controller struct {
	Store Store
	Host  Host
	Clock runner.Clock
	Log   *slog.Logger
}

// Worker drives one Job: it alone writes its Job; Update hands it
// changes.
type Worker struct {
	c        *Controller
	job      *manifest.Job
	uid      string
	kick     chan struct{}
	stop     chan struct{} // closed (once, by Halt) to end the worker
	stopOnce sync.Once
	done     chan struct{}

	mu      sync.Mutex
	pending []*manifest.Job // updates from Update, applied by Run
	applied []chan struct{} // closed once the matching update is applied
	stopped map[string]bool // pods this worker asked to stop
	// unsaved is set while the Job in memory has changes the store did
	// not take (Run's goroutine only): the next round saves it again.
	unsaved bool
}

// NewWorker returns the worker of a stored Job; Run runs it.
func (c *Controller) NewWorker(job *manifest.Job) *Worker {
	return &Worker{
		c: c, job: job, uid: job.UID,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		stopped: map[string]bool{},
	}
}

// UID is the Job's UID.
func (w *Worker) UID() string { return w.uid }

// Done is closed when Run has returned.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Halt ends the worker: it creates nothing more. Safe to call more than
// once.
func (w *Worker) Halt() { w.stopOnce.Do(func() { close(w.stop) }) }

// Kick makes the worker look at the Job again: one of its pods changed.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Update hands the worker the mutable fields of j (see ApplyMutable) and
// waits until they are applied and saved. It reports false if the worker
// ended first: the caller then updates the stored Job itself.
func (w *Worker) Update(ctx context.Context, j *manifest.Job) (bool, error) {
	applied := make(chan struct{})
	w.mu.Lock()
	w.pending = append(w.pending, runner.Clone(j))
	w.applied = append(w.applied, applied)
	w.mu.Unlock()
	w.Kick()
	select {
	case <-applied:
		return true, nil
	case <-w.done:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// takeUpdates applies the updates Update queued and returns the
// channels to close once they are saved.
func (w *Worker) takeUpdates() (changed bool, applied []chan struct{}) {
	w.mu.Lock()
	pending, applied := w.pending, w.applied
	w.pending, w.applied = nil, nil
	w.mu.Unlock()
	changed = w.unsaved
	for _, u := range pending {
		if ApplyMutable(w.job, u) {
			changed = true
		}
	}
	return changed, applied
}

// save stores the Job and publishes it once stored. A failed save is
// returned (not published): what it was to record must not be acted on.
func (w *Worker) save(ctx context.Context) error {
	if err := w.c.Store.SaveJob(ctx, w.job); err != nil {
		return err
	}
	w.c.Host.Publish(runner.Change{Job: runner.Clone(w.job)})
	return nil
}

// saved closes the channels of the updates applied, once they are saved
// (err == nil); otherwise it keeps them for the next save.
func (w *Worker) saved(err error, applied []chan struct{}) {
	w.unsaved = err != nil
	if err != nil {
		w.mu.Lock()
		w.applied = append(applied, w.applied...)
		w.mu.Unlock()
		return
	}
	for _, ch := range applied {
		close(ch)
	}
}

// Run is the worker loop: observe the Job's pods, reconcile, act, wait for
// a kick or the requeue time, until the Job is finished (and its TTL, if
// any, has run out) or Halt.
func (w *Worker) Run(ctx context.Context) {
	defer close(w.done)
	retry := time.Duration(0)
	for {
		if ctx.Err() != nil {
			return // the daemon is stopping; the next start resumes the Job
		}
		// Never act on a failed observation or an unrecorded status: a
		// Job whose pods could not be read is not a Job without pods,
		// and a status not saved is not acted on. Each failure is retried
		// after a capped back-off.
		recs, err := w.c.Store.PodsOfJob(ctx, w.job.UID)
		if err != nil {
			if !w.backOff(ctx, &retry, "list job pods", err) {
				return
			}
			continue
		}
		acts, requeue, err := w.sync(ctx, recs)
		if err != nil {
			if !w.backOff(ctx, &retry, "save job", err) {
				return
			}
			continue
		}
		err = w.act(ctx, acts)
		if ctx.Err() != nil {
			return
		}
		if runner.IsJobFinished(w.job) {
			w.afterFinished(ctx)
			return
		}
		if err != nil {
			if !w.backOff(ctx, &retry, "create job pods", err) {
				return
			}
			continue
		}
		retry = 0
		if len(acts.create) > 0 {
			continue
		}
		if !w.wait(ctx, requeue) {
			return
		}
	}
}

// backOff logs a failed step of the worker loop (what) and waits the
// next back-off (100 ms doubling, capped at 30 s) or a kick; it reports
// whether to go on.
func (w *Worker) backOff(ctx context.Context, retry *time.Duration, what string, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	*retry = runner.NextBackoff(*retry)
	w.c.Log.Error(what+"; retrying", "job", w.job.Namespace+"/"+w.job.Name, "error", err, "in", *retry)
	return w.wait(ctx, *retry)
}

// sync applies pending updates, reconciles the Job with its pods and
// records the new status, events first (so whoever sees the new status
// finds them). A failed save is returned: the actions are not to be taken.
func (w *Worker) sync(ctx context.Context, recs []*runner.PodRecord) (jobActions, time.Duration, error) {
	changed, applied := w.takeUpdates()
	st, acts, requeue := reconcileJob(w.job, viewPods(recs), w.c.Clock.Now())
	if !jobStatusEqual(&w.job.Status, &st) {
		changed = true
	}
	w.job.Status = st
	for _, e := range acts.events {
		w.event(ctx, e.typ, e.reason, e.msg)
	}
	var err error
	if changed {
		err = w.save(ctx)
	}
	w.saved(err, applied)
	return acts, requeue, err
}

// act stops and creates the pods reconcileJob asked for. It returns the
// first creation that failed (each has its FailedCreate event), or
// ctx.Err() if ctx ended meanwhile.
func (w *Worker) act(ctx context.Context, acts jobActions) error {
	for _, p := range acts.terminate {
		if w.stopped[p.name] {
			continue
		}
		w.stopped[p.name] = true
		if w.c.Host.TerminatePod(w.job.Namespace, p.name, p.reason, "") {
			w.event(ctx, "Normal", "SuccessfulDelete", "Deleted pod: "+p.name)
		}
	}
	var first error
	for _, pc := range acts.create {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := w.createPod(ctx, pc); err != nil {
			w.event(ctx, "Warning", "FailedCreate", "Error creating: "+err.Error())
			first = cmp.Or(first, err)
		}
	}
	return first
}

// event records an event about the Job from the job controller.
func (w *Worker) event(ctx context.Context, typ, reason, msg string) {
	ref := runner.ObjectRef(&w.job.TypeMeta, &w.job.ObjectMeta, "")
	w.c.Host.RecordEvent(ctx, ref, typ, reason, msg, "job-controller")
}

// wait blocks until a kick, the requeue time (0 = none) or the end; it
// reports whether to go on.
func (w *Worker) wait(ctx context.Context, d time.Duration) bool {
	timerC, stop := runner.After(w.c.Clock, d)
	defer stop()
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
// ttlSecondsAfterFinished has passed, then has the Job deleted with its
// pods and their logs. Label updates are still applied meanwhile.
func (w *Worker) afterFinished(ctx context.Context) {
	ttl := w.job.Spec.TTLSecondsAfterFinished
	if ttl == nil {
		return
	}
	expire := jobFinishTime(w.job).Add(time.Duration(*ttl) * time.Second)
	retry := time.Duration(0)
	for {
		changed, applied := w.takeUpdates()
		var err error
		if changed {
			err = w.save(ctx)
		}
		w.saved(err, applied)
		left := expire.Sub(w.c.Clock.Now())
		if left <= 0 {
			break
		}
		if err != nil {
			if !w.backOff(ctx, &retry, "save job", err) {
				return
			}
			continue
		}
		retry = 0
		if !w.wait(ctx, left) {
			return
		}
	}
	for {
		err := w.c.Host.DeleteExpiredJob(ctx, w.job)
		if err == nil || !w.backOff(ctx, &retry, "delete expired job", err) {
			return
		}
	}
}

func jobStatusEqual(a, b *manifest.JobStatus) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
