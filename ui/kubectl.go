package ui

import (
	"fmt"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// The columns below are kubectl's, as the CLI prints them (cli/printers.go
// podRow, jobStatus, jobCompletions, HumanDuration). The dashboard cannot
// import cli (it sits below it), so they are repeated here; the browser
// test compares this STATUS column with `localjobs get pods` on the same
// pods, so the two cannot drift apart unnoticed.

// humanDuration formats d as kubectl's AGE and DURATION columns do
// (apimachinery duration.HumanDuration).
func humanDuration(d time.Duration) string {
	if seconds := int(d.Seconds()); seconds < -1 {
		return "<invalid>"
	} else if seconds < 0 {
		return "0s"
	} else if seconds < 60*2 {
		return fmt.Sprintf("%ds", seconds)
	}
	minutes := int(d / time.Minute)
	if minutes < 10 {
		s := int(d/time.Second) % 60
		if s == 0 {
			return fmt.Sprintf("%dm", minutes)
		}
		return fmt.Sprintf("%dm%ds", minutes, s)
	} else if minutes < 60*3 {
		return fmt.Sprintf("%dm", minutes)
	}
	hours := int(d / time.Hour)
	if hours < 8 {
		m := int(d/time.Minute) % 60
		if m == 0 {
			return fmt.Sprintf("%dh", hours)
		}
		return fmt.Sprintf("%dh%dm", hours, m)
	} else if hours < 48 {
		return fmt.Sprintf("%dh", hours)
	} else if hours < 24*8 {
		h := hours % 24
		if h == 0 {
			return fmt.Sprintf("%dd", hours/24)
		}
		return fmt.Sprintf("%dd%dh", hours/24, h)
	} else if hours < 24*365*2 {
		return fmt.Sprintf("%dd", hours/24)
	} else if hours < 24*365*8 {
		dy := int(hours/24) % 365
		if dy == 0 {
			return fmt.Sprintf("%dy", hours/24/365)
		}
		return fmt.Sprintf("%dy%dd", hours/24/365, dy)
	}
	return fmt.Sprintf("%dy", int(hours/24/365))
}

// podColumns are kubectl get pods' READY, STATUS and RESTARTS.
type podColumns struct {
	Ready, Status, Restarts string
}

// kubectlPod computes READY, STATUS and RESTARTS exactly as kubectl's
// printPod does (reference §1.5).
func kubectlPod(pod *manifest.Pod, now time.Time) podColumns {
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
		rs = fmt.Sprintf("%d (%s ago)", restarts, humanDuration(now.Sub(lastRestart)))
	}
	return podColumns{
		Ready:    fmt.Sprintf("%d/%d", readyContainers, totalContainers),
		Status:   reason,
		Restarts: rs,
	}
}

func jobCondition(j *manifest.Job, typ string) *manifest.JobCondition {
	for i, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == "True" {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

// kubectlJobStatus is the STATUS column of kubectl get jobs.
func kubectlJobStatus(j *manifest.Job) string {
	has := func(t string) bool { return jobCondition(j, t) != nil }
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

// kubectlCompletions is the COMPLETIONS column of kubectl get jobs.
func kubectlCompletions(j *manifest.Job) string {
	switch {
	case j.Spec.Completions != nil:
		return fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
		return fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	}
	return fmt.Sprintf("%d/1", j.Status.Succeeded)
}

// jobTimes are a Job's start and end (zero while it runs); a Failed Job
// has no completionTime, so its end is when it got the Failed condition.
func jobTimes(j *manifest.Job) (start, end time.Time) {
	if j.Status.StartTime != nil {
		start = j.Status.StartTime.Time
	}
	switch {
	case j.Status.CompletionTime != nil:
		end = j.Status.CompletionTime.Time
	case jobCondition(j, manifest.JobFailed) != nil:
		end = jobCondition(j, manifest.JobFailed).LastTransitionTime.Time
	}
	return start, end
}
