package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/localjobs/localjobs/runner"
)

// Log capture (DESIGN §5): an instance's output is followed into its log
// file while it runs. A follow that ends before the instance has been seen
// to exit — the engine restarted, the connection broke — is resumed from
// the last line captured, and once the exit is known the follow is
// stopped and the output read once more from that line, so no line is
// lost (the follow lags the exit) or doubled (the engine gives only lines
// strictly after a timestamp).

// capture is the log capture of one container instance. It is the sink
// of its reads: it remembers the newest line captured.
type capture struct {
	w    *Worker
	id   string
	sink runner.LogSink

	mu   sync.Mutex
	last time.Time // newest timestamp captured (or resumed from)
	// endedAt is when the last follow ended by itself (the engine ends it
	// once the container has stopped, after a last read of its own);
	// zero while one runs or after one failed.
	endedAt time.Time
}

func newCapture(w *Worker, id string, since time.Time, sink runner.LogSink) *capture {
	return &capture{w: w, id: id, sink: sink, last: since}
}

// WriteLine implements runner.LogSink.
func (c *capture) WriteLine(ts time.Time, stream string, line []byte, partial bool) error {
	err := c.sink.WriteLine(ts, stream, line, partial)
	c.mu.Lock()
	if ts.After(c.last) {
		c.last = ts
	}
	c.mu.Unlock()
	return err
}

func (c *capture) since() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Back-off between attempts to resume a broken follow.
const (
	resumeFirst = 100 * time.Millisecond
	resumeMax   = 5 * time.Second
)

// follow follows the output until ctx ends (the watcher stops it once the
// instance has exited), resuming after each end of the stream.
func (c *capture) follow(ctx context.Context) {
	delay := resumeFirst
	warned := false // once per run of failures: an outage is reported by waitExit
	for {
		before := c.since()
		c.setEnded(time.Time{})
		err := c.w.k.Runtime.Logs(ctx, c.id, before, true, c)
		if ctx.Err() != nil || errors.Is(err, runner.ErrNotFound) {
			return
		}
		if err == nil {
			c.setEnded(time.Now())
		}
		if c.since().After(before) {
			delay, warned = resumeFirst, false // it was making progress
		}
		if err != nil && !warned {
			warned = true
			c.w.log().Warn("log follow broke; resuming from the last line", "container", c.id, "error", err)
		}
		// The stream ended before the exit was seen (the instance may be
		// stopping, or the stream broke): resume after a pause.
		if !runner.Sleep(ctx, c.w.k.Clock, delay) {
			return
		}
		delay = min(2*delay, resumeMax)
	}
}

func (c *capture) setEnded(t time.Time) {
	c.mu.Lock()
	c.endedAt = t
	c.mu.Unlock()
}

// complete reports whether the output is captured whole: the last follow
// ended by itself after the instance finished (the engine's clock; a
// local engine shares ours), so there is nothing to catch up.
func (c *capture) complete(finished time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.endedAt.IsZero() && !finished.IsZero() && c.endedAt.After(finished)
}

// catchUp reads, once the instance has exited, what its output holds
// after the last line captured: what the follow had not delivered yet.
// A failed read is tried again a few times.
func (c *capture) catchUp(ctx context.Context) {
	delay := resumeFirst
	for attempt := 1; ; attempt++ {
		err := c.w.k.Runtime.Logs(ctx, c.id, c.since(), false, c)
		if err == nil || ctx.Err() != nil || errors.Is(err, runner.ErrNotFound) {
			return
		}
		if attempt == 3 {
			c.w.log().Warn("log catch-up after exit", "container", c.id, "error", err)
			return
		}
		if !runner.Sleep(ctx, c.w.k.Clock, delay) {
			return
		}
		delay *= 2
	}
}

// logGuard writes captured lines to an instance's log file and keeps a
// failed write (a full disk) from ending the capture or passing unseen:
// the first failure becomes a Warning event on the pod and an error on
// the daemon's log; the lines are dropped meanwhile, and when a write
// works again a marker line says how many were lost and why (DESIGN §5).
type logGuard struct {
	w         *Worker
	container *runner.ContainerRecord
	file      runner.LogSink

	mu      sync.Mutex // the follow and the catch-up write one after the other; kept simple
	lost    int        // lines dropped since the first failure
	lostErr error      // the first failure
}

// Event reasons of log writing.
const (
	reasonLogWriteFailed  = "LogWriteFailed"
	reasonLogWriteResumed = "LogWriteResumed"
)

// WriteLine implements runner.LogSink; it fails only if the marker line
// fails to write.
func (g *logGuard) WriteLine(ts time.Time, stream string, line []byte, partial bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lost > 0 {
		marker := fmt.Appendf(nil, "[localjobs: %d %s lost here: %v]", g.lost, plural(g.lost, "line"), g.lostErr)
		if err := g.file.WriteLine(ts, "stderr", marker, false); err != nil {
			g.lost++
			return nil
		}
		g.w.log().Info("log writing works again", "container", g.container.Name, "lost", g.lost)
		g.w.event(g.container, "Normal", reasonLogWriteResumed,
			fmt.Sprintf("Writing the log of container %s works again; %d %s lost", g.container.Name, g.lost, plural(g.lost, "line")))
		g.lost, g.lostErr = 0, nil
	}
	if err := g.file.WriteLine(ts, stream, line, partial); err != nil {
		if g.lost == 0 {
			g.lostErr = err
			g.w.log().Error("write container log; dropping its output until writing works again", "container", g.container.Name, "error", err)
			g.w.event(g.container, "Warning", reasonLogWriteFailed,
				fmt.Sprintf("Writing the log of container %s failed, its output is lost until writing works again: %v", g.container.Name, err))
		}
		g.lost++
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
