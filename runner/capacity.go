package runner

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

// podSlots admits pods under Controller.MaxPods, first come first served,
// and caches the node's capacity.
type podSlots struct {
	mu      sync.Mutex
	used    int
	waiting []chan struct{} // closed when admitted, in arrival order

	nodeOnce sync.Once
	node     NodeInfo
	nodeErr  error
}

func (c *Controller) maxPods() int {
	if c.MaxPods <= 0 {
		return DefaultMaxPods
	}
	return c.MaxPods
}

// admit takes a pod slot at once if one is free (nil), or queues for one
// and returns a channel closed when the slot is granted.
func (c *Controller) admit() chan struct{} {
	s := &c.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used < c.maxPods() && len(s.waiting) == 0 {
		s.used++
		return nil
	}
	ch := make(chan struct{})
	s.waiting = append(s.waiting, ch)
	return ch
}

// cancelAdmit withdraws a queued request; it reports false if the slot was
// granted meanwhile (and must then be released).
func (c *Controller) cancelAdmit(ch chan struct{}) bool {
	s := &c.slots
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

// release frees a slot, granting it to the oldest waiting pod.
func (c *Controller) release() {
	s := &c.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used--
	for len(s.waiting) > 0 && s.used < c.maxPods() {
		ch := s.waiting[0]
		s.waiting = s.waiting[1:]
		s.used++
		close(ch)
	}
}

// node returns the engine host's capacity, asked once.
func (c *Controller) node(ctx context.Context) (NodeInfo, error) {
	s := &c.slots
	s.nodeOnce.Do(func() { s.node, s.nodeErr = c.Runtime.Node(ctx) })
	if s.nodeErr != nil {
		return NodeInfo{}, fmt.Errorf("node capacity: %w", s.nodeErr)
	}
	return s.node, nil
}
