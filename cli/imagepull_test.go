package cli

import (
	"testing"

	"github.com/localjobs/localjobs/manifest"
)

func TestGiveUpOnImage(t *testing.T) {
	const (
		denied   = `Failed to pull image "nope:1": pull access denied for nope, repository does not exist or may require 'docker login'`
		unknown  = `Failed to pull image "busybox:nope": manifest unknown`
		notFound = `Failed to pull image "ghcr.io/x/y:1": ghcr.io/x/y:1: not found`
		offline  = `Failed to pull image "busybox:1.36": dial tcp: lookup registry-1.docker.io: no such host`
		never    = `Container image "local:1" is not present with pull policy of Never`
	)
	pull := func(msg string) pullFailure { return pullFailure{reasonErrImagePull, msg} }
	tests := []struct {
		name  string
		fails []pullFailure
		wait  bool
		want  bool
	}{
		{"NoPulls", nil, false, false},
		{"FirstNotFound", []pullFailure{pull(denied)}, false, false},
		{"RetryConfirms", []pullFailure{pull(denied), pull(denied)}, false, true},
		{"ManifestUnknown", []pullFailure{pull(unknown), pull(unknown)}, false, true},
		{"NotFound", []pullFailure{pull(notFound), pull(notFound)}, false, true},
		{"WaitForImage", []pullFailure{pull(denied), pull(denied), pull(denied)}, true, false},
		{"Offline", []pullFailure{pull(offline), pull(offline), pull(offline)}, false, false},
		{"OfflineThenNotFound", []pullFailure{pull(offline), pull(denied)}, false, false},
		{"NotFoundThenOffline", []pullFailure{pull(denied), pull(denied), pull(offline)}, false, false},
		{"NeverPull", []pullFailure{{reasonErrImageNeverPull, never}}, false, true},
		{"NeverPullWaiting", []pullFailure{{reasonErrImageNeverPull, never}}, true, false},
		{"InvalidName", []pullFailure{{reasonInvalidImageName, "couldn't parse image reference"}}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := giveUpOnImage(tt.fails, tt.wait); got != tt.want {
				t.Errorf("giveUpOnImage(%v, %v) = %v, want %v", tt.fails, tt.wait, got, tt.want)
			}
		})
	}
}

// TestPullWatch: each new ErrImagePull in a pod's status is one failed
// pull (ImagePullBackOff in between); the message is new only once; a
// started container ends the streak.
func TestPullWatch(t *testing.T) {
	const msg = `Failed to pull image "nope:1": pull access denied for nope, repository does not exist`
	pod := func(reason, message string) *manifest.Pod {
		p := &manifest.Pod{ObjectMeta: manifest.ObjectMeta{Name: "p", UID: "u"},
			Spec: manifest.PodSpec{Containers: []manifest.Container{{Name: "main", Image: "nope:1"}}}}
		cs := manifest.ContainerStatus{Name: "main"}
		if reason == "Running" {
			cs.State.Running = &manifest.StateRunning{}
		} else {
			cs.State.Waiting = &manifest.StateWaiting{Reason: reason, Message: message}
		}
		p.Status.ContainerStatuses = []manifest.ContainerStatus{cs}
		return p
	}
	var w pullWatch
	steps := []struct {
		pod               *manifest.Pod
		problems          int
		isNew, wantGiveUp bool
	}{
		{pod(reasonErrImagePull, msg), 1, true, false},
		{pod(reasonErrImagePull, msg), 0, false, false}, // the same status again
		{pod(reasonImagePullBackOff, `Back-off pulling image "nope:1"`), 0, false, false},
		{pod(reasonErrImagePull, msg), 1, false, true},
		{pod("Running", ""), 0, false, false},
		{pod(reasonErrImagePull, msg), 1, false, false}, // a new streak
	}
	for i, s := range steps {
		got := w.observe(s.pod, false)
		if len(got) != s.problems {
			t.Fatalf("step %d: %d problems, want %d", i, len(got), s.problems)
		}
		if len(got) == 1 && (got[0].new != s.isNew || got[0].giveUp != s.wantGiveUp || got[0].image != "nope:1") {
			t.Errorf("step %d: %+v, want new %v giveUp %v", i, got[0], s.isNew, s.wantGiveUp)
		}
	}
}
