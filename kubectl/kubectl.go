package kubectl

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/localjobs/localjobs/manifest"
)

// PodColumns are kubectl get pods' READY, STATUS and RESTARTS.
type PodColumns struct {
	Ready, Status, Restarts string
}

// PrintPod computes READY, STATUS and RESTARTS exactly as kubectl's
// printPod does (reference §1.5).
func PrintPod(pod *manifest.Pod, now time.Time) PodColumns {
	restarts := 0
	totalContainers := len(pod.Spec.Containers)
	readyContainers := 0
	var lastRestart time.Time

	reason := pod.Status.Phase
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	sidecar := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == "Always" {
			sidecar[c.Name] = true
			totalContainers++
		}
	}
	note := func(cs manifest.ContainerStatus) {
		if t := cs.LastState.Terminated; t != nil && t.FinishedAt.After(lastRestart) {
			lastRestart = t.FinishedAt.Time
		}
	}
	initializing := false
	for i, cs := range pod.Status.InitContainerStatuses {
		restarts += int(cs.RestartCount)
		note(cs)
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
			continue
		case sidecar[cs.Name] && cs.Started != nil && *cs.Started:
			if cs.Ready {
				readyContainers++
			}
			continue
		case cs.State.Terminated != nil:
			t := cs.State.Terminated
			if t.Reason == "" {
				if t.Signal != 0 {
					reason = fmt.Sprintf("Init:Signal:%d", t.Signal)
				} else {
					reason = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
				}
			} else {
				reason = "Init:" + t.Reason
			}
			initializing = true
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + cs.State.Waiting.Reason
			initializing = true
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
			initializing = true
		}
		break
	}
	initializedCond := false
	for _, c := range pod.Status.Conditions {
		if c.Type == "Initialized" && c.Status == "True" {
			initializedCond = true
		}
	}
	if !initializing || initializedCond {
		restarts = 0
		for _, cs := range pod.Status.InitContainerStatuses {
			if sidecar[cs.Name] {
				restarts += int(cs.RestartCount)
			}
		}
		hasRunning := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := pod.Status.ContainerStatuses[i]
			restarts += int(cs.RestartCount)
			note(cs)
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				reason = cs.State.Waiting.Reason
			case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
				reason = cs.State.Terminated.Reason
			case cs.State.Terminated != nil:
				if cs.State.Terminated.Signal != 0 {
					reason = fmt.Sprintf("Signal:%d", cs.State.Terminated.Signal)
				} else {
					reason = fmt.Sprintf("ExitCode:%d", cs.State.Terminated.ExitCode)
				}
			case cs.Ready && cs.State.Running != nil:
				hasRunning = true
				readyContainers++
			}
		}
		if reason == "Completed" && hasRunning {
			reason = "NotReady"
			for _, c := range pod.Status.Conditions {
				if c.Type == "Ready" && c.Status == "True" {
					reason = "Running"
				}
			}
		}
	}
	if pod.DeletionTimestamp != nil && pod.Status.Phase != manifest.PodSucceeded && pod.Status.Phase != manifest.PodFailed {
		reason = "Terminating"
	}
	rs := fmt.Sprint(restarts)
	if restarts > 0 && !lastRestart.IsZero() {
		rs = fmt.Sprintf("%d (%s ago)", restarts, duration.HumanDuration(now.Sub(lastRestart)))
	}
	return PodColumns{
		Ready:    fmt.Sprintf("%d/%d", readyContainers, totalContainers),
		Status:   reason,
		Restarts: rs,
	}
}

// JobCondition is the Job's condition of type typ when its status is
// True, else nil.
func JobCondition(j *manifest.Job, typ string) *manifest.JobCondition {
	return j.Status.Condition(typ)
}

// JobStatus is the STATUS column of kubectl get jobs.
func JobStatus(j *manifest.Job) string {
	has := func(t string) bool { return JobCondition(j, t) != nil }
	switch {
	case has(manifest.JobComplete):
		return "Complete"
	case has(manifest.JobFailed):
		return "Failed"
	case j.DeletionTimestamp != nil:
		return "Terminating"
	case has(manifest.JobSuspended):
		return "Suspended"
	case has(manifest.JobFailureTarget):
		return "FailureTarget"
	}
	return "Running"
}

// JobCompletions is the COMPLETIONS column of kubectl get jobs.
func JobCompletions(j *manifest.Job) string {
	switch {
	case j.Spec.Completions != nil:
		return fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
		return fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	}
	return fmt.Sprintf("%d/1", j.Status.Succeeded)
}
