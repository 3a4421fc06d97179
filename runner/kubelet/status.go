package kubelet

import (
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

func terminatedState(r *runner.Run) *manifest.StateTerminated {
	if r == nil || r.Step != runner.StepExited {
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

func containerStatus(c *runner.ContainerRecord, spec *manifest.Container, defaultWaiting string) manifest.ContainerStatus {
	cs := manifest.ContainerStatus{
		Name:         c.Name,
		Image:        spec.Image,
		ImageID:      c.ImageID,
		RestartCount: c.RestartCount,
	}
	started := false
	last := c.Last
	switch {
	case c.Waiting != nil && !inFlight(c):
		w := *c.Waiting
		cs.State.Waiting = &w
		if exited(c) {
			last = c.Current
		}
	case c.Current == nil || c.Current.Step == runner.StepIntent || c.Current.Step == runner.StepCreated:
		cs.State.Waiting = &manifest.StateWaiting{Reason: defaultWaiting}
	case c.Current.Step == runner.StepStarted:
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

// derivePodStatus computes the Kubernetes PodStatus from the record, with
// the kubelet's phase rules (reference §1.2).
func derivePodStatus(rec *runner.PodRecord, now time.Time) manifest.PodStatus {
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
		if inFlight(c) {
			running = true
		}
	}
	terminal := rec.TerminateReason != "" && !running
	st.Phase = podPhase(spec, st.InitContainerStatuses, st.ContainerStatuses, terminal)
	if runner.IsTerminalPhase(st.Phase) && running {
		// The kubelet keeps a pod out of a terminal phase while any of its
		// containers (a sidecar being stopped) may still run.
		st.Phase = old.Phase
		if st.Phase == "" || runner.IsTerminalPhase(st.Phase) {
			st.Phase = manifest.PodRunning
		}
	}
	if terminal && rec.TerminateReason == runner.ReasonPodDeadlineExceeded {
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
	if runner.IsTerminalPhase(st.Phase) {
		ready = false
	}
	sandbox := !runner.IsTerminalPhase(st.Phase)
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

// msgPodDeadlineExceeded is the kubelet's message for a pod stopped for
// its activeDeadlineSeconds (runner.ReasonPodDeadlineExceeded).
const msgPodDeadlineExceeded = "Pod was active on the node longer than the specified deadline"

// disrupted reports whether localjobs stopped the pod for a reason that
// Kubernetes would mark with the DisruptionTarget condition.
func disrupted(rec *runner.PodRecord) bool {
	r := rec.TerminateReason
	return r != "" && r != runner.ReasonPodDeadlineExceeded && !runner.IsJobTerminateReason(r)
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
