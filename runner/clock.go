package runner

import (
	"context"
	"time"
)

// Clock gives the controllers the time. Now is the wall clock (what status
// timestamps record); timers run on the monotonic clock, as Go timers do.
// Tests pass a fake or run under testing/synctest.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the controllers use.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// RealClock is the system clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// After returns a channel that receives once d has passed on c, and the
// function that stops its timer; for d <= 0 the channel is nil, which a
// select never receives from (no timeout).
func After(c Clock, d time.Duration) (ch <-chan time.Time, stop func()) {
	if d <= 0 {
		return nil, func() {}
	}
	t := c.NewTimer(d)
	return t.C(), func() { t.Stop() }
}

// Sleep waits d on c; it reports false, at once, if ctx ends first.
func Sleep(ctx context.Context, c Clock, d time.Duration) bool {
	t := c.NewTimer(d)
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C():
		return true
	}
}

// NextBackoff is the capped back-off after prev (0: the first failure):
// 100 ms, doubling, at most 30 s.
func NextBackoff(prev time.Duration) time.Duration {
	return min(max(2*prev, 100*time.Millisecond), 30*time.Second)
}
