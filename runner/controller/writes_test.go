package controller_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// TestPodAttemptWrites: a pod that runs once makes one store write per
// step it records — the kubelet's events of a step (Scheduled, Pulled,
// Created, Started) go with the step's record, in order, and each event is
// published before the record it went with.
func TestPodAttemptWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: time.Second}))
		if _, err := h.ctrl.ApplyPod(context.Background(), pod("once", "busybox", "Never", "true")); err != nil {
			t.Fatal(err)
		}
		// Published: the reasons of the events, and "pod:<phase>" for a
		// pod change, in order.
		var published []string
		r := waitFor(h, "pod once", time.Hour,
			func(context.Context) (*runner.PodRecord, error) { return nil, runner.ErrObjectNotFound },
			func(ch runner.Change) (*runner.PodRecord, bool) {
				switch {
				case ch.Event != nil:
					published = append(published, ch.Event.Reason)
				case ch.Record != nil:
					published = append(published, "pod:"+string(ch.Record.Pod.Status.Phase))
				}
				return ch.Record, ch.Record != nil
			}, phaseIs(manifest.PodSucceeded))
		synctest.Wait()

		evs, err := h.store.Events(context.Background(), "", r.Pod.UID)
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, e := range evs {
			reasons = append(reasons, e.Reason)
		}
		if want := []string{"Scheduled", "Pulled", "Created", "Started"}; !slices.Equal(reasons, want) {
			t.Errorf("stored events %q, want %q", reasons, want)
		}
		// Each event published, and before the pod change it went with.
		for _, reason := range reasons {
			if !slices.Contains(published, reason) {
				t.Errorf("event %s not published: %q", reason, published)
			}
		}
		if i, j := slices.Index(published, "Started"), slices.Index(published, "pod:Running"); i < 0 || j < 0 || i > j {
			t.Errorf("Started published after the pod ran (or not at all): %q", published)
		}
		// The pod writes: created (the controller), admitted, intent,
		// created, started (the loop's save before it waits), exited — 6,
		// none for the events alone (11 before: 7 and 4 events).
		writes := h.store.Faults.Calls("SavePod") + h.store.Faults.Calls("AddEvent")
		t.Logf("store writes for one attempt: SavePod %d, AddEvent %d", h.store.Faults.Calls("SavePod"), h.store.Faults.Calls("AddEvent"))
		if writes > 6 {
			t.Errorf("%d store writes (SavePod %d, AddEvent %d) for one attempt; want at most 6, the events with the records",
				writes, h.store.Faults.Calls("SavePod"), h.store.Faults.Calls("AddEvent"))
		}
	})
}

// TestJobPodCreateWrites: a Job's pod is created with its SuccessfulCreate
// event in one write, the event published before the pod; what is left
// written alone is the Job's own Completed event.
func TestJobPodCreateWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: time.Second}))
		var published []string
		j, err := h.ctrl.ApplyJob(context.Background(), newJob("one", nil))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(h, "job one", time.Hour,
			func(context.Context) (*manifest.Job, error) { return nil, runner.ErrObjectNotFound },
			func(ch runner.Change) (*manifest.Job, bool) {
				switch {
				case ch.Event != nil:
					published = append(published, ch.Event.Reason)
				case ch.Record != nil && (len(published) == 0 || published[len(published)-1] != "pod"):
					published = append(published, "pod")
				}
				return ch.Job, ch.Job != nil && ch.Job.Name == "one"
			}, finished)
		synctest.Wait()
		evs, err := h.store.Events(context.Background(), "", j.UID)
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, e := range evs {
			reasons = append(reasons, e.Reason)
		}
		if want := []string{"SuccessfulCreate", "Completed"}; !slices.Equal(reasons, want) {
			t.Errorf("the Job's stored events %q, want %q", reasons, want)
		}
		if len(published) < 2 || published[0] != "SuccessfulCreate" || published[1] != "pod" {
			t.Errorf("published %q: want SuccessfulCreate, then the pod", published)
		}
		if n := h.store.Faults.Calls("AddEvent"); n != 1 {
			t.Errorf("%d events written alone, want 1 (the Job's Completed)", n)
		}
	})
}
