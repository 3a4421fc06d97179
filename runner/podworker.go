package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// exitMsg reports that one container instance stopped (or that watching it
// failed).
type exitMsg struct {
	index   int
	restart int32
	info    ContainerInfo
	err     error
	message string // termination message (file, or logs on error)
}

// podWorker drives one pod. It alone writes its record; everything else
// talks to it through channels.
type podWorker struct {
	c         *Controller
	rec       *PodRecord
	exits     chan exitMsg
	kick      chan struct{}
	done      chan struct{} // closed when the worker returns
	stopping  map[int]bool  // stop already requested per container index
	terminate chan terminateReq
	// adopted are instances found running when the daemon restarted
	// (restore.go); run resumes watching them before anything else.
	adopted []adoptedRun
	// setup is the pod's prepared volumes and sandbox; nil until the first
	// container starts.
	setup *podSetup
	// grace overrides the pod's grace period once a delete asked for a
	// shorter one.
	grace *time.Duration
}

// reasonKilled marks a pod localjobs stopped without a more specific
// reason (its Job finished or failed, run was interrupted or timed out).
const reasonKilled = "Killed"

type terminateReq struct {
	reason, message string
	// grace, if set, overrides the pod's termination grace period
	// (kubectl delete --grace-period; 0 with --force kills at once).
	grace *time.Duration
}

func newPodWorker(c *Controller, rec *PodRecord) *podWorker {
	return &podWorker{
		c:         c,
		rec:       rec,
		exits:     make(chan exitMsg, len(rec.Containers)+1),
		kick:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		stopping:  map[int]bool{},
		terminate: make(chan terminateReq, 4),
	}
}

func (w *podWorker) log() *slog.Logger {
	return w.c.logger().With("pod", w.rec.Pod.Namespace+"/"+w.rec.Pod.Name)
}

// run is the worker loop: reconcile, act, wait for a change or the requeue
// time, repeat until the pod is terminal.
func (w *podWorker) run(ctx context.Context) {
	defer close(w.done)
	if !w.admit(ctx) {
		return
	}
	defer w.c.release()
	inflight := 0
	for _, a := range w.adopted {
		w.c.wg.Add(1)
		go w.watch(ctx, a.index, clonePod(&w.rec.Pod), w.rec.Containers[a.index].Name, a.restart, a.id, a.since, a.logf)
		inflight++
	}
	w.adopted = nil
	for {
		if ctx.Err() != nil {
			return // the daemon is stopping; containers keep running
		}
		prev := w.snapshotWaiting()
		prevTerminate := w.rec.TerminateReason
		acts, requeue := reconcilePod(w.rec, w.c.now())
		w.waitingEvents(prev)
		if prevTerminate == "" && w.rec.TerminateReason == ReasonPodDeadlineExceeded {
			// The kubelet's active deadline handler records this as a
			// Normal event (pkg/kubelet/active_deadline.go).
			w.event(nil, "Normal", ReasonPodDeadlineExceeded, msgPodDeadlineExceeded)
		}
		finished := IsTerminalPhase(w.rec.Pod.Status.Phase) && inflight == 0
		if finished {
			// The sandbox and volumes go before the terminal state is
			// published, so whoever sees it sees them gone.
			w.teardown(ctx)
		}
		w.save(ctx)
		if finished {
			w.c.podFinished(w.rec)
			return
		}
		for _, a := range acts {
			switch a.kind {
			case actStart:
				if w.start(ctx, a.index) {
					inflight++
				}
				w.save(ctx)
			case actStop:
				w.stop(ctx, a.index)
			}
		}
		if len(acts) > 0 {
			// Starting may have changed what to do next (a start error,
			// the next init container…): reconcile again at once.
			if hasStart(acts) {
				continue
			}
		}
		var timerC <-chan time.Time
		var timer Timer
		if requeue > 0 {
			timer = w.c.clock().NewTimer(requeue)
			timerC = timer.C()
		}
		select {
		case <-ctx.Done():
			return
		case m := <-w.exits:
			inflight--
			w.recordExit(m)
		case r := <-w.terminate:
			if w.rec.TerminateReason == "" {
				w.rec.TerminateReason, w.rec.TerminateMessage = r.reason, r.message
				if r.reason == "" {
					w.rec.TerminateReason = reasonKilled
				}
				w.rec.TerminateAt = w.c.now()
			}
			if r.grace != nil && (w.grace == nil || *r.grace < *w.grace) {
				w.grace = r.grace
				// Containers already stopping are stopped again with the
				// shorter grace, as a second kubectl delete does.
				clear(w.stopping)
			}
		case <-w.kick:
		case <-timerC:
		}
		if timer != nil {
			timer.Stop()
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
// stored version is consistent, then publishes it.
func (w *podWorker) save(ctx context.Context) {
	if !IsTerminalPhase(w.rec.Pod.Status.Phase) {
		w.rec.Pod.Status = derivePodStatus(w.rec, w.c.now())
	}
	if err := w.c.Store.SavePod(ctx, w.rec); err != nil {
		w.log().Error("save pod", "error", err)
	}
	w.c.publish(Change{Pod: clonePod(&w.rec.Pod), Record: cloneRecord(w.rec)})
}

func (w *podWorker) snapshotWaiting() []string {
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
func (w *podWorker) waitingEvents(prev []string) {
	for i, c := range w.rec.Containers {
		if c.Waiting == nil || prev[i] == c.Waiting.Reason {
			continue
		}
		spec := containerSpec(&w.rec.Pod.Spec, c)
		switch c.Waiting.Reason {
		case ReasonImagePullBackOff:
			w.event(c, "Normal", "BackOff", fmt.Sprintf("Back-off pulling image %q", spec.Image))
			w.event(c, "Warning", "Failed", "Error: "+ReasonImagePullBackOff)
		case "CrashLoopBackOff":
			w.event(c, "Warning", "BackOff", fmt.Sprintf("Back-off restarting failed container %s in pod %s_%s(%s)",
				c.Name, w.rec.Pod.Name, w.rec.Pod.Namespace, w.rec.Pod.UID))
		}
	}
}

func (w *podWorker) event(c *ContainerRecord, typ, reason, msg string) {
	field := ""
	if c != nil {
		field = fmt.Sprintf("spec.containers{%s}", c.Name)
		if c.Init {
			field = fmt.Sprintf("spec.initContainers{%s}", c.Name)
		}
	}
	w.c.recordEvent(context.Background(), objectRef(&w.rec.Pod.TypeMeta, &w.rec.Pod.ObjectMeta, field), typ, reason, msg, "kubelet")
}

// start pulls the image and creates and starts a new instance of container
// i, recording each step first. It reports whether an instance is now
// running (and a watcher will report its exit).
func (w *podWorker) start(ctx context.Context, i int) bool {
	c := w.rec.Containers[i]
	spec := containerSpec(&w.rec.Pod.Spec, c)
	now := w.c.now()

	if err := w.ensureSetup(ctx); err != nil {
		if ctx.Err() != nil {
			return false
		}
		w.setupFailed(c, err)
		return false
	}
	if spec.ImagePullPolicy == manifest.PullAlways {
		w.event(c, "Normal", "Pulling", fmt.Sprintf("Pulling image %q", spec.Image))
	}
	t0 := time.Now()
	res, err := w.ensureImage(ctx, spec)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		var ie *ImageError
		if !errors.As(err, &ie) {
			ie = &ImageError{Reason: ReasonErrImagePull, Message: err.Error()}
		}
		prevBackoff := time.Duration(0)
		if c.Waiting != nil && (c.Waiting.Reason == ReasonImagePullBackOff || c.Waiting.Reason == ie.Reason) {
			prevBackoff = c.Backoff
		}
		c.Waiting = &manifest.StateWaiting{Reason: ie.Reason, Message: ie.Message}
		c.Backoff = nextPullBackoff(prevBackoff)
		c.BackoffUntil = w.c.now().Add(c.Backoff) // from the failure, as the kubelet's back-off
		if ie.Reason == ReasonErrImageNeverPull {
			w.event(c, "Warning", "ErrImageNeverPull", ie.Message)
		} else {
			w.event(c, "Warning", "Failed", ie.Message)
		}
		w.event(c, "Warning", "Failed", "Error: "+ie.Reason)
		return false
	}
	switch {
	case res.Warning != "":
		w.event(c, "Warning", "PullFailedUsingLocal", res.Warning)
	case res.Pulled:
		w.event(c, "Normal", "Pulled", fmt.Sprintf("Successfully pulled image %q in %s (%s including waiting). Image size: %d bytes.",
			spec.Image, res.PullTime.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond), res.Size))
	default:
		w.event(c, "Normal", "Pulled", fmt.Sprintf("Container image %q already present on machine", spec.Image))
	}

	prev := struct {
		cur, last *Run
		count     int32
		backoff   time.Duration
	}{c.Current, c.Last, c.RestartCount, c.Backoff}
	if c.Current != nil {
		c.Backoff = nextRestartBackoff(c)
		c.Last = c.Current
		c.RestartCount++
	} else {
		c.Backoff = 0
	}
	c.Waiting = nil
	c.BackoffUntil = time.Time{}
	c.ImageID = res.ImageID
	run := &Run{
		Restart:    c.RestartCount,
		EngineName: w.c.engineName(&w.rec.Pod, c.Name, c.RestartCount),
		Step:       StepIntent,
		ImageID:    res.ImageID,
	}
	c.Current = run
	w.save(ctx) // intent recorded before the container exists
	w.c.failpoint("after-intent")

	cs, release, err := w.c.containerSpec(ctx, w.rec, c, spec, run, w.setup)
	// Staged bind mounts must exist until the engine has started the
	// container (it resolves them at create and again at start).
	defer release()
	if err == nil {
		var id string
		id, err = w.c.Runtime.Create(ctx, cs)
		var ee *ExistsError
		if errors.As(err, &ee) {
			id, err = ee.ID, nil
		}
		run.ID = id
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		reason := "CreateContainerError"
		var ce *ConfigError
		if errors.As(err, &ce) {
			reason = "CreateContainerConfigError"
		}
		c.Current, c.Last, c.RestartCount = prev.cur, prev.last, prev.count
		c.Waiting = &manifest.StateWaiting{Reason: reason, Message: err.Error()}
		c.Backoff = nextPullBackoff(prev.backoff)
		c.BackoffUntil = now.Add(c.Backoff)
		w.event(c, "Warning", "Failed", "Error: "+err.Error())
		return false
	}
	run.Step = StepCreated
	run.CreatedAt = w.c.now()
	w.save(ctx)
	w.c.failpoint("after-created")
	w.event(c, "Normal", "Created", "Created container: "+c.Name)

	logf, err := w.c.Store.OpenLog(w.rec.Pod.Namespace, w.rec.Pod.Name, w.rec.Pod.UID, c.Name, run.Restart)
	if err != nil {
		w.log().Error("open log", "container", c.Name, "error", err)
	}
	if err := w.c.Runtime.Start(ctx, run.ID); err != nil {
		if logf != nil {
			logf.Close()
		}
		if ctx.Err() != nil {
			return false
		}
		msg := err.Error()
		var se *StartError
		if errors.As(err, &se) {
			msg = se.Message
		}
		info, ierr := w.c.Runtime.Inspect(ctx, run.ID)
		run.Step = StepExited
		run.Reason = "ContainerCannotRun"
		run.Message = msg
		run.ExitCode = 128
		run.StartedAt, run.FinishedAt = run.CreatedAt, run.CreatedAt
		if ierr == nil {
			if info.ExitCode != 0 {
				run.ExitCode = int32(info.ExitCode)
			}
			if !info.CreatedAt.IsZero() {
				run.StartedAt, run.FinishedAt = info.CreatedAt, info.CreatedAt
			}
		}
		w.event(c, "Warning", "Failed", "Error: "+msg)
		return false
	}
	run.Step = StepStarted
	run.StartedAt = w.c.now()
	if w.setup.sandboxID == "" && w.rec.Pod.Status.PodIP == "" {
		if info, err := w.c.Runtime.Inspect(ctx, run.ID); err == nil && info.IP != "" {
			w.rec.Pod.Status.PodIP, w.rec.Pod.Status.HostIP = info.IP, info.Gateway
		}
	}
	w.event(c, "Normal", "Started", "Started container "+c.Name)
	w.c.wg.Add(1)
	go w.watch(ctx, i, clonePod(&w.rec.Pod), c.Name, run.Restart, run.ID, time.Time{}, logf)
	return true
}

// watch captures one instance's logs and reports its exit.
func (w *podWorker) watch(ctx context.Context, i int, pod *manifest.Pod, name string, restart int32, id string, since time.Time, logf LogFile) {
	defer w.c.wg.Done()
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		var sink LogSink = discard{}
		if logf != nil {
			sink = logf
		}
		// Every captured line is also published, in order with the pod's
		// changes, for the printers of run and up (watch with logs).
		sink = teeSink{sink, func(ts time.Time, stream string, line []byte, partial bool) {
			w.c.publish(Change{Log: &LogLine{Namespace: pod.Namespace, Pod: pod.Name, PodUID: pod.UID, Container: name,
				Time: ts, Stream: stream, Line: string(line), Partial: partial}})
		}}
		if err := w.c.Runtime.Logs(ctx, id, since, true, sink); err != nil && ctx.Err() == nil {
			w.c.logger().Warn("log capture", "pod", pod.Name, "container", name, "error", err)
		}
	}()
	info, err := w.waitExit(ctx, id)
	<-logsDone
	if logf != nil {
		logf.Close()
	}
	if ctx.Err() != nil {
		return
	}
	msg := ""
	if err == nil {
		msg = w.c.terminationMessage(ctx, pod, name, restart, id, info)
	}
	w.exits <- exitMsg{index: i, restart: restart, info: info, err: err, message: msg}
}

// waitExit waits for the container to stop. A transient engine error is
// retried with back-off: only a container the engine no longer has counts
// as gone (DESIGN §5), never one we merely failed to ask about.
func (w *podWorker) waitExit(ctx context.Context, id string) (ContainerInfo, error) {
	delay := 100 * time.Millisecond
	for {
		info, err := w.c.Runtime.Wait(ctx, id)
		if err == nil || errors.Is(err, ErrNotFound) || ctx.Err() != nil {
			return info, err
		}
		w.log().Warn("wait for container; retrying", "container", id, "error", err, "in", delay)
		t := w.c.clock().NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return info, ctx.Err()
		case <-t.C():
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// stop asks the engine to stop container i's instance with the pod's grace
// period; its watcher reports the exit.
func (w *podWorker) stop(ctx context.Context, i int) {
	c := w.rec.Containers[i]
	if w.stopping[i] || c.Current == nil {
		return
	}
	w.stopping[i] = true
	grace := 30 * time.Second
	if g := w.rec.Pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if grace < 2*time.Second {
		grace = 2 * time.Second // the kubelet's minimum
	}
	if w.grace != nil {
		grace = *w.grace // an explicit delete --grace-period / --force
	}
	w.event(c, "Normal", "Killing", "Stopping container "+c.Name)
	id := c.Current.ID
	if id == "" {
		// Only the intent was recorded; nothing to stop.
		c.Current.Step = StepExited
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
		if err := w.c.Runtime.Stop(sctx, id, grace); err != nil {
			w.log().Error("stop container", "container", c.Name, "error", err)
		}
	}()
}

// recordExit records the final state of an instance.
func (w *podWorker) recordExit(m exitMsg) {
	c := w.rec.Containers[m.index]
	r := c.Current
	if r == nil || r.Restart != m.restart || r.Step == StepExited {
		return
	}
	r.Step = StepExited
	delete(w.stopping, m.index)
	if m.err != nil {
		r.ExitCode = 137
		r.Reason = "ContainerStatusUnknown"
		r.Message = "The container could not be located when the pod was terminated"
		r.FinishedAt = w.c.now()
		return
	}
	applyExit(r, m.info)
	if m.message != "" {
		r.Message = m.message
	}
}

// applyExit fills a run's terminal state from the engine's view, with the
// dockershim mapping of DESIGN §4.
func applyExit(r *Run, info ContainerInfo) {
	r.Step = StepExited
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
	LogSink
	fn func(ts time.Time, stream string, line []byte, partial bool)
}

func (t teeSink) WriteLine(ts time.Time, stream string, line []byte, partial bool) error {
	t.fn(ts, stream, line, partial)
	return t.LogSink.WriteLine(ts, stream, line, partial)
}
