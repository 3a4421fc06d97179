package schedule

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// fakeClock is a wall clock that can jump, over synctest's fake time:
// timers (After) follow the bubble's monotonic time and never see a jump,
// as Go timers do not see a suspend/resume or a clock change.
type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func newFakeClock(wall time.Time) *fakeClock { return &fakeClock{offset: time.Until(wall)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset).Round(0).UTC()
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Jump moves the wall clock by d without any monotonic time passing.
func (c *fakeClock) Jump(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

type created struct {
	name string
	wall time.Time // wall clock when CreateJob was called
}

// fakeStore is an in-memory JobStore whose Jobs complete runFor after they
// are created (on the bubble's fake time) and then tell the controller.
type fakeStore struct {
	mu         sync.Mutex
	clock      *fakeClock
	ctrl       *Controller
	runFor     time.Duration
	jobs       map[string]*manifest.Job
	status     manifest.CronJobStatus
	events     []Event
	created    []created
	deleted    []string
	maxActive  int
	failCreate error
}

func (s *fakeStore) activeLocked() int {
	n := 0
	for _, j := range s.jobs {
		if jobFinished(j) == "" {
			n++
		}
	}
	return n
}

func (s *fakeStore) JobsOf(_ context.Context, cj *manifest.CronJob) ([]*manifest.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*manifest.Job
	for _, j := range s.jobs {
		if len(j.OwnerReferences) > 0 && j.OwnerReferences[0].UID == cj.UID {
			c := *j
			out = append(out, &c)
		}
	}
	return out, nil
}

func (s *fakeStore) CreateJob(_ context.Context, j *manifest.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failCreate != nil {
		return s.failCreate
	}
	if s.jobs[j.Name] != nil {
		return ErrAlreadyExists
	}
	now := s.clock.Now()
	c := *j
	c.UID = "uid-" + j.Name
	c.CreationTimestamp = manifest.Time{Time: now}
	c.Status.StartTime = &manifest.Time{Time: now}
	s.jobs[j.Name] = &c
	s.created = append(s.created, created{j.Name, now})
	s.maxActive = max(s.maxActive, s.activeLocked())
	if s.runFor > 0 {
		time.AfterFunc(s.runFor, func() { s.finish(j.Name) })
	}
	return nil
}

// finish completes a Job (if it still exists) and notifies the controller.
func (s *fakeStore) finish(name string) {
	s.mu.Lock()
	j := s.jobs[name]
	if j != nil && jobFinished(j) == "" {
		j.Status.Conditions = []manifest.JobCondition{{Type: manifest.JobComplete, Status: "True"}}
		j.Status.CompletionTime = &manifest.Time{Time: s.clock.Now()}
	}
	s.mu.Unlock()
	if j != nil {
		s.ctrl.JobChanged(j.Namespace, j.OwnerReferences[0].Name)
	}
}

func (s *fakeStore) DeleteJob(_ context.Context, ns, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.jobs, name)
	s.deleted = append(s.deleted, name)
	return nil
}

func (s *fakeStore) SaveCronJobStatus(_ context.Context, cj *manifest.CronJob) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = cj.Status
	return nil
}

func (s *fakeStore) RecordEvent(_ context.Context, _ *manifest.CronJob, typ, reason, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, Event{typ, reason, msg})
}

func (s *fakeStore) reasons() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		out = append(out, e.Reason)
	}
	return out
}

func (s *fakeStore) snapshot() ([]created, []string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.created), slices.Clone(s.deleted), s.maxActive
}

// harness runs a Controller for one CronJob inside a synctest bubble.
type harness struct {
	t      *testing.T
	clock  *fakeClock
	store  *fakeStore
	ctrl   *Controller
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, start time.Time, runFor time.Duration) *harness {
	clk := newFakeClock(start)
	st := &fakeStore{clock: clk, runFor: runFor, jobs: map[string]*manifest.Job{}}
	h := &harness{t: t, clock: clk, store: st}
	h.ctrl = h.newController()
	return h
}

func (h *harness) newController() *Controller {
	c := &Controller{Store: h.store, Clock: h.clock, Local: time.UTC, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h.store.mu.Lock()
	h.store.ctrl = c
	h.store.mu.Unlock()
	return c
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(h.t.Context())
	h.cancel, h.done = cancel, make(chan error, 1)
	c := h.ctrl
	go func() { h.done <- c.Run(ctx) }()
}

func (h *harness) stop() {
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("Run = %v", err)
	}
}

// sleepUntil advances fake time until the wall clock reads w.
func (h *harness) sleepUntil(w time.Time) {
	time.Sleep(w.Sub(h.clock.Now()))
	synctest.Wait()
}

// run applies cj, runs the controller until the fake clock reaches until,
// and returns what the store saw.
func (h *harness) run(cj *manifest.CronJob, until time.Time) (cs []created, deleted []string, maxActive int) {
	h.ctrl.Apply(cj)
	h.start()
	h.sleepUntil(until)
	h.stop()
	return h.store.snapshot()
}

func minuteCronJob(policy string) *manifest.CronJob {
	cj := newCronJob("*/1 * * * *", at("09:59"))
	cj.Spec.ConcurrencyPolicy = policy
	return cj
}

// checkNoSlotTwice fails if two Jobs were created for one name.
func checkNoSlotTwice(t *testing.T, cs []created) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.name] {
			t.Errorf("job %s created twice", c.name)
		}
		seen[c.name] = true
	}
}

// TestControllerForbid is timeline §6.5 with 70 s runs: never two active
// Jobs; a held-back slot starts the moment the running Job ends.
func TestControllerForbid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("09:59:30"), 70*time.Second)
		cj := minuteCronJob(manifest.ConcurrencyForbid)
		two := int32(2)
		cj.Spec.SuccessfulJobsHistoryLimit = &two
		cs, deleted, maxActive := h.run(cj, at("10:10:00"))
		if maxActive != 1 {
			t.Errorf("max active jobs = %d, want 1", maxActive)
		}
		checkNoSlotTwice(t, cs)
		// 10:00 at 10:00:00; 10:01 held until 10:01:10; 10:02 until 10:02:20 …
		want := []created{
			{JobName("mycronjob", at("10:00")), at("10:00:00")},
			{JobName("mycronjob", at("10:01")), at("10:01:10")},
			{JobName("mycronjob", at("10:02")), at("10:02:20")},
			{JobName("mycronjob", at("10:03")), at("10:03:30")},
		}
		for i, w := range want {
			if i >= len(cs) || cs[i].name != w.name || !cs[i].wall.Equal(w.wall) {
				t.Fatalf("created %v, want prefix %v", cs, want)
			}
		}
		if !slices.Contains(h.store.reasons(), ReasonJobAlreadyActive) {
			t.Errorf("no JobAlreadyActive event: %v", h.store.reasons())
		}
		// History: at most 2 successful Jobs kept (+1 running).
		h.store.mu.Lock()
		n := len(h.store.jobs)
		h.store.mu.Unlock()
		if n > 3 || len(deleted) == 0 {
			t.Errorf("%d jobs kept, %d deleted; want ≤ 3 kept", n, len(deleted))
		}
	})
}

// TestControllerForbidDeadline: with startingDeadlineSeconds 10 a slot
// held back longer than 10 s is dropped silently.
func TestControllerForbidDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("09:59:30"), 75*time.Second)
		cj := minuteCronJob(manifest.ConcurrencyForbid)
		cj.Spec.StartingDeadlineSeconds = i64(10)
		cs, _, maxActive := h.run(cj, at("10:03:30"))
		want := []created{
			{JobName("mycronjob", at("10:00")), at("10:00:00")},
			{JobName("mycronjob", at("10:02")), at("10:02:00")},
		}
		if !slices.Equal(cs, want) || maxActive != 1 {
			t.Errorf("created %v (max active %d), want %v", cs, maxActive, want)
		}
	})
}

// TestControllerReplace: each slot deletes the running Job and starts its
// own.
func TestControllerReplace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("09:59:30"), 90*time.Second)
		cs, deleted, maxActive := h.run(minuteCronJob(manifest.ConcurrencyReplace), at("10:02:30"))
		var names []string
		for _, c := range cs {
			names = append(names, c.name)
			if c.wall.Second() != 0 {
				t.Errorf("%s created at %v, want on the minute", c.name, c.wall)
			}
		}
		wantNames := []string{JobName("mycronjob", at("10:00")), JobName("mycronjob", at("10:01")), JobName("mycronjob", at("10:02"))}
		if !slices.Equal(names, wantNames) || !slices.Equal(deleted, wantNames[:2]) || maxActive != 1 {
			t.Errorf("created %v deleted %v max active %d", names, deleted, maxActive)
		}
	})
}

// TestControllerAllow: runs overlap; each starts on its minute.
func TestControllerAllow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("09:59:30"), 90*time.Second)
		cs, _, maxActive := h.run(minuteCronJob(manifest.ConcurrencyAllow), at("10:03:20"))
		if len(cs) != 4 || maxActive != 2 {
			t.Errorf("created %v max active %d, want 4 and 2", cs, maxActive)
		}
		for i, c := range cs {
			slot := at("10:00").Add(time.Duration(i) * time.Minute)
			if c.name != JobName("mycronjob", slot) || !c.wall.Equal(slot) {
				t.Errorf("created %s at %v, want slot %v on time", c.name, c.wall, slot)
			}
		}
		h.store.mu.Lock()
		st := h.store.status
		h.store.mu.Unlock()
		if st.LastScheduleTime == nil || !st.LastScheduleTime.Equal(at("10:03")) || len(st.Active) != 2 || st.LastSuccessfulTime == nil {
			t.Errorf("status %+v", st)
		}
	})
}

// TestControllerSuspend: nothing runs while suspended; resuming runs the
// newest missed slot at once.
func TestControllerSuspend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("09:59:30"), 10*time.Second)
		cj := minuteCronJob(manifest.ConcurrencyAllow)
		yes := true
		cj.Spec.Suspend = &yes
		h.ctrl.Apply(cj)
		h.start()
		h.sleepUntil(at("10:05:30"))
		if cs, _, _ := h.store.snapshot(); len(cs) != 0 {
			t.Fatalf("suspended cronjob created %v", cs)
		}
		resumed := *h.ctrl.CronJob(cj.Namespace, cj.Name)
		no := false
		resumed.Spec.Suspend = &no
		h.ctrl.Apply(&resumed)
		synctest.Wait()
		cs, _, _ := h.store.snapshot()
		if len(cs) != 1 || cs[0].name != JobName("mycronjob", at("10:05")) || !cs[0].wall.Equal(at("10:05:30")) {
			t.Errorf("after resume created %v, want the 10:05 slot at once", cs)
		}
		h.stop()
	})
}

// TestControllerWallClockJump: a suspend/resume moves the wall clock while
// Go timers (monotonic) stand still; the slot still fires within a second
// of its wall time. A backwards jump never repeats a slot.
func TestControllerWallClockJump(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("09:59:30"), 10*time.Second)
		h.ctrl.Apply(newCronJob("0 * * * *", at("09:59")))
		h.start()
		h.sleepUntil(at("10:00:30"))
		// Laptop sleeps: the wall clock leaps to 10:59:59.5.
		h.clock.Jump(at("10:59:59").Add(500 * time.Millisecond).Sub(h.clock.Now()))
		h.sleepUntil(at("11:00:02"))
		cs, _, _ := h.store.snapshot()
		if len(cs) != 2 || cs[1].name != JobName("mycronjob", at("11:00")) || cs[1].wall.Sub(at("11:00")) > time.Second {
			t.Fatalf("after forward jump created %v, want 11:00 within 1s", cs)
		}
		// NTP steps the clock back 30 minutes: 11:00 must not run again.
		h.clock.Jump(-30 * time.Minute)
		h.sleepUntil(at("12:00:01"))
		h.stop()
		cs, _, _ = h.store.snapshot()
		checkNoSlotTwice(t, cs)
		if len(cs) != 3 || cs[2].name != JobName("mycronjob", at("12:00")) || !cs[2].wall.Equal(at("12:00")) {
			t.Errorf("after backward jump created %v", cs)
		}
	})
}

// TestControllerDowntimeCatchUp is timeline §6.6 across a daemon restart:
// stopped 10:30, started again 15:10 with the stored status and Jobs —
// exactly one Job, for 15:00; then 16:00 on time.
func TestControllerDowntimeCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("09:59:30"), 10*time.Second)
		cj := newCronJob("0 * * * *", at("09:00"))
		h.ctrl.Apply(cj)
		h.start()
		h.sleepUntil(at("10:30:00"))
		h.stop()
		// Down until 15:10 (the wall clock moves, nothing runs).
		h.clock.Jump(at("15:10").Sub(h.clock.Now()))
		h.ctrl = h.newController()
		restarted := *cj
		h.store.mu.Lock()
		restarted.Status = h.store.status
		h.store.mu.Unlock()
		h.ctrl.Apply(&restarted)
		h.start()
		synctest.Wait()
		h.sleepUntil(at("16:00:01"))
		h.stop()
		cs, _, _ := h.store.snapshot()
		want := []created{
			{JobName("mycronjob", at("10:00")), at("10:00")},
			{JobName("mycronjob", at("15:00")), at("15:10")},
			{JobName("mycronjob", at("16:00")), at("16:00")},
		}
		if !slices.Equal(cs, want) {
			t.Errorf("created %v, want %v", cs, want)
		}
	})
}

// TestControllerRestartKeepsForbid: a Job still running across a restart
// holds Forbid, and a restart inside the slot's minute never runs the
// slot twice.
func TestControllerRestartKeepsForbid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("09:59:30"), 0) // jobs never finish on their own
		cj := minuteCronJob(manifest.ConcurrencyForbid)
		h.ctrl.Apply(cj)
		h.start()
		h.sleepUntil(at("10:00:05"))
		h.stop()
		// Restart with a status that lost the save (crash before it):
		// the Job in the store still counts.
		h.ctrl = h.newController()
		h.ctrl.Apply(cj)
		h.start()
		h.sleepUntil(at("10:02:05"))
		cs, _, _ := h.store.snapshot()
		if len(cs) != 1 {
			t.Fatalf("created %v, want only the 10:00 job", cs)
		}
		h.store.finish(cs[0].name)
		synctest.Wait()
		h.stop()
		cs, _, _ = h.store.snapshot()
		if len(cs) != 2 || cs[1].name != JobName("mycronjob", at("10:02")) {
			t.Errorf("created %v, want the held 10:02 slot after the job ended", cs)
		}
	})
}

// TestControllerManualJobUnderForbid: a manual Job counts as active.
func TestControllerManualJobUnderForbid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("09:59:30"), 0)
		cj := minuteCronJob(manifest.ConcurrencyForbid)
		m := NewManualJob(cj, "by-hand")
		h.store.jobs[m.Name] = m
		h.ctrl.Apply(cj)
		h.start()
		h.sleepUntil(at("10:01:30"))
		if cs, _, _ := h.store.snapshot(); len(cs) != 0 {
			t.Fatalf("created %v while a manual job runs under Forbid", cs)
		}
		h.store.finish("by-hand")
		synctest.Wait()
		h.stop()
		cs, _, _ := h.store.snapshot()
		if len(cs) != 1 || cs[0].name != JobName("mycronjob", at("10:01")) || !cs[0].wall.Equal(at("10:01:30")) {
			t.Errorf("created %v, want 10:01 at 10:01:30", cs)
		}
	})
}

// TestControllerApplySyncsAtOnce is vectors G1/G5: an applied change is
// synced without waiting for the next schedule time.
func TestControllerApplySyncsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("10:00:30"), 0)
		cj := newCronJob("0 3 * * *", at("09:00"))
		h.ctrl.Apply(cj)
		h.start()
		synctest.Wait()
		changed := *cj
		changed.Spec.Schedule = "0 10 * * *" // 10:00 today is due
		h.ctrl.Apply(&changed)
		synctest.Wait()
		h.stop()
		if cs, _, _ := h.store.snapshot(); len(cs) != 1 || !cs[0].wall.Equal(at("10:00:30")) {
			t.Errorf("created %v, want one job at once", cs)
		}
	})
}

// TestControllerRunOnStart: CronJobs applied before Run get one extra run;
// ones applied later do not.
func TestControllerRunOnStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("10:00:30"), 0)
		cj := newCronJob("0 3 * * *", at("09:00"))
		cj.Annotations = map[string]string{AnnotationRunOnStart: "true"}
		h.ctrl.Apply(cj)
		h.start()
		synctest.Wait()
		later := newCronJob("0 3 * * *", at("09:00"))
		later.Name, later.UID = "later", "later-uid"
		later.Annotations = cj.Annotations
		h.ctrl.Apply(later)
		h.ctrl.Apply(cj) // re-applying is not a start
		synctest.Wait()
		time.Sleep(time.Minute)
		synctest.Wait()
		h.stop()
		cs, _, _ := h.store.snapshot()
		if len(cs) != 1 || cs[0].name != JobName("mycronjob", at("10:00:30")) {
			t.Errorf("created %v, want one run-on-start job", cs)
		}
	})
}

// TestControllerCreateFailureRetries: a failed create records FailedCreate
// and is retried; the slot is not lost.
func TestControllerCreateFailureRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, at("09:59:30"), 0)
		h.store.failCreate = errors.New("disk full")
		h.ctrl.Apply(newCronJob("0 * * * *", at("09:00")))
		h.start()
		h.sleepUntil(at("10:00:05"))
		h.store.mu.Lock()
		h.store.failCreate = nil
		h.store.mu.Unlock()
		h.sleepUntil(at("10:00:20"))
		h.stop()
		cs, _, _ := h.store.snapshot()
		if len(cs) != 1 || cs[0].name != JobName("mycronjob", at("10:00")) || !cs[0].wall.Equal(at("10:00:10")) {
			t.Errorf("created %v, want 10:00 retried at 10:00:10", cs)
		}
		if r := h.store.reasons(); !slices.Contains(r, ReasonFailedCreate) {
			t.Errorf("events %v", r)
		}
	})
}
