package runner

import (
	"fmt"
	"time"

	"github.com/localjobs/localjobs/manifest"
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

// IsTerminalPhase reports whether a pod phase is final.
func IsTerminalPhase(phase string) bool {
	return phase == manifest.PodSucceeded || phase == manifest.PodFailed
}

// running reports whether an instance of the container exists that has not
// been recorded as exited (it may be intended, created or started).
func (c *ContainerRecord) inFlight() bool {
	return c.Current != nil && c.Current.Step != StepExited
}

func (c *ContainerRecord) exited() bool {
	return c.Current != nil && c.Current.Step == StepExited
}

func (c *ContainerRecord) succeeded() bool {
	return c.exited() && c.Current.ExitCode == 0
}

// reconcilePod decides what to do next for one pod. It updates the derived
// parts of rec (each container's Waiting reason and rec.Pod.Status) and
// returns the engine actions to take and when to look again (0 = only when
// something changes). It does no I/O.
func reconcilePod(rec *PodRecord, now time.Time) ([]podAction, time.Duration) {
	var acts []podAction
	var requeue time.Duration
	wake := func(at time.Time) {
		d := at.Sub(now)
		if d <= 0 {
			d = time.Millisecond
		}
		if requeue == 0 || d < requeue {
			requeue = d
		}
	}
	spec := &rec.Pod.Spec
	if IsTerminalPhase(rec.Pod.Status.Phase) {
		return nil, 0
	}

	// spec.activeDeadlineSeconds counts from the pod's start time; once it
	// has passed the kubelet stops the pod: Failed / DeadlineExceeded.
	if ads := spec.ActiveDeadlineSeconds; ads != nil && rec.TerminateReason == "" && rec.Pod.Status.StartTime != nil {
		deadline := rec.Pod.Status.StartTime.Add(time.Duration(*ads) * time.Second)
		if now.Before(deadline) {
			wake(deadline)
		} else {
			rec.TerminateReason = ReasonPodDeadlineExceeded
			rec.TerminateMessage = msgPodDeadlineExceeded
			rec.TerminateAt = now
		}
	}

	if rec.TerminateReason != "" {
		acts = stopActions(rec)
		for _, c := range rec.Containers {
			if c.Current == nil {
				// Never started, and it never will: the kubelet reports such
				// a container of a terminated pod like this.
				c.Waiting = nil
				c.Current = &Run{
					Step: StepExited, ExitCode: 137, Reason: "ContainerStatusUnknown",
					Message:    "The container could not be located when the pod was terminated",
					FinishedAt: now,
				}
			}
		}
		rec.Pod.Status = derivePodStatus(rec, now)
		return acts, 0
	}
	if podFinishing(rec) {
		// The app containers are done (or an init container failed for
		// good): native sidecars are stopped in reverse order.
		acts = stopActions(rec)
		rec.Pod.Status = derivePodStatus(rec, now)
		return acts, 0
	}

	// startOrWait starts a container that has no instance yet, unless an
	// image pull back-off is in force.
	startOrWait := func(i int) {
		c := rec.Containers[i]
		if c.Waiting != nil && now.Before(c.BackoffUntil) {
			failedAt := c.BackoffUntil.Add(-c.Backoff)
			if c.Waiting.Reason == ReasonErrImagePull {
				if show := failedAt.Add(pullBackOffShow); now.Before(show) {
					wake(show)
				} else {
					c.Waiting = &manifest.StateWaiting{
						Reason:  ReasonImagePullBackOff,
						Message: fmt.Sprintf("Back-off pulling image %q", containerSpec(spec, c).Image),
					}
				}
			}
			wake(c.BackoffUntil)
			return
		}
		acts = append(acts, podAction{actStart, i})
	}
	// restartOrWait restarts an exited container, honouring CrashLoopBackOff.
	restartOrWait := func(i int) {
		c := rec.Containers[i]
		if c.Waiting != nil && c.Waiting.Reason != "CrashLoopBackOff" && now.Before(c.BackoffUntil) {
			startOrWait(i) // an image back-off on the restart
			return
		}
		b := restartBackoff(c)
		until := c.Current.FinishedAt.Add(b)
		if b > 0 && now.Before(until) {
			c.Waiting = &manifest.StateWaiting{
				Reason: "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
					b, c.Name, rec.Pod.Name, rec.Pod.Namespace, rec.Pod.UID),
			}
			wake(until)
			return
		}
		acts = append(acts, podAction{actStart, i})
	}

	nInit := len(spec.InitContainers)
	initDone := true
	for i := 0; i < nInit; i++ {
		c := rec.Containers[i]
		if isSidecar(spec, c) {
			// A native sidecar: the next init container starts once it
			// has started; it is restarted whenever it exits, whatever
			// the pod's restartPolicy.
			switch {
			case c.Current == nil:
				startOrWait(i)
				initDone = false
			case c.inFlight():
				initDone = c.Current.Step == StepStarted
			default:
				restartOrWait(i)
			}
			if !initDone {
				break
			}
			continue
		}
		if c.succeeded() {
			continue
		}
		initDone = false
		switch {
		case c.inFlight():
		case c.Current == nil:
			startOrWait(i)
		case spec.RestartPolicy != manifest.RestartPolicyNever:
			restartOrWait(i)
		}
		break
	}
	if initDone {
		for i := nInit; i < len(rec.Containers); i++ {
			c := rec.Containers[i]
			switch {
			case c.inFlight():
			case c.Current == nil:
				startOrWait(i)
			case shouldRestart(spec.RestartPolicy, c.Current):
				restartOrWait(i)
			}
		}
	}
	rec.Pod.Status = derivePodStatus(rec, now)
	return acts, requeue
}

func shouldRestart(policy string, r *Run) bool {
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
func restartBackoff(c *ContainerRecord) time.Duration {
	if c.Current.FinishedAt.Sub(c.Current.StartedAt) > backoffReset {
		return 0
	}
	return c.Backoff
}

// nextRestartBackoff is the back-off to record once c restarts.
func nextRestartBackoff(c *ContainerRecord) time.Duration {
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

func containerSpec(spec *manifest.PodSpec, c *ContainerRecord) *manifest.Container {
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
func NewContainerRecords(spec *manifest.PodSpec) []*ContainerRecord {
	var out []*ContainerRecord
	for _, c := range spec.InitContainers {
		out = append(out, &ContainerRecord{Name: c.Name, Init: true})
	}
	for _, c := range spec.Containers {
		out = append(out, &ContainerRecord{Name: c.Name})
	}
	return out
}

func terminatedState(r *Run) *manifest.StateTerminated {
	if r == nil || r.Step != StepExited {
		return nil
	}
	t := &manifest.StateTerminated{
		ExitCode:   r.ExitCode,
		Signal:     r.Signal,
		Reason:     r.Reason,
		Message:    r.Message,
		StartedAt:  manifest.Time{Time: r.StartedAt.Truncate(time.Second)},
		FinishedAt: manifest.Time{Time: r.FinishedAt.Truncate(time.Second)},
	}
	if r.ID != "" {
		t.ContainerID = "docker://" + r.ID
	}
	return t
}

func containerStatus(c *ContainerRecord, spec *manifest.Container, defaultWaiting string) manifest.ContainerStatus {
	cs := manifest.ContainerStatus{
		Name:         c.Name,
		Image:        spec.Image,
		ImageID:      c.ImageID,
		RestartCount: c.RestartCount,
	}
	started := false
	last := c.Last
	switch {
	case c.Waiting != nil && !c.inFlight():
		w := *c.Waiting
		cs.State.Waiting = &w
		if c.exited() {
			last = c.Current
		}
	case c.Current == nil || c.Current.Step == StepIntent || c.Current.Step == StepCreated:
		cs.State.Waiting = &manifest.StateWaiting{Reason: defaultWaiting}
	case c.Current.Step == StepStarted:
		cs.State.Running = &manifest.StateRunning{StartedAt: manifest.Time{Time: c.Current.StartedAt.Truncate(time.Second)}}
		started = true
		cs.Ready = !c.Init || isRestartable(spec)
	default:
		cs.State.Terminated = terminatedState(c.Current)
	}
	if t := terminatedState(last); t != nil {
		cs.LastState.Terminated = t
	}
	if c.Current != nil && c.Current.ID != "" {
		cs.ContainerID = "docker://" + c.Current.ID
	}
	if c.Current != nil && c.Current.ImageID != "" {
		cs.ImageID = c.Current.ImageID
	}
	cs.Started = &started
	return cs
}

// isSidecar reports whether c is a native sidecar: an init container with
// restartPolicy Always.
func isSidecar(spec *manifest.PodSpec, c *ContainerRecord) bool {
	return c.Init && isRestartable(containerSpec(spec, c))
}

func isRestartable(c *manifest.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == manifest.RestartPolicyAlways
}

// podFinishing reports whether the pod's regular containers are done for
// good: every app container exited and will not restart, or a regular init
// container failed under restartPolicy Never. Only sidecars may still run.
func podFinishing(rec *PodRecord) bool {
	spec := &rec.Pod.Spec
	apps := false
	for _, c := range rec.Containers {
		if c.Init {
			if !isSidecar(spec, c) && c.exited() && !c.succeeded() && spec.RestartPolicy == manifest.RestartPolicyNever {
				return true
			}
			continue
		}
		apps = true
		if c.Current == nil || c.inFlight() || shouldRestart(spec.RestartPolicy, c.Current) {
			return false
		}
	}
	return apps
}

// stopActions stops the pod's running containers the kubelet's way: the
// regular containers first, then the native sidecars one at a time in
// reverse order, each once everything after it has exited.
func stopActions(rec *PodRecord) []podAction {
	var acts []podAction
	for i, c := range rec.Containers {
		if c.inFlight() && !isSidecar(&rec.Pod.Spec, c) {
			acts = append(acts, podAction{actStop, i})
		}
	}
	if len(acts) > 0 {
		return acts
	}
	for i := len(rec.Containers) - 1; i >= 0; i-- {
		if c := rec.Containers[i]; c.inFlight() {
			return []podAction{{actStop, i}}
		}
	}
	return nil
}

// derivePodStatus computes the Kubernetes PodStatus from the record, with
// the kubelet's phase rules (reference §1.2).
func derivePodStatus(rec *PodRecord, now time.Time) manifest.PodStatus {
	spec := &rec.Pod.Spec
	old := rec.Pod.Status
	if !rec.Scheduled && rec.TerminateReason == "" {
		// Waiting for a slot under --max-pods, as on a full node.
		return manifest.PodStatus{
			Phase:    manifest.PodPending,
			QOSClass: qosClass(spec),
			Conditions: []manifest.PodCondition{{
				Type: "PodScheduled", Status: "False", Reason: "Unschedulable", Message: unschedulableMessage,
				LastTransitionTime: manifest.Time{Time: now.Truncate(time.Second)},
			}},
		}
	}
	st := manifest.PodStatus{
		HostIP:    old.HostIP,
		PodIP:     old.PodIP,
		StartTime: old.StartTime,
		QOSClass:  qosClass(spec),
	}
	nInit := len(spec.InitContainers)
	defaultWaiting := "ContainerCreating"
	if nInit > 0 {
		defaultWaiting = "PodInitializing"
	}
	for i, c := range rec.Containers {
		cs := containerStatus(c, containerSpec(spec, c), defaultWaiting)
		if i < nInit {
			if cs.State.Waiting != nil && cs.State.Waiting.Reason == "PodInitializing" {
				// Init containers wait in PodInitializing only before they are
				// created; kubectl shows Init:N/M for that.
				cs.State.Waiting.Reason = "PodInitializing"
			}
			st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		} else {
			st.ContainerStatuses = append(st.ContainerStatuses, cs)
		}
	}
	running := false
	for _, c := range rec.Containers {
		if c.inFlight() {
			running = true
		}
	}
	terminal := rec.TerminateReason != "" && !running
	st.Phase = podPhase(spec, st.InitContainerStatuses, st.ContainerStatuses, terminal)
	if IsTerminalPhase(st.Phase) && running {
		// The kubelet keeps a pod out of a terminal phase while any of its
		// containers (a sidecar being stopped) may still run.
		st.Phase = old.Phase
		if st.Phase == "" || IsTerminalPhase(st.Phase) {
			st.Phase = manifest.PodRunning
		}
	}
	if terminal && rec.TerminateReason == ReasonPodDeadlineExceeded {
		st.Reason = rec.TerminateReason
		st.Message = rec.TerminateMessage
	}

	initialized := true
	ready := len(st.ContainerStatuses) > 0
	for i, cs := range st.InitContainerStatuses {
		if i < len(spec.InitContainers) && isRestartable(&spec.InitContainers[i]) {
			// A sidecar counts once it has started; it counts in readiness.
			if !sidecarHasStarted(cs) {
				initialized = false
			}
			if !cs.Ready {
				ready = false
			}
			continue
		}
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			initialized = false
		}
	}
	for _, cs := range st.ContainerStatuses {
		if !cs.Ready {
			ready = false
		}
	}
	if IsTerminalPhase(st.Phase) {
		ready = false
	}
	sandbox := !IsTerminalPhase(st.Phase)
	conds := []struct {
		typ    string
		status bool
		reason string
	}{
		{"PodReadyToStartContainers", sandbox, ""},
		{"Initialized", initialized, map[bool]string{false: "ContainersNotInitialized"}[initialized]},
		{"Ready", ready, readyReason(ready, st.Phase)},
		{"ContainersReady", ready, readyReason(ready, st.Phase)},
		{"PodScheduled", true, ""},
	}
	for _, c := range conds {
		st.Conditions = append(st.Conditions, podCondition(old.Conditions, c.typ, c.status, c.reason, now))
	}
	if disrupted(rec) {
		// A pod localjobs stopped (run interrupted, pod deleted or
		// replaced) carries DisruptionTarget, so podFailurePolicy
		// onPodConditions rules can match it; its own deadline and its
		// Job's decisions are not disruptions.
		at := rec.TerminateAt
		if at.IsZero() {
			at = now
		}
		msg := rec.TerminateMessage
		if msg == "" {
			msg = "Pod was terminated by localjobs"
		}
		st.Conditions = append(st.Conditions, manifest.PodCondition{
			Type: "DisruptionTarget", Status: "True", Reason: "TerminationByKubelet", Message: msg,
			LastTransitionTime: manifest.Time{Time: at.Truncate(time.Second)},
		})
	}
	return st
}

// Pod-level activeDeadlineSeconds (the kubelet's active deadline handler).
const (
	ReasonPodDeadlineExceeded = "DeadlineExceeded"
	msgPodDeadlineExceeded    = "Pod was active on the node longer than the specified deadline"
)

// disrupted reports whether localjobs stopped the pod for a reason that
// Kubernetes would mark with the DisruptionTarget condition.
func disrupted(rec *PodRecord) bool {
	r := rec.TerminateReason
	return r != "" && r != ReasonPodDeadlineExceeded && !isJobTerminateReason(r)
}

func readyReason(ready bool, phase string) string {
	if ready {
		return ""
	}
	if phase == manifest.PodSucceeded {
		return "PodCompleted"
	}
	return "ContainersNotReady"
}

func podCondition(old []manifest.PodCondition, typ string, status bool, reason string, now time.Time) manifest.PodCondition {
	s := "False"
	if status {
		s = "True"
	}
	c := manifest.PodCondition{Type: typ, Status: s, Reason: reason, LastTransitionTime: manifest.Time{Time: now.Truncate(time.Second)}}
	for _, o := range old {
		if o.Type == typ && o.Status == s {
			c.LastTransitionTime = o.LastTransitionTime
		}
	}
	return c
}

// podPhase is the kubelet's getPhase (reference §1.2), without sidecars.
func podPhase(spec *manifest.PodSpec, initStatuses, statuses []manifest.ContainerStatus, podIsTerminal bool) string {
	pendingInit, failedInit := 0, 0
	for i, cs := range initStatuses {
		if i < len(spec.InitContainers) && isRestartable(&spec.InitContainers[i]) {
			// Sidecar exit codes never count toward the phase.
			if !sidecarHasStarted(cs) {
				pendingInit++
			}
			continue
		}
		switch {
		case cs.State.Running != nil:
			pendingInit++
		case cs.State.Terminated != nil:
			if cs.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case cs.State.Waiting != nil:
			if cs.LastState.Terminated != nil && cs.LastState.Terminated.ExitCode != 0 {
				failedInit++
			} else {
				pendingInit++
			}
		default:
			pendingInit++
		}
	}
	var running, waiting, stopped, succeeded, unknown int
	for _, cs := range statuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.State.Waiting != nil:
			if cs.LastState.Terminated != nil {
				stopped++
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}
	if failedInit > 0 && spec.RestartPolicy == manifest.RestartPolicyNever {
		return manifest.PodFailed
	}
	if podIsTerminal && running == 0 {
		if stopped > 0 && stopped == succeeded && waiting == 0 && unknown == 0 {
			return manifest.PodSucceeded
		}
		return manifest.PodFailed
	}
	switch {
	case pendingInit > 0 && running == 0 && stopped == 0:
		return manifest.PodPending
	case waiting > 0:
		return manifest.PodPending
	case running > 0 && unknown == 0:
		return manifest.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		switch {
		case spec.RestartPolicy == manifest.RestartPolicyAlways:
			return manifest.PodRunning
		case stopped == succeeded:
			return manifest.PodSucceeded
		case spec.RestartPolicy == manifest.RestartPolicyNever:
			return manifest.PodFailed
		default:
			return manifest.PodRunning
		}
	}
	return manifest.PodPending
}

// sidecarHasStarted reports whether a sidecar's status shows it started
// at some point (running now, or terminated or restarted since).
func sidecarHasStarted(cs manifest.ContainerStatus) bool {
	return (cs.Started != nil && *cs.Started) || cs.State.Terminated != nil || cs.LastState.Terminated != nil || cs.RestartCount > 0
}

// qosClass is Kubernetes' QoS class: Guaranteed when every container has
// equal cpu and memory requests and limits, BestEffort when none has any.
func qosClass(spec *manifest.PodSpec) string {
	any, guaranteed := false, true
	all := append(append([]manifest.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range all {
		if len(c.Resources.Limits) > 0 || len(c.Resources.Requests) > 0 {
			any = true
		}
		for _, r := range []string{"cpu", "memory"} {
			l, ok := c.Resources.Limits[r]
			if !ok {
				guaranteed = false
				continue
			}
			if q, ok := c.Resources.Requests[r]; ok && q.Cmp(l) != 0 {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return "BestEffort"
	case guaranteed:
		return "Guaranteed"
	}
	return "Burstable"
}
