package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// HumanDuration formats d as kubectl's AGE and DURATION columns do
// (apimachinery duration.HumanDuration).
func HumanDuration(d time.Duration) string {
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

func age(t manifest.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return HumanDuration(now.Sub(t.Time))
}

// PodRow is the kubectl get pods row of a pod.
type PodRow struct {
	Name, Ready, Status, Restarts, Age string
}

// podRow computes READY, STATUS and RESTARTS exactly as kubectl's printPod
// (reference §1.5).
func podRow(pod *manifest.Pod, now time.Time) PodRow {
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
		rs = fmt.Sprintf("%d (%s ago)", restarts, HumanDuration(now.Sub(lastRestart)))
	}
	return PodRow{
		Name:     pod.Name,
		Ready:    fmt.Sprintf("%d/%d", readyContainers, totalContainers),
		Status:   reason,
		Restarts: rs,
		Age:      age(pod.CreationTimestamp, now),
	}
}

// jobStatus is the STATUS column of kubectl get jobs.
func jobStatus(j *manifest.Job) string {
	has := func(t string) bool {
		for _, c := range j.Status.Conditions {
			if c.Type == t && c.Status == "True" {
				return true
			}
		}
		return false
	}
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

func jobCompletions(j *manifest.Job) string {
	switch {
	case j.Spec.Completions != nil:
		return fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
		return fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	}
	return fmt.Sprintf("%d/1", j.Status.Succeeded)
}

func jobDuration(j *manifest.Job, now time.Time) string {
	switch {
	case j.Status.StartTime == nil:
		return ""
	case j.Status.CompletionTime != nil:
		return HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
	}
	return HumanDuration(now.Sub(j.Status.StartTime.Time))
}

// newTable returns kubectl's table writer (cli-runtime printers/tabwriter.go).
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
}

// printJSON prints objects as kubectl -o json does: one object as itself,
// several (or a list request) as a v1 List, with 4-space indentation.
func printJSON(w io.Writer, objs []any, asList bool) error {
	var v any
	if len(objs) == 1 && !asList {
		v = objs[0]
	} else {
		items := objs
		if items == nil {
			items = []any{}
		}
		v = map[string]any{
			"apiVersion": "v1",
			"items":      items,
			"kind":       "List",
			"metadata":   map[string]any{"resourceVersion": ""},
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// Re-indent through a generic value so keys come out sorted, as
	// kubectl's output (from unstructured maps) does.
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}
