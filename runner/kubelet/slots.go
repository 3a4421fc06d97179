package kubelet

import (
	"context"
	"fmt"
	"sync"
)

// DefaultMaxPods is the kubelet's default --max-pods.
const DefaultMaxPods = 110

// unschedulableMessage is the scheduler's message for a pod that does not
// fit on a full single node.
const unschedulableMessage = "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."

// slots admits pods under Settings.MaxPods, first come first served.
type slots struct {
	mu      sync.Mutex
	used    int
	waiting []chan struct{} // closed when admitted, in arrival order
}

func (k *Kubelet) maxPods() int {
	if n := k.Settings.MaxPods(); n > 0 {
		return n
	}
	return DefaultMaxPods
}

// admit takes a pod slot at once if one is free (nil), or queues for one
// and returns a channel closed when the slot is granted.
func (k *Kubelet) admit() chan struct{} {
	s := &k.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used < k.maxPods() && len(s.waiting) == 0 {
		s.used++
		return nil
	}
	ch := make(chan struct{})
	s.waiting = append(s.waiting, ch)
	return ch
}

// cancelAdmit withdraws a queued request; it reports false if the slot was
// granted meanwhile (and must then be released).
func (k *Kubelet) cancelAdmit(ch chan struct{}) bool {
	s := &k.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, w := range s.waiting {
		if w == ch {
			s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
			return true
		}
	}
	return false
}

// takeNow withdraws a queued request and takes a slot at once, over the
// limit if need be (release gives it back): for a pod that must run or end
// without waiting its turn. A request granted meanwhile already holds its
// slot.
func (k *Kubelet) takeNow(ch chan struct{}) {
	if k.cancelAdmit(ch) {
		k.slots.mu.Lock()
		k.slots.used++
		k.slots.mu.Unlock()
	}
}

// release frees a slot, granting it to the oldest waiting pod.
func (k *Kubelet) release() {
	s := &k.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used--
	for len(s.waiting) > 0 && s.used < k.maxPods() {
		ch := s.waiting[0]
		s.waiting = s.waiting[1:]
		s.used++
		close(ch)
	}
}

// admit waits for a pod slot under MaxPods, recording Scheduled, or
// FailedScheduling and PodScheduled=False/Unschedulable while it waits. It
// returns false if ctx ended first; a pod terminated while it waits is
// admitted at once (it will start nothing).
func (w *Worker) admit(ctx context.Context) bool {
	ch := w.k.admit()
	switch {
	case ch != nil && !w.rec.Scheduled:
		w.save(ctx)
		w.event(nil, "Warning", "FailedScheduling", unschedulableMessage)
		if !w.waitForSlot(ctx, ch) {
			return false
		}
	case ch != nil:
		// Already scheduled before a daemon restart: it keeps its place.
		w.k.takeNow(ch)
	}
	if !w.rec.Scheduled && w.rec.TerminateReason == "" {
		w.rec.Scheduled = true
		w.eventLater(nil, "Normal", "Scheduled", fmt.Sprintf("Successfully assigned %s/%s to %s",
			w.rec.Pod.Namespace, w.rec.Pod.Name, w.rec.Pod.Spec.NodeName))
	}
	w.rec.Scheduled = true
	return true
}

// waitForSlot waits until the queued request ch is granted, or the pod is
// terminated (it then takes a slot briefly, to end), or ctx ends (false).
func (w *Worker) waitForSlot(ctx context.Context, ch chan struct{}) bool {
	select {
	case <-ch:
	case r := <-w.terminate:
		w.k.takeNow(ch) // held briefly; Run releases it
		w.terminated(r)
	case <-ctx.Done():
		if !w.k.cancelAdmit(ch) {
			w.k.release()
		}
		return false
	}
	return true
}
