package kubelet

import (
	"fmt"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Container restart back-off, as the kubelet's (reference §1.6): the first
// crash restarts at once, later ones wait 10 s, 20 s, 40 s … capped at 300 s;
// a container that ran longer than 10 minutes resets the curve. Image pulls
// back off on the same curve, starting at 10 s.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 300 * time.Second
	backoffReset   = 2 * backoffMax
	// pullBackOffShow is how long ErrImagePull shows before it turns into
	// ImagePullBackOff, like the kubelet's next pod sync.
	pullBackOffShow = time.Second
)

type podActionKind int

const (
	// actStart pulls the image, then creates and starts a new instance of
	// the container.
	actStart podActionKind = iota
	// actStop stops the container's running instance with the pod's grace
	// period.
	actStop
)

type podAction struct {
	kind  podActionKind
	index int // into PodRecord.Containers
}

// inFlight reports whether an instance of the container exists that has
// not been recorded as exited (it may be intended, created or started).
func inFlight(c *runner.ContainerRecord) bool {
	return c.Current != nil && c.Current.Step != runner.StepExited
}

func exited(c *runner.ContainerRecord) bool {
	return c.Current != nil && c.Current.Step == runner.StepExited
}

func succeeded(c *runner.ContainerRecord) bool {
	return exited(c) && c.Current.ExitCode == 0
}

// reconcilePod decides what to do next for one pod. It updates the derived
// parts of rec (each container's Waiting reason and rec.Pod.Status) and
// returns the engine actions to take and when to look again (0 = only when
// something changes). It does no I/O.
func reconcilePod(rec *runner.PodRecord, now time.Time) ([]podAction, time.Duration) {
	if runner.IsTerminalPhase(rec.Pod.Status.Phase) {
		return nil, 0
	}
	p := &podPlan{rec: rec, spec: &rec.Pod.Spec, now: now}
	p.activeDeadline()
	switch {
	case rec.TerminateReason != "":
		p.acts = stopActions(rec)
		markNeverStarted(rec, now)
		p.requeue = 0
	case podFinishing(rec):
		// The app containers are done (or an init container failed for
		// good): native sidecars are stopped in reverse order.
		p.acts = stopActions(rec)
		p.requeue = 0
	default:
		if p.initContainers() {
			p.appContainers()
		}
	}
	rec.Pod.Status = derivePodStatus(rec, now)
	return p.acts, p.requeue
}

// podPlan collects what reconcilePod decides: the actions and the
// earliest time to look again.
type podPlan struct {
	rec     *runner.PodRecord
	spec    *manifest.PodSpec
	now     time.Time
	acts    []podAction
	requeue time.Duration
}

// wake asks to look again at at (at once if it has passed).
func (p *podPlan) wake(at time.Time) {
	d := at.Sub(p.now)
	if d <= 0 {
		d = time.Millisecond
	}
	if p.requeue == 0 || d < p.requeue {
		p.requeue = d
	}
}

// activeDeadline applies spec.activeDeadlineSeconds, counted from the
// pod's start time: once it has passed the kubelet stops the pod (Failed /
// DeadlineExceeded); until then it wakes the worker at the deadline.
func (p *podPlan) activeDeadline() {
	rec := p.rec
	ads := p.spec.ActiveDeadlineSeconds
	if ads == nil || rec.TerminateReason != "" || rec.Pod.Status.StartTime == nil {
		return
	}
	deadline := rec.Pod.Status.StartTime.Add(time.Duration(*ads) * time.Second)
	if p.now.Before(deadline) {
		p.wake(deadline)
		return
	}
	rec.TerminateReason = runner.ReasonPodDeadlineExceeded
	rec.TerminateMessage = msgPodDeadlineExceeded
	rec.TerminateAt = p.now
}

// markNeverStarted ends the containers of a terminated pod that never
// started, and never will, the way the kubelet reports them.
func markNeverStarted(rec *runner.PodRecord, now time.Time) {
	for _, c := range rec.Containers {
		if c.Current == nil {
			c.Waiting = nil
			c.Current = &runner.Run{}
			vanished(c.Current, msgNotLocated, now)
		}
	}
}

// initContainers starts the init containers in order: a regular one once
// the one before it succeeded, a native sidecar once the one before it
// started. A sidecar is restarted whenever it exits, whatever the pod's
// restartPolicy. It reports whether the app containers may start.
func (p *podPlan) initContainers() bool {
	initDone := true
	for i := range len(p.spec.InitContainers) {
		c := p.rec.Containers[i]
		if isSidecar(p.spec, c) {
			switch {
			case c.Current == nil:
				p.startOrWait(i)
				initDone = false
			case inFlight(c):
				initDone = c.Current.Step == runner.StepStarted
			default:
				p.restartOrWait(i)
			}
			if !initDone {
				break
			}
			continue
		}
		if succeeded(c) {
			continue
		}
		initDone = false
		switch {
		case inFlight(c):
		case c.Current == nil:
			p.startOrWait(i)
		case p.spec.RestartPolicy != manifest.RestartPolicyNever:
			p.restartOrWait(i)
		}
		break
	}
	return initDone
}

// appContainers starts the app containers that have no instance yet and
// restarts those the restart policy restarts.
func (p *podPlan) appContainers() {
	for i := len(p.spec.InitContainers); i < len(p.rec.Containers); i++ {
		c := p.rec.Containers[i]
		switch {
		case inFlight(c):
		case c.Current == nil:
			p.startOrWait(i)
		case shouldRestart(p.spec.RestartPolicy, c.Current):
			p.restartOrWait(i)
		}
	}
}

// startOrWait starts a container that has no instance yet, unless an
// image pull back-off is in force.
func (p *podPlan) startOrWait(i int) {
	c := p.rec.Containers[i]
	if c.Waiting != nil && p.now.Before(c.BackoffUntil) {
		failedAt := c.BackoffUntil.Add(-c.Backoff)
		if c.Waiting.Reason == runner.ReasonErrImagePull {
			if show := failedAt.Add(pullBackOffShow); p.now.Before(show) {
				p.wake(show)
			} else {
				c.Waiting = &manifest.StateWaiting{
					Reason:  runner.ReasonImagePullBackOff,
					Message: fmt.Sprintf("Back-off pulling image %q", containerSpec(p.spec, c).Image),
				}
			}
		}
		p.wake(c.BackoffUntil)
		return
	}
	p.acts = append(p.acts, podAction{actStart, i})
}

// restartOrWait restarts an exited container, honouring CrashLoopBackOff.
func (p *podPlan) restartOrWait(i int) {
	c := p.rec.Containers[i]
	if c.Waiting != nil && c.Waiting.Reason != "CrashLoopBackOff" && p.now.Before(c.BackoffUntil) {
		p.startOrWait(i) // an image back-off on the restart
		return
	}
	b := restartBackoff(c)
	until := c.Current.FinishedAt.Add(b)
	if b > 0 && p.now.Before(until) {
		rec := p.rec
		c.Waiting = &manifest.StateWaiting{
			Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
				b, c.Name, rec.Pod.Name, rec.Pod.Namespace, rec.Pod.UID),
		}
		p.wake(until)
		return
	}
	p.acts = append(p.acts, podAction{actStart, i})
}

func shouldRestart(policy string, r *runner.Run) bool {
	switch policy {
	case manifest.RestartPolicyAlways:
		return true
	case manifest.RestartPolicyOnFailure:
		return r.ExitCode != 0
	}
	return false
}

// restartBackoff is the delay before restarting c after its current
// instance exited: 0 after the first crash, then the doubling curve.
func restartBackoff(c *runner.ContainerRecord) time.Duration {
	if c.Current.FinishedAt.Sub(c.Current.StartedAt) > backoffReset {
		return 0
	}
	return c.Backoff
}

// nextRestartBackoff is the back-off to record once c restarts.
func nextRestartBackoff(c *runner.ContainerRecord) time.Duration {
	b := restartBackoff(c)
	if b == 0 {
		return backoffInitial
	}
	return min(2*b, backoffMax)
}

// nextPullBackoff is the back-off after one more failed pull.
func nextPullBackoff(prev time.Duration) time.Duration {
	if prev == 0 {
		return backoffInitial
	}
	return min(2*prev, backoffMax)
}

func containerSpec(spec *manifest.PodSpec, c *runner.ContainerRecord) *manifest.Container {
	list := spec.Containers
	if c.Init {
		list = spec.InitContainers
	}
	for i := range list {
		if list[i].Name == c.Name {
			return &list[i]
		}
	}
	return &manifest.Container{Name: c.Name}
}

// NewContainerRecords returns the empty per-container records of a pod spec.
func NewContainerRecords(spec *manifest.PodSpec) []*runner.ContainerRecord {
	var out []*runner.ContainerRecord
	for _, c := range spec.InitContainers {
		out = append(out, &runner.ContainerRecord{Name: c.Name, Init: true})
	}
	for _, c := range spec.Containers {
		out = append(out, &runner.ContainerRecord{Name: c.Name})
	}
	return out
}

// isSidecar reports whether c is a native sidecar: an init container with
// restartPolicy Always.
func isSidecar(spec *manifest.PodSpec, c *runner.ContainerRecord) bool {
	return c.Init && isRestartable(containerSpec(spec, c))
}

func isRestartable(c *manifest.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == manifest.RestartPolicyAlways
}

// podFinishing reports whether the pod's regular containers are done for
// good: every app container exited and will not restart, or a regular init
// container failed under restartPolicy Never. Only sidecars may still run.
func podFinishing(rec *runner.PodRecord) bool {
	spec := &rec.Pod.Spec
	apps := false
	for _, c := range rec.Containers {
		if c.Init {
			if !isSidecar(spec, c) && exited(c) && !succeeded(c) && spec.RestartPolicy == manifest.RestartPolicyNever {
				return true
			}
			continue
		}
		apps = true
		if c.Current == nil || inFlight(c) || shouldRestart(spec.RestartPolicy, c.Current) {
			return false
		}
	}
	return apps
}

// stopActions stops the pod's running containers the kubelet's way: the
// regular containers first, then the native sidecars one at a time in
// reverse order, each once everything after it has exited.
func stopActions(rec *runner.PodRecord) []podAction {
	var acts []podAction
	for i, c := range rec.Containers {
		if inFlight(c) && !isSidecar(&rec.Pod.Spec, c) {
			acts = append(acts, podAction{actStop, i})
		}
	}
	if len(acts) > 0 {
		return acts
	}
	for i := len(rec.Containers) - 1; i >= 0; i-- {
		if c := rec.Containers[i]; inFlight(c) {
			return []podAction{{actStop, i}}
		}
	}
	return nil
}
