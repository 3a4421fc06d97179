package schedule

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// ErrAlreadyExists is returned by JobStore.CreateJob when a Job of that
// name exists; the controller then treats the slot as run.
var ErrAlreadyExists = errors.New("already exists")

// JobStore is what the CronJob controller needs from the rest of
// localjobs. The daemon implements it over the Job controller and the
// state store. Methods are called from one goroutine at a time.
type JobStore interface {
	// JobsOf lists the Jobs whose controller ownerReference is the CronJob
	// (by UID), finished or not, scheduled or manual.
	JobsOf(ctx context.Context, cj *manifest.CronJob) ([]*manifest.Job, error)
	// CreateJob records and starts a Job; ErrAlreadyExists if the name is
	// taken.
	CreateJob(ctx context.Context, j *manifest.Job) error
	// DeleteJob deletes a Job with its pods and logs, stopping pods that
	// still run (Kubernetes' background propagation). A missing Job is
	// not an error.
	DeleteJob(ctx context.Context, ns, name string) error
	// SaveCronJobStatus records cj.Status.
	SaveCronJobStatus(ctx context.Context, cj *manifest.CronJob) error
	// RecordEvent records an event about the CronJob.
	RecordEvent(ctx context.Context, cj *manifest.CronJob, typ, reason, message string)
}

// Clock gives the controller wall-clock readings (Now, which may jump, and
// which schedule times are compared with) and monotonic timers (After,
// which stop while the machine sleeps). The loop never trusts a timer to
// end at a wall-clock time: it re-reads Now at least every second.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the system clock.
type RealClock struct{}

// Now returns the wall clock (without a monotonic reading).
func (RealClock) Now() time.Time { return time.Now().Round(0) }

// After is time.After.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// tick is the longest the loop waits before re-reading the wall clock.
const tick = time.Second

// activeResync is how often a CronJob with active Jobs is re-synced even
// without a JobChanged call, so a lost notification delays a Forbid slot
// by at most this much.
const activeResync = 10 * time.Second

// retryAfter is the delay after a store error.
const retryAfter = 10 * time.Second

// Controller runs Sync for every CronJob it was given: at each CronJob's
// next schedule time (by the wall clock, within a second even after a
// suspend/resume or a clock jump), whenever one of its Jobs changes, and
// when the CronJob is applied. Set the fields before Run.
type Controller struct {
	Store  JobStore
	Clock  Clock          // nil = RealClock
	Local  *time.Location // zone of CronJobs without timeZone; nil = time.Local
	Logger *slog.Logger   // nil = slog.Default()

	mu      sync.Mutex
	entries map[string]*entry
	kick    chan struct{}
	started bool // the first pass of Run is over: run-on-start is done
}

type entry struct {
	cj         *manifest.CronJob
	dirty      bool      // sync as soon as possible
	due        time.Time // wall-clock time of the next sync (zero: none)
	runOnStart bool      // applied before Run's first pass and annotated
	blocked    time.Time // slot already reported JobAlreadyActive
}

func (c *Controller) init() {
	if c.entries == nil {
		c.entries = map[string]*entry{}
		c.kick = make(chan struct{}, 1)
	}
}

func (c *Controller) clock() Clock {
	if c.Clock == nil {
		return RealClock{}
	}
	return c.Clock
}

func (c *Controller) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

func (c *Controller) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Apply adds or updates a CronJob (spec and the status last saved); it is
// synced at once. CronJobs applied before Run starts get their
// localjobs.io/run-on-start run.
func (c *Controller) Apply(cj *manifest.CronJob) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	k := cj.Namespace + "/" + cj.Name
	e := c.entries[k]
	if e == nil {
		e = &entry{runOnStart: !c.started && cj.Annotations[AnnotationRunOnStart] == "true"}
		c.entries[k] = e
	}
	e.cj, e.dirty = cj, true
	c.wake()
}

// Remove forgets a CronJob (its Jobs are the daemon's to delete).
func (c *Controller) Remove(ns, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	delete(c.entries, ns+"/"+name)
}

// JobChanged tells the controller that a Job of the CronJob ns/name was
// created, finished or deleted, so a slot held back by Forbid can start.
func (c *Controller) JobChanged(ns, cronJob string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if e := c.entries[ns+"/"+cronJob]; e != nil {
		e.dirty = true
		c.wake()
	}
}

// CronJob returns the controller's copy of a CronJob (with the status it
// last saved), or nil.
func (c *Controller) CronJob(ns, name string) *manifest.CronJob {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if e := c.entries[ns+"/"+name]; e != nil {
		return e.cj
	}
	return nil
}

// Run syncs CronJobs until ctx ends; it returns nil then.
func (c *Controller) Run(ctx context.Context) error {
	c.mu.Lock()
	c.init()
	c.mu.Unlock()
	clk := c.clock()
	for {
		c.syncDue(ctx, clk.Now())
		c.mu.Lock()
		c.started = true
		wait := tick
		if len(c.entries) == 0 {
			wait = -1 // nothing to schedule: sleep until a CronJob comes
		}
		now := clk.Now()
		for _, e := range c.entries {
			if e.dirty {
				wait = 0
			} else if !e.due.IsZero() && e.due.Sub(now) < wait {
				wait = max(e.due.Sub(now), 0)
			}
		}
		c.mu.Unlock()
		if wait == 0 {
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		var after <-chan time.Time
		if wait > 0 {
			after = clk.After(wait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.kick:
		case <-after:
		}
	}
}

// syncDue syncs every CronJob that is dirty or due at now.
func (c *Controller) syncDue(ctx context.Context, now time.Time) {
	c.mu.Lock()
	var todo []*entry
	for _, e := range c.entries {
		if e.dirty || (!e.due.IsZero() && !now.Before(e.due)) {
			e.dirty = false
			todo = append(todo, e)
		}
	}
	c.mu.Unlock()
	for _, e := range todo {
		if ctx.Err() != nil {
			return
		}
		c.syncOne(ctx, e, now)
	}
}

func (c *Controller) syncOne(ctx context.Context, e *entry, now time.Time) {
	c.mu.Lock()
	cj, runOnStart := e.cj, e.runOnStart
	c.mu.Unlock()
	log := c.logger().With("cronjob", cj.Namespace+"/"+cj.Name)
	retry := func() {
		c.mu.Lock()
		e.due = now.Add(retryAfter)
		c.mu.Unlock()
	}
	jobs, err := c.Store.JobsOf(ctx, cj)
	if err != nil {
		log.Error("list jobs of cronjob", "error", err)
		retry()
		return
	}
	r := Sync(Input{CronJob: cj, Jobs: jobs, Now: now, Local: c.Local, RunOnStart: runOnStart})
	for _, ev := range r.Events {
		if ev.Reason == ReasonJobAlreadyActive {
			if e.blocked.Equal(r.Slot) {
				continue // reported once per held-back slot
			}
			e.blocked = r.Slot
		}
		c.Store.RecordEvent(ctx, cj, ev.Type, ev.Reason, ev.Message)
	}
	failed := false
	for _, a := range r.Actions {
		switch {
		case a.Delete != nil:
			if err := c.Store.DeleteJob(ctx, a.Delete.Namespace, a.Delete.Name); err != nil {
				c.Store.RecordEvent(ctx, cj, EventWarning, ReasonFailedDelete, "Deleted job "+a.Delete.Name+": "+err.Error())
				failed = true
				continue
			}
		case a.Create != nil:
			if failed {
				continue // Replace: never start while the old Job may run
			}
			err := c.Store.CreateJob(ctx, a.Create)
			if errors.Is(err, ErrAlreadyExists) {
				continue // created before; the slot has run
			} else if err != nil {
				c.Store.RecordEvent(ctx, cj, EventWarning, ReasonFailedCreate, "Error creating job: "+err.Error())
				failed = true
				continue
			}
			if a.Adjusted != nil {
				c.Store.RecordEvent(ctx, cj, a.Adjusted.Type, a.Adjusted.Reason, a.Adjusted.Message)
			}
		}
		c.Store.RecordEvent(ctx, cj, a.Event.Type, a.Event.Reason, a.Event.Message)
	}
	if failed {
		retry()
		return
	}
	if r.StatusChanged {
		next := *cj
		next.Status = r.Status
		if err := c.Store.SaveCronJobStatus(ctx, &next); err != nil {
			log.Error("save cronjob status", "error", err)
			retry()
			return
		}
		cj = &next
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Keep a spec applied during the sync (it is dirty and syncs again)
	// with the status just saved.
	e.cj = withStatus(e.cj, cj.Status)
	e.runOnStart = false
	e.due = r.NextRun
	if len(r.Status.Active) > 0 && (e.due.IsZero() || e.due.After(now.Add(activeResync))) {
		e.due = now.Add(activeResync)
	}
}

// withStatus returns cj with status st, leaving cj itself untouched.
func withStatus(cj *manifest.CronJob, st manifest.CronJobStatus) *manifest.CronJob {
	next := *cj
	next.Status = st
	return &next
}
