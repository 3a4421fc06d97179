package runner

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// Change is one update of a pod or job, an event, or a line of container
// output, delivered to subscribers.
type Change struct {
	Pod    *manifest.Pod
	Record *PodRecord
	Job    *manifest.Job
	Event  *manifest.Event
	Log    *LogLine
	// Deleted is set when Pod or Job was deleted.
	Deleted bool
}

// LogLine is one line of a container's output as it was captured. The
// lines of an instance come before the pod change that records its exit.
type LogLine struct {
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	PodUID    string    `json:"podUID"`
	Container string    `json:"container"`
	Time      time.Time `json:"time"`
	Stream    string    `json:"stream"`
	Line      string    `json:"line"`
	// Partial is set when the engine split a long line and more follows.
	Partial bool `json:"partial,omitempty"`
}

// MaxQueue is how many changes a subscription holds for a reader that does
// not keep up; past it the subscription is cut off (ErrSlowSubscriber)
// rather than holding every change in memory.
const MaxQueue = 65536

// ErrSlowSubscriber ends a subscription whose reader fell MaxQueue changes
// behind: it must list again and subscribe anew.
var ErrSlowSubscriber = errors.New("the watch fell too far behind and was cut off; list again")

// Hub delivers every published Change to the subscriptions that want it,
// in order. The zero Hub is ready to use; it is safe for concurrent use.
type Hub struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives every Change published after it was made that its
// filter keeps, in order and without loss, or is cut off.
type Subscription struct {
	hub    *Hub
	filter func(*Change) bool
	max    int // queue limit
	mu     sync.Mutex
	queue  []Change
	cut    bool
	signal chan struct{}
}

// Subscribe starts a subscription to the changes keep accepts (nil = all);
// keep runs in the publisher and must be quick. Close ends it.
func (h *Hub) Subscribe(keep func(*Change) bool) *Subscription {
	return h.SubscribeQueue(keep, MaxQueue)
}

// SubscribeQueue is Subscribe with a queue of max changes instead of
// MaxQueue (max ≤ 0 means MaxQueue).
func (h *Hub) SubscribeQueue(keep func(*Change) bool, max int) *Subscription {
	if max <= 0 {
		max = MaxQueue
	}
	s := &Subscription{hub: h, filter: keep, max: max, signal: make(chan struct{}, 1)}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*Subscription]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Publish queues ch for every subscription whose filter keeps it. It never
// blocks on a reader: one that falls its queue limit behind is cut off.
func (h *Hub) Publish(ch Change) {
	h.mu.Lock()
	subs := make([]*Subscription, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		if s.filter != nil && !s.filter(&ch) {
			continue
		}
		s.mu.Lock()
		switch {
		case s.cut:
		case len(s.queue) >= s.max:
			s.cut, s.queue = true, nil
		default:
			s.queue = append(s.queue, ch)
		}
		s.mu.Unlock()
		select {
		case s.signal <- struct{}{}:
		default:
		}
	}
}

// Next returns the next change, waiting for one until ctx is done; it
// returns ErrSlowSubscriber once the subscription was cut off and its
// queue is drained.
func (s *Subscription) Next(ctx context.Context) (Change, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ch := s.queue[0]
			s.queue[0] = Change{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return ch, nil
		}
		cut := s.cut
		s.mu.Unlock()
		if cut {
			return Change{}, ErrSlowSubscriber
		}
		select {
		case <-s.signal:
		case <-ctx.Done():
			return Change{}, ctx.Err()
		}
	}
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
}
