package kubelet

import (
	"context"
	"errors"
	"time"

	"github.com/localjobs/localjobs/runner"
)

// adoptedRun is a container instance found running at restore: its worker
// resumes waiting for it and following its log.
type adoptedRun struct {
	index   int
	restart int32
	id      string
	since   time.Time
	logf    runner.LogFile
}

// RestoreStats counts what restoring pods' containers found.
type RestoreStats struct {
	Adopted         int // running containers adopted
	Started         int // created-but-not-started containers started now
	Recreated       int // intents whose container never existed (created now by the worker)
	ExitedWhileDown int // exits recorded from the engine
	Vanished        int // recorded containers the engine no longer has
	// Unresolved counts the containers the engine did not answer about
	// (a transport error, not a definite "no such container"): their
	// pods' workers ask again, with a back-off, before anything else.
	Unresolved int
}

// restoreAttempts is how many times Restore asks the engine about one
// container before leaving the question to the pod's worker, so that an
// engine that does not answer does not hold up the other pods.
const restoreAttempts = 3

// CleanStaging removes the staged mounts a crash left behind: they live
// only from a container's create to its start. Call it before restoring.
func (k *Kubelet) CleanStaging() {
	dir := k.Settings.MountDir()
	if dir == "" {
		return
	}
	if err := cleanStaging(dir); err != nil {
		k.Log.Warn("clean staged mounts", "dir", dir, "error", err)
	}
}

// Restore resumes an unfinished pod after a daemon (re)start: it
// reconciles each recorded container instance with the engine by its
// deterministic name (DESIGN §5), saves the record and returns the worker
// to run. An intent without a container is created (nothing ran, so it is
// not a failure); a created container is started; a running one is
// adopted, with its wait and log capture resumed from the last line
// written; an exit that happened while the daemon was down is recorded as
// it was; only a container the engine no longer has becomes
// ContainerStatusUnknown (exit 137). An engine that does not answer (a
// transport error) is not evidence that a container is gone: the pod's
// worker asks again, with a back-off, until it gets an answer.
func (k *Kubelet) Restore(ctx context.Context, rec *runner.PodRecord, st *RestoreStats) (*Worker, error) {
	w := k.NewWorker(rec)
	for i, cr := range rec.Containers {
		a, ok, err := k.reconcileRun(ctx, rec, cr, restoreAttempts, st)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			k.Log.Warn("inspect container at restore; the pod's worker retries", "pod", rec.Pod.Namespace+"/"+rec.Pod.Name,
				"container", cr.Name, "error", err)
			w.unresolved = append(w.unresolved, i)
			st.Unresolved++
			continue
		}
		if ok {
			a.index = i
			w.adopted = append(w.adopted, a)
		}
	}
	if err := k.Store.SavePod(ctx, rec); err != nil {
		return nil, err
	}
	return w, nil
}

// reconcileRun brings one container record in line with the engine,
// asking it up to attempts times (0: until ctx ends) with a back-off. It
// returns the instance to adopt when the container is running, or the
// engine's last error, the record untouched, when it never answered.
func (k *Kubelet) reconcileRun(ctx context.Context, rec *runner.PodRecord, cr *runner.ContainerRecord, attempts int, st *RestoreStats) (adoptedRun, bool, error) {
	r := cr.Current
	if r == nil || r.Step == runner.StepExited {
		return adoptedRun{}, false, nil
	}
	ref := r.ID
	if ref == "" {
		ref = r.EngineName
	}
	info, err := k.inspectRetrying(ctx, ref, attempts)
	switch {
	case errors.Is(err, runner.ErrNotFound) && r.Step == runner.StepIntent:
		// Nothing was created, so nothing ran: undo the intent and let
		// the worker create the container as if for the first time.
		undoIntent(cr)
		st.Recreated++
		return adoptedRun{}, false, nil
	case errors.Is(err, runner.ErrNotFound):
		vanished(r, msgNotLocated, k.now())
		st.Vanished++
		return adoptedRun{}, false, nil
	case err != nil:
		return adoptedRun{}, false, err
	}
	a, ok := k.reconcileFound(ctx, rec, cr, info, st)
	return a, ok, nil
}

// inspectRetrying inspects a container, asking again with a back-off
// (100 ms doubling, capped at 30 s) while the engine does not answer
// definitely, up to attempts times (0: until ctx ends).
func (k *Kubelet) inspectRetrying(ctx context.Context, ref string, attempts int) (runner.ContainerInfo, error) {
	var delay time.Duration
	for n := 1; ; n++ {
		info, err := k.Runtime.Inspect(ctx, ref)
		if err == nil || errors.Is(err, runner.ErrNotFound) || ctx.Err() != nil || n == attempts {
			return info, err
		}
		delay = runner.NextBackoff(delay)
		if !runner.Sleep(ctx, k.Clock, delay) {
			return info, ctx.Err()
		}
	}
}

// reconcileFound brings a container record in line with the engine's
// view of its container: a running one is adopted, a created one
// started, an exited one recorded.
func (k *Kubelet) reconcileFound(ctx context.Context, rec *runner.PodRecord, cr *runner.ContainerRecord, info runner.ContainerInfo, st *RestoreStats) (adoptedRun, bool) {
	r := cr.Current
	r.ID = info.ID
	if r.CreatedAt.IsZero() {
		r.CreatedAt = info.CreatedAt
	}
	logf, lerr := k.Store.OpenLog(rec.Pod.Namespace, rec.Pod.Name, rec.Pod.UID, cr.Name, r.Restart)
	if lerr != nil {
		k.Log.Error("open log at restore", "pod", rec.Pod.Namespace+"/"+rec.Pod.Name, "container", cr.Name, "error", lerr)
	}
	since := time.Time{}
	if logf != nil {
		since = logf.LastTimestamp()
	}
	a := adoptedRun{restart: r.Restart, id: info.ID, since: since, logf: logf}
	switch {
	case info.Running:
		r.Step = runner.StepStarted
		if !info.StartedAt.IsZero() {
			r.StartedAt = info.StartedAt
		}
		st.Adopted++
		return a, true
	case info.Status == "created" && info.Error == "" && info.ExitCode == 0:
		return k.restoreCreated(ctx, cr, info, a, st)
	default:
		// It exited (or failed to start) while we were down: keep the lines
		// written since the last capture, then record the real exit.
		if logf != nil {
			if err := k.Runtime.Logs(ctx, info.ID, since, false, logf); err != nil {
				k.Log.Warn("log catch-up at restore", "pod", rec.Pod.Namespace+"/"+rec.Pod.Name, "container", cr.Name, "error", err)
			}
			logf.Close()
		}
		applyExit(r, info)
		st.ExitedWhileDown++
		return adoptedRun{}, false
	}
}

// resolve finishes the restore of the containers Restore could not ask
// the engine about: it asks until the engine answers, then adopts, starts
// or records each as Restore would have, and saves the record. It reports
// false once ctx has ended.
func (w *Worker) resolve(ctx context.Context) bool {
	if len(w.unresolved) == 0 {
		return true
	}
	var st RestoreStats
	for _, i := range w.unresolved {
		cr := w.rec.Containers[i]
		a, ok, err := w.k.reconcileRun(ctx, w.rec, cr, 0, &st)
		if err != nil {
			return false // only ctx ends the retries
		}
		if ok {
			a.index = i
			w.adopted = append(w.adopted, a)
		}
	}
	w.unresolved = nil
	w.save(ctx)
	return true
}

// restoreCreated handles a container that was created but never started:
// it is started now, unless its bind sources were staged (they are gone
// now), when it is removed and created again as if for the first time.
func (k *Kubelet) restoreCreated(ctx context.Context, cr *runner.ContainerRecord, info runner.ContainerInfo, a adoptedRun, st *RestoreStats) (adoptedRun, bool) {
	r := cr.Current
	closeLog := func() {
		if a.logf != nil {
			a.logf.Close()
		}
	}
	if info.Labels[runner.LabelStagedMounts] == "true" {
		closeLog()
		if err := k.Runtime.Remove(ctx, info.ID); err != nil {
			k.Log.Warn("remove container with staged mounts at restore", "container", info.ID, "error", err)
		}
		undoIntent(cr)
		st.Recreated++
		return adoptedRun{}, false
	}
	if err := k.startContainer(ctx, info.ID); err != nil {
		closeLog()
		r.Step = runner.StepExited
		r.Reason, r.Message, r.ExitCode = "ContainerCannotRun", startErrorMessage(err), 128
		r.StartedAt, r.FinishedAt = info.CreatedAt, info.CreatedAt
		return adoptedRun{}, false
	}
	r.Step = runner.StepStarted
	r.StartedAt = k.now()
	st.Started++
	return a, true
}

// undoIntent forgets the container's current instance, which never ran:
// the one before it is current again.
func undoIntent(cr *runner.ContainerRecord) {
	cr.Current, cr.Last = cr.Last, nil
	if cr.Current != nil {
		cr.RestartCount--
	}
}
