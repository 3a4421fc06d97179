package controller_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// TestDeleteCancelsPull: deleting a pod whose image is being pulled stops
// the pull and returns at once, rather than after the pull (up to five
// minutes, holding the apply lock meanwhile; issue #10 item 7).
func TestDeleteCancelsPull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		rt.PullDelay = 5 * time.Minute
		h := newHarness(t, rt)
		p := pod("pulling", "busybox", manifest.RestartPolicyNever)
		p.Spec.Containers[0].ImagePullPolicy = manifest.PullAlways
		if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the worker is in the pull
		t0 := time.Now()
		if err := h.ctrl.DeletePod(context.Background(), "default", "pulling"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("delete took %v, want it to cancel the pull", d)
		}
		if _, err := h.store.Pod(context.Background(), "default", "pulling"); err == nil {
			t.Error("the pod is still there after the delete returned")
		}
		if len(rt.Created) != 0 {
			t.Errorf("%d containers created, want none", len(rt.Created))
		}
	})
}
