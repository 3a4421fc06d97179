package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
	"github.com/localjobs/localjobs/schedule"
)

// cronWatch follows the Jobs and pods of CronJobs through the daemon's
// watches (re-attached after a restart, with a list to catch up), and
// records per Job: its UIDs (a slot that ran twice would show two), when
// the test first saw it and its container started, whether it finished or
// was deleted, and any moment two Jobs of one CronJob were active at once.
type cronWatch struct {
	t       *testing.T
	owners  map[string]bool // the CronJobs followed
	mu      sync.Mutex
	c       *localapi.Client
	uids    map[string][]string
	owner   map[string]string
	created map[string]*manifest.Job // first version seen
	seen    map[string]time.Time
	started map[string]time.Time
	done    map[string]bool
	deleted map[string]bool
	errs    []string
	signal  chan struct{}
	streams []*localapi.WatchStream
	wg      sync.WaitGroup
}

func newCronWatch(t *testing.T, cronJobs ...string) *cronWatch {
	w := &cronWatch{t: t, owners: map[string]bool{}, uids: map[string][]string{}, owner: map[string]string{},
		created: map[string]*manifest.Job{}, seen: map[string]time.Time{}, started: map[string]time.Time{},
		done: map[string]bool{}, deleted: map[string]bool{}, signal: make(chan struct{}, 1)}
	for _, cj := range cronJobs {
		w.owners[cj] = true
	}
	return w
}

// attach opens the watches on a (restarted) daemon, then lists to catch up
// with what happened before they were open.
func (w *cronWatch) attach(c *localapi.Client) {
	ctx := context.Background()
	w.mu.Lock()
	w.c = c
	w.mu.Unlock()
	for _, res := range []string{"jobs", "pods"} {
		s, err := c.OpenWatch(ctx, res, "default")
		if err != nil {
			w.t.Fatalf("watch %s: %v", res, err)
		}
		w.streams = append(w.streams, s)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for {
				ev, err := s.Next()
				if err != nil {
					return
				}
				at := time.Now()
				if res == "jobs" {
					var j manifest.Job
					if json.Unmarshal(ev.Object, &j) == nil {
						w.job(&j, ev.Type == "DELETED", at)
					}
				} else {
					var p manifest.Pod
					if json.Unmarshal(ev.Object, &p) == nil {
						w.pod(&p, at)
					}
				}
			}
		}()
	}
	jobs, err := c.Jobs(ctx, "default")
	if err != nil {
		w.t.Fatalf("list jobs: %v", err)
	}
	for _, j := range jobs {
		w.job(j, false, time.Now())
	}
	pods, err := c.Pods(ctx, "default")
	if err != nil {
		w.t.Fatalf("list pods: %v", err)
	}
	for _, p := range pods {
		w.pod(p, time.Now())
	}
}

// detach closes the watches (the daemon is about to stop).
func (w *cronWatch) detach() {
	for _, s := range w.streams {
		s.Close()
	}
	w.wg.Wait()
	w.streams = nil
}

func (w *cronWatch) notify() {
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

func jobOwner(j *manifest.Job) string {
	for _, o := range j.OwnerReferences {
		if o.Kind == "CronJob" && o.Controller != nil && *o.Controller {
			return o.Name
		}
	}
	return ""
}

func (w *cronWatch) job(j *manifest.Job, deleted bool, at time.Time) {
	defer w.notify()
	w.mu.Lock()
	defer w.mu.Unlock()
	if deleted {
		if _, ok := w.owner[j.Name]; ok {
			w.deleted[j.Name] = true
		}
		return
	}
	cj := jobOwner(j)
	if !w.owners[cj] {
		return
	}
	if runner.IsJobFinished(j) {
		w.done[j.Name] = true
	}
	if slices.Contains(w.uids[j.Name], j.UID) {
		return
	}
	w.uids[j.Name] = append(w.uids[j.Name], j.UID)
	w.owner[j.Name] = cj
	if w.created[j.Name] == nil {
		w.created[j.Name] = j
		w.seen[j.Name] = at
	}
	// Forbid: every other Job of the CronJob must have finished no later
	// than this one was created. The watch may lag, so ask the daemon
	// about the ones the watch still believes active.
	for other, o := range w.owner {
		if other == j.Name || o != cj || w.done[other] || w.deleted[other] {
			continue
		}
		cur, err := w.c.Job(context.Background(), "default", other)
		switch {
		case errors.Is(err, runner.ErrObjectNotFound):
		case err != nil:
			w.errs = append(w.errs, fmt.Sprintf("get job %s: %v", other, err))
		case !runner.IsJobFinished(cur):
			w.errs = append(w.errs, fmt.Sprintf("job %s created while job %s is still active", j.Name, other))
		case cur.Status.CompletionTime != nil && cur.Status.CompletionTime.After(j.CreationTimestamp.Time):
			w.errs = append(w.errs, fmt.Sprintf("job %s created at %s, before job %s completed at %s", j.Name, j.CreationTimestamp, other, cur.Status.CompletionTime))
		}
	}
}

func (w *cronWatch) pod(p *manifest.Pod, at time.Time) {
	var job string
	for _, o := range p.OwnerReferences {
		if o.Kind == "Job" {
			job = o.Name
		}
	}
	started := false
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil || cs.State.Terminated != nil {
			started = true
		}
	}
	if job == "" || !started {
		return
	}
	defer w.notify()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.started[job]; !ok {
		w.started[job] = at
	}
}

// waitFor waits until cond (called with the lock held) holds.
func (w *cronWatch) waitFor(what string, timeout time.Duration, cond func() bool) {
	w.t.Helper()
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		ok := cond()
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-w.signal:
		case <-deadline:
			w.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// slotOf is the scheduled time of a Job from its annotation.
func slotOf(t *testing.T, j *manifest.Job) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, j.Annotations[schedule.AnnotationScheduledTimestamp])
	if err != nil {
		t.Fatalf("job %s: scheduled timestamp: %v", j.Name, err)
	}
	return ts
}

// sleepUntil lets wall time pass until t: the scenario needs the clock to
// reach a schedule time (nothing to watch for while the daemon is down).
func sleepUntil(t *testing.T, at time.Time) {
	t.Helper()
	if d := time.Until(at); d > 0 {
		<-time.After(d)
	}
}

// TestCronJobForbidRestart: a CronJob "* * * * *" with Forbid, history
// limit 1 and a 70 s Job never has two active Jobs (the slot blocked by
// the running Job starts when it ends), keeps one finished Job, and after
// the daemon was down across two slots the newest missed slot runs exactly
// once, the older one never, and no slot runs twice.
//
// Timeline (S1 = first slot): A for S1 runs 70 s; S2 is held back and B
// starts when A ends (~S1+71). The daemon is stopped at S3−3 s while B runs
// and started again at S4+3 s (down 66 s; B ends meanwhile): C runs for S4,
// none for S3, and A is deleted (history 1). S5 is held back by C and D
// starts when C ends, B is deleted. About 4–5 minutes.
func TestCronJobForbidRestart(t *testing.T) {
	t.Parallel()
	dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	bin := buildBinary(t)
	stateDir := shortDir(t, "ljcj")
	specs := everyMinuteSpec(t, image)
	ctx := context.Background()
	const cj = "every-minute"
	w := newCronWatch(t, cj)

	up := startUp(t, bin, stateDir, specs)
	c := dialUntil(t, stateDir, 30*time.Second)
	w.attach(c)
	var jobA, jobB *manifest.Job
	w.waitFor("the first job", 90*time.Second, func() bool {
		for _, j := range w.created {
			jobA = j
		}
		return jobA != nil
	})
	s := cronSlots{cronJob: cj, s1: slotOf(t, jobA)}
	if jobA.Name != s.name(1) {
		t.Fatalf("first job %s, want %s", jobA.Name, s.name(1))
	}
	t.Logf("S1 = %s: job %s seen %v after its slot", s.s1.Format(time.TimeOnly), jobA.Name, w.seen[jobA.Name].Sub(s.s1))

	// S2 is held back while A runs, and starts as soon as A ends.
	w.waitFor("job B for slot S2", 3*time.Minute, func() bool {
		jobB = w.created[s.name(2)]
		return jobB != nil
	})
	t.Logf("B (slot S2) seen at S1+%v", w.seen[jobB.Name].Sub(s.s1).Round(time.Millisecond))

	// Stop the daemon shortly before S3 while B runs; start it again
	// after S4, so two slots are missed.
	stopAt, startAt := s.slot(3).Add(-3*time.Second), s.slot(4).Add(3*time.Second)
	if time.Now().After(stopAt) {
		t.Fatalf("B started too late (at S1+%v) for the restart scenario", time.Since(s.s1))
	}
	sleepUntil(t, stopAt)
	w.detach()
	up.stop(t)
	t.Logf("first daemon's stderr:\n%s", up.stderr.String())
	sleepUntil(t, startAt)
	up2 := startUp(t, bin, stateDir, specs)
	c = dialUntil(t, stateDir, 30*time.Second)
	w.attach(c)
	defer func() {
		w.detach()
		up2.stop(t)
		t.Logf("second daemon's stderr:\n%s", up2.stderr.String())
	}()

	// The newest missed slot (S4) runs once; S5 is held back by it and
	// starts when it ends.
	w.waitFor("job C for slot S4", time.Minute, func() bool { return w.created[s.name(4)] != nil })
	t.Logf("C (slot S4) seen %v after the restart", w.seen[s.name(4)].Sub(startAt).Round(time.Millisecond))
	w.waitFor("job D for slot S5", 3*time.Minute, func() bool { return w.created[s.name(5)] != nil })
	w.waitFor("history: A and B deleted", 30*time.Second, func() bool {
		return w.deleted[s.name(1)] && w.deleted[s.name(2)]
	})

	w.checkCreatedOnce([]string{s.name(1), s.name(2), s.name(4), s.name(5)},
		"S1, S2, S4, S5; S3 was missed while down and is older than S4")
	checkForbidRestartLeft(t, ctx, c, s)
	checkForbidRestartStatus(t, ctx, c, s)

	// Deleting the CronJob deletes D and stops its container.
	if err := c.DeleteCronJob(ctx, "default", cj); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := c.Jobs(ctx, "default"); len(jobs) != 0 {
		t.Errorf("%d jobs left after deleting the cronjob", len(jobs))
	}
}

// everyMinuteSpec writes the scenario's CronJob to a folder for up: "* * *
// * *", Forbid, history limit 1, a Job of 70 s.
func everyMinuteSpec(t *testing.T, image string) string {
	specs := t.TempDir()
	os.WriteFile(filepath.Join(specs, "every-minute.yaml"), []byte(fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: every-minute
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 2
          containers:
          - name: work
            image: %s
            command: ["sleep", "70"]
`, image)), 0o644)
	return specs
}

// cronSlots names the slots of a scenario from its first: slot(n) is Sn,
// name(n) the name of its Job.
type cronSlots struct {
	cronJob string
	s1      time.Time
}

func (s cronSlots) slot(n int) time.Time { return s.s1.Add(time.Duration(n-1) * time.Minute) }

func (s cronSlots) name(n int) string { return schedule.JobName(s.cronJob, s.slot(n)) }

// checkCreatedOnce reports the watch's errors, and fails unless the Jobs
// created are want (why says which slots), each created once.
func (w *cronWatch) checkCreatedOnce(want []string, why string) {
	t := w.t
	t.Helper()
	w.mu.Lock()
	for _, e := range w.errs {
		t.Error(e)
	}
	var names []string
	for n, uids := range w.uids {
		names = append(names, n)
		if len(uids) != 1 {
			t.Errorf("job %s created %d times (slot ran more than once)", n, len(uids))
		}
	}
	w.mu.Unlock()
	sort.Strings(names)
	if !slices.Equal(names, want) {
		t.Errorf("jobs created %v, want %v (%s)", names, want, why)
	}
}

// checkForbidRestartLeft: what is left is C (complete, the one kept by the
// history limit) and D, and no pod of A or B.
func checkForbidRestartLeft(t *testing.T, ctx context.Context, c *localapi.Client, s cronSlots) {
	t.Helper()
	jobs, err := c.Jobs(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, j := range jobs {
		left = append(left, j.Name+"="+jobState(j))
	}
	if wantLeft := []string{s.name(4) + "=Complete", s.name(5) + "=Running"}; !slices.Equal(left, wantLeft) {
		t.Errorf("jobs left %v, want %v", left, wantLeft)
	}
	pods, err := c.Pods(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if strings.HasPrefix(p.Name, s.name(1)) || strings.HasPrefix(p.Name, s.name(2)) {
			t.Errorf("pod %s of a job deleted by the history limit is still there", p.Name)
		}
	}
}

// checkForbidRestartStatus: the CronJob's lastScheduleTime is S5 and its
// events are 4 creations, 2 deletions and some held back. The controller
// records its event and status just after the Job it created was
// published: poll the CronJob briefly for them.
func checkForbidRestartStatus(t *testing.T, ctx context.Context, c *localapi.Client, s cronSlots) {
	t.Helper()
	eventually(t, 5*time.Second, func() string {
		got, err := c.CronJob(ctx, "default", s.cronJob)
		if err != nil {
			return err.Error()
		}
		if lst := got.Status.LastScheduleTime; lst == nil || !lst.Equal(s.slot(5)) {
			return fmt.Sprintf("lastScheduleTime %v, want S5 %v", lst, s.slot(5))
		}
		evs, err := c.Events(ctx, "default", got.UID)
		if err != nil {
			return err.Error()
		}
		reasons := map[string]int{}
		for _, e := range evs {
			reasons[e.Reason]++
		}
		if reasons[schedule.ReasonSuccessfulCreate] != 4 || reasons[schedule.ReasonSuccessfulDelete] != 2 || reasons[schedule.ReasonJobAlreadyActive] == 0 {
			return fmt.Sprintf("event reasons %v: want 4 SuccessfulCreate, 2 SuccessfulDelete, some JobAlreadyActive", reasons)
		}
		return ""
	})
}

// eventually polls check (every 50 ms, bounded by timeout) until it
// returns "", and fails with its last complaint otherwise.
func eventually(t *testing.T, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Error(msg)
			return
		}
		<-time.After(50 * time.Millisecond) // bounded polling of the daemon
	}
}

func jobState(j *manifest.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Status == "True" && (c.Type == manifest.JobComplete || c.Type == manifest.JobFailed) {
			return c.Type
		}
	}
	return "Running"
}
