package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// start pulls the image and creates and starts a new instance of container
// i, recording each step first. It reports whether an instance is now
// running (and a watcher will report its exit).
func (w *Worker) start(ctx context.Context, i int) bool {
	c := w.rec.Containers[i]
	spec := containerSpec(&w.rec.Pod.Spec, c)
	now := w.k.now()

	if err := w.ensureSetup(ctx); err != nil {
		if ctx.Err() == nil {
			w.setupFailed(c, err)
		}
		return false
	}
	res, ok := w.pullImage(ctx, c, spec)
	if !ok {
		return false
	}
	undo := w.beginInstance(c, res)
	run := c.Current
	// The intent is recorded before the container exists: a restarted
	// daemon finds it by name. Unrecorded, it is not created.
	if err := w.save(ctx); err != nil {
		if ctx.Err() == nil {
			w.createFailed(c, undo, fmt.Errorf("record the container: %w", err), now)
		}
		return false
	}
	w.k.failpoint("after-intent")

	cs, release, err := w.k.containerSpec(ctx, w.rec, c, spec, run, w.setup)
	// Staged bind mounts must exist until the engine has started the
	// container (it resolves them at create and again at start).
	defer release()
	if err == nil {
		run.ID, err = w.create(ctx, cs)
	}
	if err != nil {
		if ctx.Err() == nil {
			w.createFailed(c, undo, err, now)
		}
		return false
	}
	run.Step = runner.StepCreated
	run.CreatedAt = w.k.now()
	if err := w.save(ctx); err != nil {
		// Not recorded as created, so not started: removed, and created
		// again after the back-off (a removal that fails leaves it to be
		// adopted by name then).
		w.removeUnrecorded(ctx, run.ID)
		if ctx.Err() == nil {
			w.createFailed(c, undo, fmt.Errorf("record the container: %w", err), now)
		}
		return false
	}
	w.k.failpoint("after-created")
	w.eventLater(c, "Normal", "Created", "Created container: "+c.Name)
	return w.startCreated(ctx, i, c)
}

// pullImage makes the container's image available. On failure it leaves
// the container waiting with the image back-off and reports false.
func (w *Worker) pullImage(ctx context.Context, c *runner.ContainerRecord, spec *manifest.Container) (runner.ImageResult, bool) {
	if spec.ImagePullPolicy == manifest.PullAlways {
		w.event(c, "Normal", "Pulling", fmt.Sprintf("Pulling image %q", spec.Image))
	}
	t0 := time.Now()
	pctx, done := w.pull.begin(ctx)
	res, err := w.ensureImage(pctx, spec)
	cancelled := pctx.Err() != nil // the daemon is stopping, or the pod is
	done()
	if cancelled {
		return res, false
	}
	if err != nil {
		var ie *runner.ImageError
		if !errors.As(err, &ie) {
			ie = &runner.ImageError{Reason: runner.ReasonErrImagePull, Message: err.Error()}
		}
		prevBackoff := time.Duration(0)
		if c.Waiting != nil && (c.Waiting.Reason == runner.ReasonImagePullBackOff || c.Waiting.Reason == ie.Reason) {
			prevBackoff = c.Backoff
		}
		c.Waiting = &manifest.StateWaiting{Reason: ie.Reason, Message: ie.Message}
		c.Backoff = nextPullBackoff(prevBackoff)
		c.BackoffUntil = w.k.now().Add(c.Backoff) // from the failure, as the kubelet's back-off
		if ie.Reason == runner.ReasonErrImageNeverPull {
			w.event(c, "Warning", "ErrImageNeverPull", ie.Message)
		} else {
			w.event(c, "Warning", "Failed", ie.Message)
		}
		w.event(c, "Warning", "Failed", "Error: "+ie.Reason)
		return res, false
	}
	switch {
	case res.Warning != "":
		w.eventLater(c, "Warning", "PullFailedUsingLocal", res.Warning)
	case res.Pulled:
		w.eventLater(c, "Normal", "Pulled", fmt.Sprintf("Successfully pulled image %q in %s (%s including waiting). Image size: %d bytes.",
			spec.Image, res.PullTime.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond), res.Size))
	default:
		w.eventLater(c, "Normal", "Pulled", fmt.Sprintf("Container image %q already present on machine", spec.Image))
	}
	return res, true
}

// pullGuard lets a termination cancel the worker's image pull: a pull
// started after the termination was asked for is cancelled at once.
type pullGuard struct {
	mu          sync.Mutex
	cancel      context.CancelFunc // of the pull in progress; nil if none
	terminating bool
}

// begin returns the context of a pull and the function to call when it
// has ended.
func (g *pullGuard) begin(ctx context.Context) (context.Context, func()) {
	pctx, cancel := context.WithCancel(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.terminating {
		cancel()
	} else {
		g.cancel = cancel
	}
	return pctx, func() {
		g.mu.Lock()
		g.cancel = nil
		g.mu.Unlock()
		cancel()
	}
}

// terminate cancels the pull in progress and any pull begun later.
func (g *pullGuard) terminate() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.terminating = true
	if g.cancel != nil {
		g.cancel()
	}
}

// instanceUndo is what beginInstance changed, to put back when the
// instance could not be created.
type instanceUndo struct {
	cur, last *runner.Run
	count     int32
	backoff   time.Duration
}

// beginInstance makes a new instance the container's current one, at the
// intent step: a restart moves the current instance to Last, counts the
// restart and advances the restart back-off.
func (w *Worker) beginInstance(c *runner.ContainerRecord, res runner.ImageResult) instanceUndo {
	undo := instanceUndo{c.Current, c.Last, c.RestartCount, c.Backoff}
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
	c.Current = &runner.Run{
		Restart:    c.RestartCount,
		EngineName: w.k.engineName(&w.rec.Pod, c.Name, c.RestartCount),
		Step:       runner.StepIntent,
		ImageID:    res.ImageID,
	}
	return undo
}

// create creates the container; one that exists already under its
// deterministic name (a lost reply, a restarted daemon) is adopted.
func (w *Worker) create(ctx context.Context, cs runner.ContainerSpec) (string, error) {
	id, err := w.k.Runtime.Create(ctx, cs)
	var ee *runner.ExistsError
	if errors.As(err, &ee) {
		return ee.ID, nil
	}
	return id, err
}

// removeUnrecorded removes a created container whose record could not be
// saved, even once ctx has ended.
func (w *Worker) removeUnrecorded(ctx context.Context, id string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.k.Runtime.Remove(rctx, id); err != nil {
		w.log().Warn("remove unrecorded container", "container", id, "error", err)
	}
}

// createFailed puts the container back as it was before the instance and
// leaves it waiting in CreateContainerError or CreateContainerConfigError
// with a back-off from now.
func (w *Worker) createFailed(c *runner.ContainerRecord, undo instanceUndo, err error, now time.Time) {
	reason := "CreateContainerError"
	var ce *ConfigError
	if errors.As(err, &ce) {
		reason = "CreateContainerConfigError"
	}
	c.Current, c.Last, c.RestartCount = undo.cur, undo.last, undo.count
	c.Waiting = &manifest.StateWaiting{Reason: reason, Message: err.Error()}
	c.Backoff = nextPullBackoff(undo.backoff)
	c.BackoffUntil = now.Add(c.Backoff)
	w.event(c, "Warning", "Failed", "Error: "+err.Error())
}

// startCreated starts the created instance of container i and a watcher
// for it. A start error ends the instance as ContainerCannotRun.
func (w *Worker) startCreated(ctx context.Context, i int, c *runner.ContainerRecord) bool {
	run := c.Current
	logf, err := w.k.Store.OpenLog(w.rec.Pod.Namespace, w.rec.Pod.Name, w.rec.Pod.UID, c.Name, run.Restart)
	if err != nil {
		w.log().Error("open log", "container", c.Name, "error", err)
	}
	if err := w.k.startContainer(ctx, run.ID); err != nil {
		if logf != nil {
			logf.Close()
		}
		if ctx.Err() == nil {
			w.cannotRun(ctx, c, err)
		}
		return false
	}
	run.Step = runner.StepStarted
	run.StartedAt = w.k.now()
	if w.setup.sandboxID == "" && w.rec.Pod.Status.PodIP == "" {
		if info, err := w.k.Runtime.Inspect(ctx, run.ID); err == nil && info.IP != "" {
			w.rec.Pod.Status.PodIP, w.rec.Pod.Status.HostIP = info.IP, info.Gateway
		}
	}
	w.eventLater(c, "Normal", "Started", "Started container "+c.Name)
	w.k.wg.Add(1)
	go w.watch(ctx, i, runner.Clone(&w.rec.Pod), c.Name, run.Restart, run.ID, time.Time{}, logf)
	return true
}

// startAttempts is how many times startContainer starts a container that
// a lost reply left created.
const startAttempts = 3

// startContainer starts a created container. A definite answer from the
// engine (started, a *runner.StartError refusal, ErrNotFound) is
// returned as it is. Any other error — a reply lost in transport, after
// which the container may well be running — is checked with Inspect,
// asked until the engine answers: a container found running, or exited
// after its start, did start (nil); one with a start error did not (a
// *runner.StartError with the engine's message); one still created
// without an error is started again, up to startAttempts times.
func (k *Kubelet) startContainer(ctx context.Context, id string) error {
	var delay time.Duration
	for n := 1; ; n++ {
		err := k.Runtime.Start(ctx, id)
		var se *runner.StartError
		if err == nil || errors.As(err, &se) || errors.Is(err, runner.ErrNotFound) || ctx.Err() != nil {
			return err
		}
		info, ierr := k.inspectRetrying(ctx, id, 0)
		switch {
		case ierr != nil:
			return ierr // gone, or ctx ended
		case info.Error != "":
			return &runner.StartError{Message: info.Error}
		case info.Running || !info.StartedAt.IsZero():
			k.Log.Warn("start container: the reply was lost, the container runs", "container", id, "error", err)
			return nil
		case n == startAttempts:
			return err
		}
		delay = runner.NextBackoff(delay)
		k.Log.Warn("start container; retrying", "container", id, "error", err, "in", delay)
		if !runner.Sleep(ctx, k.Clock, delay) {
			return ctx.Err()
		}
	}
}

// cannotRun records a start failure: the instance ends ContainerCannotRun
// with the engine's message (DESIGN §4).
func (w *Worker) cannotRun(ctx context.Context, c *runner.ContainerRecord, err error) {
	run := c.Current
	msg := startErrorMessage(err)
	info, ierr := w.k.Runtime.Inspect(ctx, run.ID)
	run.Step = runner.StepExited
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
	w.exited = append(w.exited, run.ID)
	w.event(c, "Warning", "Failed", "Error: "+msg)
}

// startErrorMessage is the engine's message of a start error.
func startErrorMessage(err error) string {
	var se *runner.StartError
	if errors.As(err, &se) {
		return se.Message
	}
	return err.Error()
}
