package cli

import (
	"bytes"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/localjobs/localjobs/manifest"
)

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-2 * time.Second, "<invalid>"}, {-500 * time.Millisecond, "0s"}, {0, "0s"}, {119 * time.Second, "119s"},
		{2 * time.Minute, "2m"}, {121 * time.Second, "2m1s"}, {9*time.Minute + 59*time.Second, "9m59s"},
		{10 * time.Minute, "10m"}, {179 * time.Minute, "179m"}, {3 * time.Hour, "3h"}, {3*time.Hour + 5*time.Minute, "3h5m"},
		{8 * time.Hour, "8h"}, {47 * time.Hour, "47h"}, {48 * time.Hour, "2d"}, {49 * time.Hour, "2d1h"},
		{8 * 24 * time.Hour, "8d"}, {2 * 365 * 24 * time.Hour, "2y"}, {(2*365 + 3) * 24 * time.Hour, "2y3d"},
		{8 * 365 * 24 * time.Hour, "8y"},
	}
	for _, tt := range tests {
		if got := duration.HumanDuration(tt.d); got != tt.want {
			t.Errorf("duration.HumanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestPodRow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	created := manifest.Time{Time: now.Add(-5 * time.Minute)}
	one := []manifest.Container{{Name: "main"}}
	term := func(reason string, code int32) manifest.ContainerState {
		return manifest.ContainerState{Terminated: &manifest.StateTerminated{Reason: reason, ExitCode: code, FinishedAt: manifest.Time{Time: now.Add(-42 * time.Second)}}}
	}
	wait := func(reason string) manifest.ContainerState {
		return manifest.ContainerState{Waiting: &manifest.StateWaiting{Reason: reason}}
	}
	tests := []struct {
		name   string
		pod    manifest.Pod
		status string
		ready  string
		rs     string
	}{
		{"pending, no statuses", manifest.Pod{Spec: manifest.PodSpec{Containers: one}, Status: manifest.PodStatus{Phase: "Pending"}}, "Pending", "0/1", "0"},
		{"creating", manifest.Pod{Spec: manifest.PodSpec{Containers: one}, Status: manifest.PodStatus{Phase: "Pending",
			ContainerStatuses: []manifest.ContainerStatus{{Name: "main", State: wait("ContainerCreating")}}}}, "ContainerCreating", "0/1", "0"},
		{"running", manifest.Pod{Spec: manifest.PodSpec{Containers: one}, Status: manifest.PodStatus{Phase: "Running",
			ContainerStatuses: []manifest.ContainerStatus{{Name: "main", Ready: true, State: manifest.ContainerState{Running: &manifest.StateRunning{}}}}}}, "Running", "1/1", "0"},
		{"completed", manifest.Pod{Spec: manifest.PodSpec{Containers: one}, Status: manifest.PodStatus{Phase: "Succeeded",
			ContainerStatuses: []manifest.ContainerStatus{{Name: "main", State: term("Completed", 0)}}}}, "Completed", "0/1", "0"},
		{"cannot run", manifest.Pod{Spec: manifest.PodSpec{Containers: one}, Status: manifest.PodStatus{Phase: "Failed",
			ContainerStatuses: []manifest.ContainerStatus{{Name: "main", State: term("ContainerCannotRun", 127)}}}}, "ContainerCannotRun", "0/1", "0"},
		{"exit code without reason", manifest.Pod{Spec: manifest.PodSpec{Containers: one}, Status: manifest.PodStatus{Phase: "Failed",
			ContainerStatuses: []manifest.ContainerStatus{{Name: "main", State: term("", 3)}}}}, "ExitCode:3", "0/1", "0"},
		{"crashloop", manifest.Pod{Spec: manifest.PodSpec{Containers: one}, Status: manifest.PodStatus{Phase: "Running",
			ContainerStatuses: []manifest.ContainerStatus{{Name: "main", RestartCount: 3, State: wait("CrashLoopBackOff"), LastState: term("Error", 1)}}}}, "CrashLoopBackOff", "0/1", "3 (42s ago)"},
		{"deadline", manifest.Pod{Spec: manifest.PodSpec{Containers: one}, Status: manifest.PodStatus{Phase: "Failed", Reason: "DeadlineExceeded"}}, "DeadlineExceeded", "0/1", "0"},
		{"init waiting", manifest.Pod{Spec: manifest.PodSpec{InitContainers: []manifest.Container{{Name: "a"}, {Name: "b"}}, Containers: one},
			Status: manifest.PodStatus{Phase: "Pending", InitContainerStatuses: []manifest.ContainerStatus{
				{Name: "a", State: term("Completed", 0)}, {Name: "b", State: manifest.ContainerState{Running: &manifest.StateRunning{}}}}}}, "Init:1/2", "0/1", "0"},
		// Once the runner sets deletionTimestamp during a delete's grace
		// period (issue #12), get -w shows Terminating as kubectl does.
		{"terminating", manifest.Pod{ObjectMeta: manifest.ObjectMeta{DeletionTimestamp: &manifest.Time{Time: now.Add(30 * time.Second)}},
			Spec: manifest.PodSpec{Containers: one}, Status: manifest.PodStatus{Phase: "Running",
				ContainerStatuses: []manifest.ContainerStatus{{Name: "main", Ready: true, State: manifest.ContainerState{Running: &manifest.StateRunning{}}}}}}, "Terminating", "1/1", "0"},
		{"init error", manifest.Pod{Spec: manifest.PodSpec{InitContainers: []manifest.Container{{Name: "a"}}, Containers: one},
			Status: manifest.PodStatus{Phase: "Failed", InitContainerStatuses: []manifest.ContainerStatus{{Name: "a", State: term("Error", 1)}}}}, "Init:Error", "0/1", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.pod.CreationTimestamp = created
			r := podRow(&tt.pod, now)
			if r.Status != tt.status || r.Ready != tt.ready || r.Restarts != tt.rs || r.Age != "5m" {
				t.Errorf("podRow = %+v, want status %q ready %q restarts %q age 5m", r, tt.status, tt.ready, tt.rs)
			}
		})
	}
}

// TestRepeatedEvent: an event seen 4 times (count, firstTimestamp,
// lastTimestamp, as the API server aggregates them) prints once, as
// kubectl prints it: "<since last> (x4 over <since first>)" in describe
// and events, the last time seen in get events (COUNT under -o wide), and
// the message without the container's field path.
func TestRepeatedEvent(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ev := &manifest.Event{
		ObjectMeta:     manifest.ObjectMeta{Name: "nope.1", Namespace: "default"},
		InvolvedObject: manifest.ObjectReference{Kind: "Pod", Name: "nope", FieldPath: "spec.containers{main}"},
		Type:           "Normal", Reason: "BackOff", Message: `Back-off pulling image "nope:1"`,
		Source:         manifest.EventSource{Component: "kubelet"},
		FirstTimestamp: manifest.Time{Time: now.Add(-124 * time.Second)},
		LastTimestamp:  manifest.Time{Time: now.Add(-3 * time.Second)},
		Count:          4,
	}
	if got, want := eventInterval(ev, now), "3s (x4 over 2m4s)"; got != want {
		t.Errorf("eventInterval = %q, want %q", got, want)
	}

	var buf bytes.Buffer
	d := newDescribeWriter(&buf)
	describeEvents(d, []*manifest.Event{ev}, now)
	d.flush()
	const wantDescribe = `Events:
  Type    Reason   Age                From     Message
  ----    ------   ----               ----     -------
  Normal  BackOff  3s (x4 over 2m4s)  kubelet  Back-off pulling image "nope:1"
`
	if buf.String() != wantDescribe {
		t.Errorf("describe events:\n%s\nwant:\n%s", buf.String(), wantDescribe)
	}

	for _, tt := range []struct {
		name string
		o    eventOptions
		want string
	}{
		{"events", eventOptions{}, `LAST SEEN           TYPE     REASON    OBJECT     MESSAGE
3s (x4 over 2m4s)   Normal   BackOff   Pod/nope   Back-off pulling image "nope:1"
`},
		{"get events", eventOptions{getStyle: true}, `LAST SEEN   TYPE     REASON    OBJECT     MESSAGE
3s          Normal   BackOff   pod/nope   Back-off pulling image "nope:1"
`},
		{"get events -o wide", eventOptions{getStyle: true, out: outputFormat{kind: "wide"}},
			`LAST SEEN   TYPE     REASON    OBJECT     SUBOBJECT               SOURCE    MESSAGE                           FIRST SEEN   COUNT   NAME
3s          Normal   BackOff   pod/nope   spec.containers{main}   kubelet   Back-off pulling image "nope:1"   2m4s         4       nope.1
`},
	} {
		var buf bytes.Buffer
		p := &eventPrinter{w: newTable(&buf), o: tt.o}
		p.print(ev, now)
		p.w.Flush()
		if buf.String() != tt.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tt.name, buf.String(), tt.want)
		}
	}
}

// TestDescribeStateNeverStarted: a container that never started has no
// "Started: Mon, 01 Jan 0001" line (kubectl prints the zero time).
func TestDescribeStateNeverStarted(t *testing.T) {
	var buf bytes.Buffer
	d := newDescribeWriter(&buf)
	describeState(d, "State", manifest.ContainerState{Terminated: &manifest.StateTerminated{
		Reason: "ContainerCannotRun", Message: "no such file", ExitCode: 128}})
	d.flush()
	const want = `    State:        Terminated
      Reason:     ContainerCannotRun
      Message:    no such file
      Exit Code:  128
`
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
