package controller_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// TestLogWriteFailureReported: while the disk is full, log writes fail;
// that becomes a Warning event on the pod and a line on the daemon's log,
// capture goes on, and when writing works again the log gets a marker
// line saying what was lost, then the rest (issue #10 item 9b).
func TestLogWriteFailureReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		rt.Script = always(runnertest.Behavior{RunFor: time.Minute, Lines: []string{"one", "two", "three"}, BreakFollow: 1})
		var daemonLog runnertest.SyncBuffer
		h := newHarnessWith(t, rt, func(c *controller.Controller) { c.Log = slog.New(slog.NewTextHandler(&daemonLog, nil)) })
		h.store.FailLogWrites(syscall.ENOSPC)
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("full", "busybox", manifest.RestartPolicyNever)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // "one" was lost; the follow broke and waits to resume
		h.store.FailLogWrites(nil)
		r := h.waitPod("full", phaseIs(manifest.PodSucceeded))
		got := h.store.LogLines("default", "full", r.Pod.UID, "main", 0)
		if len(got) != 3 || !strings.Contains(got[0], "1 line lost") || !strings.Contains(got[0], "no space left on device") || !slices.Equal(got[1:], []string{"two", "three"}) {
			t.Errorf("log %q, want a marker line (1 line lost: no space left on device), two, three", got)
		}
		evs := strings.Join(h.podEvents(r), "\n")
		if !strings.Contains(evs, "Warning LogWriteFailed") || !strings.Contains(evs, "no space left on device") {
			t.Errorf("events:\n%s\nwant a Warning LogWriteFailed naming the error", evs)
		}
		if !strings.Contains(evs, "Normal LogWriteResumed") {
			t.Errorf("events:\n%s\nwant a Normal LogWriteResumed", evs)
		}
		if l := daemonLog.String(); !strings.Contains(l, "no space left on device") || !strings.Contains(l, "level=ERROR") {
			t.Errorf("daemon log:\n%s\nwant an error line naming the failure", l)
		}
	})
}
