package kubelet

import (
	"context"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// watch captures one instance's logs and reports its exit. Once the exit
// is known the log follow is stopped and the output read once more from
// the last line captured (logcapture.go): the follow lags the exit, and
// waiting for it to end by itself would hold up every attempt.
func (w *Worker) watch(ctx context.Context, i int, pod *manifest.Pod, name string, restart int32, id string, since time.Time, logf runner.LogFile) {
	defer w.k.wg.Done()
	var sink runner.LogSink = discard{}
	if logf != nil {
		// Name and Init never change; the rest of the record is the worker's.
		c := w.rec.Containers[i]
		sink = &logGuard{w: w, container: &runner.ContainerRecord{Name: c.Name, Init: c.Init}, file: logf}
	}
	// Every captured line is also published, in order with the pod's
	// changes, for the printers of run and up (watch with logs).
	sink = teeSink{sink, func(ts time.Time, stream string, line []byte, partial bool) {
		w.k.Host.Publish(runner.Change{Log: &runner.LogLine{Namespace: pod.Namespace, Pod: pod.Name, PodUID: pod.UID, Container: name,
			Time: ts, Stream: stream, Line: string(line), Partial: partial}})
	}}
	capt := newCapture(w, id, since, sink)
	followCtx, stopFollow := context.WithCancel(ctx)
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		capt.follow(followCtx)
	}()
	info, err := w.waitExit(ctx, id)
	stopFollow()
	<-logsDone
	if ctx.Err() == nil && err == nil && !capt.complete(info.FinishedAt) {
		capt.catchUp(ctx)
	}
	if logf != nil {
		logf.Close()
	}
	if ctx.Err() != nil {
		return
	}
	msg := ""
	if err == nil {
		msg = w.k.terminationMessage(ctx, pod, name, restart, id, info)
	}
	w.exits <- exitMsg{index: i, restart: restart, info: info, err: err, message: msg}
}

// stop asks the engine to stop container i's instance with the pod's grace
// period; its watcher reports the exit.
func (w *Worker) stop(ctx context.Context, i int) {
	c := w.rec.Containers[i]
	if w.stopping[i] || c.Current == nil {
		return
	}
	w.stopping[i] = true
	grace := w.gracePeriod()
	w.event(c, "Normal", "Killing", "Stopping container "+c.Name)
	id := c.Current.ID
	if id == "" {
		// Only the intent was recorded; nothing to stop.
		c.Current.Step = runner.StepExited
		c.Current.ExitCode = 137
		c.Current.Reason = "ContainerStatusUnknown"
		return
	}
	// The stop runs on in the engine even if the daemon stops meanwhile,
	// so the daemon does not wait for it (a grace period can be long): the
	// pod's TerminateReason is recorded, and a restarted daemon stops the
	// container again if it still runs. Its watcher reports the exit.
	go func() {
		sctx := context.WithoutCancel(ctx)
		if err := w.k.Runtime.Stop(sctx, id, grace); err != nil {
			w.log().Error("stop container", "container", c.Name, "error", err)
		}
	}()
}

// recordExit records the final state of an instance.
func (w *Worker) recordExit(m exitMsg) {
	c := w.rec.Containers[m.index]
	r := c.Current
	if r == nil || r.Restart != m.restart || r.Step == runner.StepExited {
		return
	}
	r.Step = runner.StepExited
	delete(w.stopping, m.index)
	if m.err != nil {
		vanished(r, msgNotLocated, w.k.now())
		return
	}
	applyExit(r, m.info)
	w.exited = append(w.exited, r.ID)
	if m.message != "" {
		r.Message = m.message
	}
}

// msgNotLocated is the kubelet's message for a container that is gone.
const msgNotLocated = "The container could not be located when the pod was terminated"

// vanished ends a run whose container the engine no longer has (or could
// not tell about): ContainerStatusUnknown, exit 137, as the kubelet
// reports it; the Job's policy decides what that means.
func vanished(r *runner.Run, msg string, now time.Time) {
	r.Step = runner.StepExited
	r.ExitCode = 137
	r.Reason = "ContainerStatusUnknown"
	r.Message = msg
	r.FinishedAt = now
}

// applyExit fills a run's terminal state from the engine's view, with the
// dockershim mapping of DESIGN §4.
func applyExit(r *runner.Run, info runner.ContainerInfo) {
	r.Step = runner.StepExited
	r.ExitCode = int32(info.ExitCode)
	if !info.StartedAt.IsZero() {
		r.StartedAt = info.StartedAt
	}
	r.FinishedAt = info.FinishedAt
	if r.StartedAt.After(r.FinishedAt) && !r.FinishedAt.IsZero() {
		// The engine records the start after the process began; a fast
		// process can finish "before" it started.
		r.StartedAt = r.FinishedAt
	}
	switch {
	case info.OOMKilled:
		r.Reason = "OOMKilled"
	case info.FinishedAt.IsZero() && info.ExitCode != 0:
		r.Reason = "ContainerCannotRun"
		r.Message = info.Error
		r.FinishedAt = info.CreatedAt
	case info.ExitCode == 0:
		r.Reason = "Completed"
	default:
		r.Reason = "Error"
	}
}

type discard struct{}

func (discard) WriteLine(time.Time, string, []byte, bool) error { return nil }

type teeSink struct {
	runner.LogSink
	fn func(ts time.Time, stream string, line []byte, partial bool)
}

func (t teeSink) WriteLine(ts time.Time, stream string, line []byte, partial bool) error {
	t.fn(ts, stream, line, partial)
	return t.LogSink.WriteLine(ts, stream, line, partial)
}

// gracePeriod is how long the pod's containers get to stop: an explicit
// delete --grace-period (or --force), else terminationGracePeriodSeconds
// (default 30 s, at least the kubelet's 2 s).
func (w *Worker) gracePeriod() time.Duration {
	if w.grace != nil {
		return *w.grace
	}
	grace := 30 * time.Second
	if g := w.rec.Pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	return max(grace, 2*time.Second)
}
