package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// exitMsg reports that one container instance stopped (or that watching it
// failed).
type exitMsg struct {
	index   int
	restart int32
	info    runner.ContainerInfo
	err     error
	message string // termination message (file, or logs on error)
}

// Worker drives one pod. It alone writes its record; everything else
// talks to it through channels.
type Worker struct {
	k         *Kubelet
	rec       *runner.PodRecord
	exits     chan exitMsg
	done      chan struct{} // closed when the worker returns
	stopping  map[int]bool  // stop already requested per container index
	terminate chan Termination
	// adopted are instances found running when the daemon restarted
	// (restore.go); Run resumes watching them before anything else.
	adopted []adoptedRun
	// unresolved are the indexes of the containers the engine did not
	// answer about at restore; Run asks again before anything else.
	unresolved []int
	// setup is the pod's prepared volumes and sandbox; nil until the first
	// container starts.
	setup *podSetup
	// grace overrides the pod's grace period once a delete asked for a
	// shorter one.
	grace *time.Duration
	// exited are the engine IDs of instances whose exit was recorded and
	// that are not yet queued for removal (remove.go).
	exited []string
	// pull is the image pull in progress, which a termination cancels.
	pull pullGuard

	// events are the events recorded and not yet written (eventLater):
	// the next save writes them with the record, in one commit.
	evMu   sync.Mutex
	events []*manifest.Event
}

// reasonKilled marks a pod localjobs stopped without a more specific
// reason (its Job finished or failed, run was interrupted or timed out).
const reasonKilled = "Killed"

// Termination asks a worker to stop its pod.
type Termination struct {
	// Reason becomes PodRecord.TerminateReason ("" = Killed); Message the
	// pod's message.
	Reason, Message string
	// Grace, if set, overrides the pod's termination grace period
	// (kubectl delete --grace-period; 0 with --force kills at once).
	Grace *time.Duration
	// Delete marks a user's delete: the pod gets its deletionTimestamp and
	// deletionGracePeriodSeconds, so it shows Terminating until it is gone.
	Delete bool
}

// NewWorker returns the worker of a stored pod record; Run runs it.
func (k *Kubelet) NewWorker(rec *runner.PodRecord) *Worker {
	return &Worker{
		k:         k,
		rec:       rec,
		exits:     make(chan exitMsg, len(rec.Containers)+1),
		done:      make(chan struct{}),
		stopping:  map[int]bool{},
		terminate: make(chan Termination, 4),
	}
}

// Done is closed when Run has returned.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Terminate hands the worker a request to stop the pod; it returns once
// the worker has it or has ended, or when ctx is done. The worker stops the
// containers with the grace period and the pod ends Failed (or Succeeded if
// everything had succeeded).
func (w *Worker) Terminate(ctx context.Context, t Termination) error {
	// An image pull in progress would hold the worker (and the deleting
	// caller) for as long as the pull takes: stop it.
	w.pull.terminate()
	select {
	case w.terminate <- t:
		return nil
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Worker) log() *slog.Logger {
	return w.k.Log.With("pod", w.rec.Pod.Namespace+"/"+w.rec.Pod.Name)
}

// Run is the worker loop: reconcile, act, wait for a change or the requeue
// time, repeat until the pod is terminal. When ctx ends it returns and the
// containers keep running.
func (w *Worker) Run(ctx context.Context) {
	defer close(w.done)
	defer w.flushEvents() // what no save took
	if !w.admit(ctx) {
		return
	}
	defer w.k.release()
	if !w.resolve(ctx) {
		return
	}
	inflight := 0
	for _, a := range w.adopted {
		w.k.wg.Add(1)
		go w.watch(ctx, a.index, runner.Clone(&w.rec.Pod), w.rec.Containers[a.index].Name, a.restart, a.id, a.since, a.logf)
		inflight++
	}
	w.adopted = nil
	retry := time.Duration(0)
	for {
		if ctx.Err() != nil {
			return // the daemon is stopping; containers keep running
		}
		w.takeTerminations()
		prev := w.snapshotWaiting()
		prevTerminate := w.rec.TerminateReason
		acts, requeue := reconcilePod(w.rec, w.k.now())
		w.waitingEvents(prev)
		if prevTerminate == "" && w.rec.TerminateReason == runner.ReasonPodDeadlineExceeded {
			// The kubelet's active deadline handler records this as a
			// Normal event (pkg/kubelet/active_deadline.go).
			w.eventLater(nil, "Normal", runner.ReasonPodDeadlineExceeded, msgPodDeadlineExceeded)
		}
		finished := runner.IsTerminalPhase(w.rec.Pod.Status.Phase) && inflight == 0
		if finished {
			// The sandbox and volumes go before the terminal state is
			// published, so whoever sees it sees them gone.
			w.teardown(ctx)
		}
		// Publishing the terminal state wakes the pod's Job. A record the
		// store did not take is not acted on — no start, no stop, and
		// no end of the worker while its terminal state is unsaved: it
		// is saved again after a capped back-off.
		if err := w.save(ctx); err != nil {
			retry = runner.NextBackoff(retry)
			w.flushEvents()
			if ctx.Err() != nil || !w.wait(ctx, retry, &inflight) {
				return
			}
			continue
		}
		retry = 0
		if finished {
			w.removeFinished(ctx)
			return
		}
		w.removeRecordedExits(ctx)
		for _, a := range acts {
			switch a.kind {
			case actStart:
				// What the start leaves (running, or waiting after a
				// failure) is saved at the top of the loop, which comes
				// next (below).
				if w.start(ctx, a.index) {
					inflight++
				}
			case actStop:
				w.stop(ctx, a.index)
			}
		}
		if hasStart(acts) {
			// Starting may have changed what to do next (a start error,
			// the next init container…): reconcile again at once.
			continue
		}
		w.flushEvents()
		if !w.wait(ctx, requeue, &inflight) {
			return
		}
	}
}

// wait blocks until something may have changed: a container exited, a
// termination was asked for, or the requeue time (0 = none) passed. It
// reports false once ctx is done.
func (w *Worker) wait(ctx context.Context, requeue time.Duration, inflight *int) bool {
	timerC, stop := runner.After(w.k.Clock, requeue)
	defer stop()
	select {
	case <-ctx.Done():
		return false
	case m := <-w.exits:
		*inflight--
		w.recordExit(m)
	case r := <-w.terminate:
		w.terminated(r)
	case <-timerC:
	}
	return true
}

// takeTerminations records the termination requests already queued, so a
// start they cancelled is not tried again.
func (w *Worker) takeTerminations() {
	for {
		select {
		case r := <-w.terminate:
			w.terminated(r)
		default:
			return
		}
	}
}

// terminated records a termination request: the first reason stays, and a
// shorter grace period replaces a longer one.
func (w *Worker) terminated(r Termination) {
	if w.rec.TerminateReason == "" {
		w.rec.TerminateReason, w.rec.TerminateMessage = r.Reason, r.Message
		if r.Reason == "" {
			w.rec.TerminateReason = reasonKilled
		}
		w.rec.TerminateAt = w.k.now()
	}
	if r.Grace != nil && (w.grace == nil || *r.Grace < *w.grace) {
		w.grace = r.Grace
		// Containers already stopping are stopped again with the
		// shorter grace, as a second kubectl delete does.
		clear(w.stopping)
	}
	if r.Delete {
		now := w.k.now()
		secs := int64(w.gracePeriod() / time.Second)
		p := &w.rec.Pod
		if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds != nil && secs < *p.DeletionGracePeriodSeconds {
			p.DeletionTimestamp = &manifest.Time{Time: now.Truncate(time.Second).Add(time.Duration(secs) * time.Second)}
			p.DeletionGracePeriodSeconds = &secs
		}
	}
}

func hasStart(acts []podAction) bool {
	for _, a := range acts {
		if a.kind == actStart {
			return true
		}
	}
	return false
}

// save derives the pod status from the record and stores both, so every
// stored version is consistent, then publishes it. It returns the store's
// error (also logged), and publishes nothing then: a step that save was
// to record before it is taken must not be taken, and nobody is told of
// a state the store does not hold.
//
// The events recorded with eventLater since the last write are written
// in the same commit, before the record, and published before it.
func (w *Worker) save(ctx context.Context) error {
	if !runner.IsTerminalPhase(w.rec.Pod.Status.Phase) {
		w.rec.Pod.Status = derivePodStatus(w.rec, w.k.now())
	}
	events := w.takeEvents()
	if err := w.k.Store.SavePodEvents(ctx, w.rec, events); err != nil {
		if ctx.Err() == nil {
			w.log().Error("save pod", "error", err)
		}
		w.evMu.Lock()
		w.events = append(events, w.events...) // for the next write
		w.evMu.Unlock()
		return err
	}
	for _, e := range events {
		w.k.Host.Publish(runner.Change{Event: e})
	}
	w.k.Host.Publish(runner.Change{Pod: runner.Clone(&w.rec.Pod), Record: runner.Clone(w.rec)})
	return nil
}

func (w *Worker) takeEvents() []*manifest.Event {
	w.evMu.Lock()
	defer w.evMu.Unlock()
	events := w.events
	w.events = nil
	return events
}

// flushEvents writes and publishes the events no save has taken. As
// RecordEvent, a failed write is logged and the events published all the
// same.
func (w *Worker) flushEvents() {
	events := w.takeEvents()
	if len(events) == 0 {
		return
	}
	if err := w.k.Store.SavePodEvents(context.Background(), nil, events); err != nil {
		w.log().Error("record events", "reason", events[0].Reason, "events", len(events), "error", err)
	}
	for _, e := range events {
		w.k.Host.Publish(runner.Change{Event: e})
	}
}

func (w *Worker) snapshotWaiting() []string {
	out := make([]string, len(w.rec.Containers))
	for i, c := range w.rec.Containers {
		if c.Waiting != nil {
			out[i] = c.Waiting.Reason
		}
	}
	return out
}

// waitingEvents records the BackOff events the kubelet emits when a
// container enters a back-off.
func (w *Worker) waitingEvents(prev []string) {
	for i, c := range w.rec.Containers {
		if c.Waiting == nil || prev[i] == c.Waiting.Reason {
			continue
		}
		spec := containerSpec(&w.rec.Pod.Spec, c)
		switch c.Waiting.Reason {
		case runner.ReasonImagePullBackOff:
			w.eventLater(c, "Normal", "BackOff", fmt.Sprintf("Back-off pulling image %q", spec.Image))
			w.eventLater(c, "Warning", "Failed", "Error: "+runner.ReasonImagePullBackOff)
		case "CrashLoopBackOff":
			w.eventLater(c, "Warning", "BackOff", fmt.Sprintf("Back-off restarting failed container %s in pod %s_%s(%s)",
				c.Name, w.rec.Pod.Name, w.rec.Pod.Namespace, w.rec.Pod.UID))
		}
	}
}

// event records an event about the pod, or with c about one of its
// containers, from the kubelet, at once (with those eventLater held).
// Any goroutine of the worker may call it.
func (w *Worker) event(c *runner.ContainerRecord, typ, reason, msg string) {
	w.eventLater(c, typ, reason, msg)
	w.flushEvents()
}

// eventLater records an event as event does, to be written with the
// record by the next save, which the worker's loop makes before it waits
// (or, failing that, flushEvents): for the events of a step that is
// saved next, so that the step and its events take one commit.
func (w *Worker) eventLater(c *runner.ContainerRecord, typ, reason, msg string) {
	field := ""
	if c != nil {
		field = fmt.Sprintf("spec.containers{%s}", c.Name)
		if c.Init {
			field = fmt.Sprintf("spec.initContainers{%s}", c.Name)
		}
	}
	e := w.k.Host.NewEvent(runner.ObjectRef(&w.rec.Pod.TypeMeta, &w.rec.Pod.ObjectMeta, field), typ, reason, msg, "kubelet")
	w.evMu.Lock()
	w.events = append(w.events, e)
	w.evMu.Unlock()
}
