package controller_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// TestLogCaptureResumesAfterBrokenFollow: the log follow breaks (as when
// the engine restarts) after each line; capture resumes from the last
// captured line while the container runs and once more after it exits,
// so the log has every line exactly once (issue #10 item 9a).
func TestLogCaptureResumesAfterBrokenFollow(t *testing.T) {
	lines := []string{"one", "two", "three", "four", "five"}
	for _, tc := range []struct {
		name   string
		breaks int
		runFor time.Duration
	}{
		{"once while running", 1, time.Minute},
		{"until after exit", 1000, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newBusybox(t, always(runnertest.Behavior{RunFor: tc.runFor, Lines: lines, BreakFollow: tc.breaks}))
				if _, err := h.ctrl.ApplyPod(context.Background(), pod("chatty", "busybox", manifest.RestartPolicyNever)); err != nil {
					t.Fatal(err)
				}
				r := h.waitPod("chatty", phaseIs(manifest.PodSucceeded))
				if got := h.store.LogLines("default", "chatty", r.Pod.UID, "main", 0); !slices.Equal(got, lines) {
					t.Errorf("log %q, want %q", got, lines)
				}
			})
		})
	}
}
