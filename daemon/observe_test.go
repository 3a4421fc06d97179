package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
	"github.com/localjobs/localjobs/state"
)

// scriptedRuntime is a fake runtime whose containers print $SAY and exit
// with $EXIT.
func scriptedRuntime() *runnertest.Runtime {
	rt := runnertest.NewRuntime("busybox")
	rt.Script = func(spec runner.ContainerSpec) runnertest.Behavior {
		var b runnertest.Behavior
		for _, e := range spec.Env {
			k, v, _ := strings.Cut(e, "=")
			switch k {
			case "SAY":
				b.Lines = []string{v}
			case "EXIT":
				b.ExitCode, _ = strconv.Atoi(v)
			}
		}
		return b
	}
	return rt
}

// jobYAML is a Job whose container says say and exits with exit.
func jobYAML(name, extra string, backoff int, say string, exit int) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
%sspec:
  backoffLimit: %d
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        env: [{name: SAY, value: %q}, {name: EXIT, value: "%d"}]
`, name, extra, backoff, say, exit)
}

func mustApply(t *testing.T, ctx context.Context, d *daemon.Daemon, name, yaml string) {
	t.Helper()
	resp, err := d.Apply(ctx, localapi.ApplyRequest{Files: []localapi.File{{Name: name, Data: []byte(yaml)}}})
	if err != nil || len(resp.Errors) > 0 {
		t.Fatalf("apply %s: %v %v", name, err, resp.Errors)
	}
}

// waitJobs reads sub until every named Job has the change want asks for.
func waitJobs(t *testing.T, ctx context.Context, sub *runner.Subscription, want func(*runner.Change) bool, names ...string) {
	t.Helper()
	left := map[string]bool{}
	for _, n := range names {
		left[n] = true
	}
	for len(left) > 0 {
		ch, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for jobs %v: %v", left, err)
		}
		if ch.Job != nil && want(&ch) {
			delete(left, ch.Job.Name)
		}
	}
}

// waitBoot reads sub until the boot CronJob's run-on-start Job (whose
// name it learns and returns) and every other named Job have the change
// their predicate asks for, in whatever order they come.
func waitBoot(t *testing.T, ctx context.Context, sub *runner.Subscription, boot func(*runner.Change) bool, others map[string]func(*runner.Change) bool) string {
	t.Helper()
	bootJob, done := "", map[string]bool{}
	for bootJob == "" || !done[bootJob] || len(done) < len(others)+1 {
		ch, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for boot job %q and %d others (done: %v): %v", bootJob, len(others), done, err)
		}
		if ch.Job == nil {
			continue
		}
		name := ch.Job.Name
		if bootJob == "" && strings.HasPrefix(name, "boot-") {
			bootJob = name
		}
		switch want := others[name]; {
		case name == bootJob && boot(&ch):
			done[name] = true
		case want != nil && want(&ch):
			done[name] = true
		}
	}
	return bootJob
}

func deleted(ch *runner.Change) bool { return ch.Deleted }

func finished(ch *runner.Change) bool {
	_, c := history.Finished(ch.Job)
	return !ch.Deleted && c != nil
}

const bootCronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: boot
  annotations:
    localjobs.io/run-on-start: "true"
spec:
  schedule: "0 3 1 1 *"
  successfulJobsHistoryLimit: 0
  failedJobsHistoryLimit: 0
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: busybox
            env: [{name: SAY, value: "hello from boot"}]
`

// TestHistorySurvivesDeletion is issue #13's first done-when: the history
// of a CronJob's run deleted at once by its history limit (0), and of a
// Job deleted at once by ttlSecondsAfterFinished: 0, is there after the
// deletions, with no daemon (read-only), and after a restart.
func TestHistorySurvivesDeletion(t *testing.T) {
	dir := shortDir(t, "ljhist")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := daemon.Start(ctx, daemon.Config{StateDir: dir, Version: "test", Runtime: scriptedRuntime()})
	if err != nil {
		t.Fatal(err)
	}
	sub := d.Subscribe(nil)
	mustApply(t, ctx, d, "boot.yaml", bootCronJob)
	d.StartCronJobs()
	mustApply(t, ctx, d, "once.yaml", strings.Replace(jobYAML("once", "", 0, "boom", 3), "spec:\n  backoffLimit", "spec:\n  ttlSecondsAfterFinished: 0\n  backoffLimit", 1))
	bootJob := waitBoot(t, ctx, sub, deleted, map[string]func(*runner.Change) bool{"once": deleted})
	sub.Close()
	if jobs, _ := d.DB.Jobs(ctx, ""); len(jobs) != 0 {
		t.Fatalf("%d jobs left; want both deleted", len(jobs))
	}
	stopDaemon(t, d)

	check := func(t *testing.T, c *localapi.Client) {
		t.Helper()
		runs, err := c.History(ctx, localapi.HistoryQuery{Namespace: "default", Kind: "cronjob", Name: "boot"})
		if err != nil || len(runs) != 1 {
			t.Fatalf("history of cronjob/boot: %v %v, want one run", runs, err)
		}
		r := runs[0]
		if r.Job != bootJob || r.Outcome != history.OutcomeComplete || r.AttemptCount != 1 || r.ExitCode == nil || *r.ExitCode != 0 ||
			!strings.Contains(r.LastAttempt().LogTail, "hello from boot") {
			t.Errorf("boot run %+v (tail %q)", r, r.LastAttempt().LogTail)
		}
		runs, err = c.History(ctx, localapi.HistoryQuery{Namespace: "default", Kind: "job", Name: "once"})
		if err != nil || len(runs) != 1 {
			t.Fatalf("history of job/once: %v %v, want one run", runs, err)
		}
		r = runs[0]
		if r.Outcome != history.OutcomeFailed || r.Reason != "BackoffLimitExceeded" || r.AttemptCount != 1 || r.ExitCode == nil || *r.ExitCode != 3 {
			t.Errorf("once run %+v", r)
		}
		for _, a := range r.Attempts {
			if a.Phase != "Failed" || a.Reason != "Error" || !strings.Contains(a.LogTail, "boom") {
				t.Errorf("attempt %+v", a)
			}
		}
		all, err := c.History(ctx, localapi.HistoryQuery{Namespace: "default"})
		if err != nil || len(all) != 2 {
			t.Errorf("history of default: %d runs, %v; want 2", len(all), err)
		}
	}
	t.Run("ReadOnly", func(t *testing.T) {
		ro, err := daemon.OpenReadOnly(ctx, dir, "test")
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Stop()
		check(t, ro.Client())
	})
	t.Run("Restarted", func(t *testing.T) {
		d2, err := daemon.Start(ctx, daemon.Config{StateDir: dir, Version: "test", Runtime: scriptedRuntime()})
		if err != nil {
			t.Fatal(err)
		}
		defer stopDaemon(t, d2)
		check(t, d2.Client())
	})
}

// TestHistoryReconcileAtStart: a finished Job that has no record (a crash
// between its finish and the record) gets one when the daemon starts, and
// a finished Job is never recorded twice.
func TestHistoryReconcileAtStart(t *testing.T) {
	dir := shortDir(t, "ljrec")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := daemon.Start(ctx, daemon.Config{StateDir: dir, Version: "test", Runtime: scriptedRuntime()})
	if err != nil {
		t.Fatal(err)
	}
	sub := d.Subscribe(nil)
	mustApply(t, ctx, d, "j.yaml", jobYAML("kept", "", 0, "ok", 0))
	waitJobs(t, ctx, sub, finished, "kept")
	sub.Close()
	stopDaemon(t, d)
	// The crash: the record is lost, the finished Job stays.
	db, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := db.Job(ctx, "default", "kept")
	if err != nil {
		t.Fatal(err)
	}
	forgetRun(t, db, j.UID)
	db.Close()

	for range 2 {
		d, err = daemon.Start(ctx, daemon.Config{StateDir: dir, Version: "test", Runtime: scriptedRuntime()})
		if err != nil {
			t.Fatal(err)
		}
		runs, err := d.Client().History(ctx, localapi.HistoryQuery{Namespace: "default", Kind: "job", Name: "kept"})
		if err != nil || len(runs) != 1 || runs[0].UID != j.UID || runs[0].Outcome != history.OutcomeComplete ||
			!strings.Contains(runs[0].LastAttempt().LogTail, "ok") {
			t.Errorf("history after restart: %+v %v; want the one run, with its output from the log file", runs, err)
		}
		stopDaemon(t, d)
	}
}

// forgetRun deletes a run's record, as if it had never been written.
func forgetRun(t *testing.T, db *state.DB, uid string) {
	t.Helper()
	// A retention of one run per owner and no age: a run whose Job exists
	// is kept, so remove the Job for the prune and put it back.
	j, err := db.Jobs(context.Background(), "")
	if err != nil || len(j) != 1 {
		t.Fatalf("jobs %v %v", j, err)
	}
	ctx := context.Background()
	if err := db.DeleteJob(ctx, j[0].Namespace, j[0].Name); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PruneRuns(ctx, history.Retention{Limit: 1, MaxAge: time.Nanosecond}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveJob(ctx, j[0]); err != nil {
		t.Fatal(err)
	}
	if has, err := db.HasRun(ctx, uid); err != nil || has {
		t.Fatalf("run still recorded: %v %v", has, err)
	}
}

// TestMetricsScrape is the second done-when with the fake runtime: /metrics
// on --metrics-addr (loopback), scraped before and after real runs, shows
// the attempts counter, the Job gauges and the duration histogram move.
func TestMetricsScrape(t *testing.T) {
	dir := shortDir(t, "ljmet")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := daemon.Start(ctx, daemon.Config{StateDir: dir, Version: "test", Runtime: scriptedRuntime(), MetricsAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(t, d)
	url := metricsURL(t, d)
	before := scrape(t, url)
	for _, s := range []string{"localjobs_attempts_total{", "kube_job_status_failed{"} {
		if strings.Contains(before, s) {
			t.Errorf("before any run, the scrape has %s", s)
		}
	}
	sub := d.Subscribe(nil)
	mustApply(t, ctx, d, "jobs.yaml", jobYAML("good", "", 0, "ok", 0)+"---\n"+jobYAML("bad", "", 0, "no", 1))
	waitJobs(t, ctx, sub, finished, "good", "bad")
	sub.Close()
	waitScrape(t, ctx, d, url,
		`localjobs_attempts_total{outcome="succeeded",reason="Completed"} 1`,
		`localjobs_attempts_total{outcome="failed",reason="Error"} 1`,
		`kube_job_status_succeeded{job_name="good",namespace="default"} 1`,
		`kube_job_status_failed{job_name="bad",namespace="default"} 1`,
		`kube_job_complete{condition="true",job_name="good",namespace="default"} 1`,
		`kube_job_failed{condition="true",job_name="bad",namespace="default"} 1`,
		`localjobs_job_duration_seconds_count{cronjob="",namespace="default",outcome="Complete"} 1`,
		`localjobs_job_duration_seconds_count{cronjob="",namespace="default",outcome="Failed"} 1`,
		`kube_pod_status_phase{namespace="default",phase="Succeeded",pod="good-`,
		`localjobs_active_pods 0`,
	)
}

// metricsURL reads the metrics address from the banner.
func metricsURL(t *testing.T, d *daemon.Daemon) string {
	t.Helper()
	for _, l := range d.Summary() {
		if rest, ok := strings.CutPrefix(l, "metrics: "); ok {
			u, _, _ := strings.Cut(rest, " ")
			if !strings.HasPrefix(u, "http://127.0.0.1:") {
				t.Errorf("metrics on %s, want loopback", u)
			}
			return u
		}
	}
	t.Fatalf("no metrics line in the banner %q", d.Summary())
	return ""
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %s %v\n%s", resp.Status, err, b)
	}
	return string(b)
}

// waitScrape scrapes until the page has every line, re-scraping whenever
// the metrics take in a change.
func waitScrape(t *testing.T, ctx context.Context, d *daemon.Daemon, url string, want ...string) string {
	t.Helper()
	for {
		changed := d.Metrics().Changed()
		page := scrape(t, url)
		var missing []string
		for _, w := range want {
			if !strings.Contains(page, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return page
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("metrics never showed %q; last scrape:\n%s", missing, page)
		}
	}
}

// hookServer is a webhook endpoint that answers 500 while refuse is set,
// and reports every request.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	refuse int // answer 500 to this many more requests (-1: all)
	got    chan hookRequest
	ok     map[string]int // 2xx answers by Job UID
}

type hookRequest struct {
	code int
	msg  map[string]any
}

func newHook(t *testing.T) *hookServer {
	h := &hookServer{got: make(chan hookRequest, 100), ok: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		h.mu.Lock()
		code := 200
		if h.refuse != 0 {
			code = 500
			if h.refuse > 0 {
				h.refuse--
			}
		} else {
			h.ok[r.Header.Get("Idempotency-Key")]++
		}
		h.mu.Unlock()
		w.WriteHeader(code)
		h.got <- hookRequest{code, m}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) setRefuse(n int) {
	h.mu.Lock()
	h.refuse = n
	h.mu.Unlock()
}

func (h *hookServer) next(t *testing.T, ctx context.Context) hookRequest {
	t.Helper()
	select {
	case r := <-h.got:
		return r
	case <-ctx.Done():
		t.Fatal("no webhook request came")
	}
	return hookRequest{}
}

// TestNotifyExactlyOnce is the third done-when: the webhook gets exactly
// one notification per failed Job (none for one that succeeded), when its
// first answer is a 500, and when the daemon stops while the notification
// is pending and starts again.
func TestNotifyExactlyOnce(t *testing.T) {
	dir := shortDir(t, "ljnot")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := newHook(t)
	cfg := daemon.Config{StateDir: dir, Version: "test", Runtime: scriptedRuntime(),
		Notify: history.Target{URL: h.URL + "/hook"}, NotifyBackoff: 10 * time.Millisecond}
	d, err := daemon.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A 500 first: retried, then delivered once. The Job that succeeds
	// is not notified.
	h.setRefuse(1)
	mustApply(t, ctx, d, "a.yaml", jobYAML("fail-1", "", 0, "disk full", 2)+"---\n"+jobYAML("fine", "", 0, "ok", 0))
	if r := h.next(t, ctx); r.code != 500 {
		t.Fatalf("first answer %d", r.code)
	}
	r := h.next(t, ctx)
	if r.code != 200 || r.msg["job"] != "fail-1" || r.msg["event"] != "failed" || r.msg["exitCode"] != 2.0 || r.msg["logTail"] != "disk full\n" {
		t.Errorf("second request %+v", r)
	}
	// Pending across a restart: the endpoint refuses until the daemon is
	// stopped, then takes it once the next daemon starts.
	h.setRefuse(-1)
	mustApply(t, ctx, d, "b.yaml", jobYAML("fail-2", "", 0, "again", 1))
	if r := h.next(t, ctx); r.code != 500 || r.msg["job"] != "fail-2" {
		t.Fatalf("first request for fail-2: %+v", r)
	}
	stopDaemon(t, d)
	db, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j2, err := db.Job(ctx, "default", "fail-2")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db.Notification(ctx, j2.UID); err != nil || n.State != history.NotifyPending {
		t.Fatalf("notification of fail-2 after the stop: %+v %v, want Pending", n, err)
	}
	db.Close()
	for len(h.got) > 0 { // 500s answered while the daemon stopped
		<-h.got
	}
	h.setRefuse(0)
	d, err = daemon.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := h.next(t, ctx); r.code != 200 || r.msg["job"] != "fail-2" {
		t.Errorf("after the restart: %+v, want fail-2 delivered", r)
	}
	stopDaemon(t, d)

	db, err = state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, name := range []string{"fail-1", "fail-2"} {
		j, err := db.Job(ctx, "default", name)
		if err != nil {
			t.Fatal(err)
		}
		if h.ok[j.UID] != 1 {
			t.Errorf("%s delivered %d times, want exactly 1", name, h.ok[j.UID])
		}
		if n, err := db.Notification(ctx, j.UID); err != nil || n.State != history.NotifySent {
			t.Errorf("notification of %s: %+v %v, want Sent", name, n, err)
		}
	}
	if len(h.ok) != 2 {
		t.Errorf("deliveries %v, want one each for fail-1 and fail-2 only", h.ok)
	}
}

// TestNotifyFailedEvent: a webhook (set by the Job's annotation) that
// refuses the notification for good gives a Warning NotifyFailed event on
// the Job.
func TestNotifyFailedEvent(t *testing.T) {
	dir := shortDir(t, "ljnfe")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer srv.Close()
	d, err := daemon.Start(ctx, daemon.Config{StateDir: dir, Version: "test", Runtime: scriptedRuntime()})
	if err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(t, d)
	sub := d.Subscribe(func(ch *runner.Change) bool { return ch.Event != nil && ch.Event.Reason == "NotifyFailed" })
	defer sub.Close()
	ann := "  annotations:\n    localjobs.io/notify-url: " + srv.URL + "/hook\n    localjobs.io/notify-format: slack\n"
	mustApply(t, ctx, d, "j.yaml", jobYAML("lost", ann, 0, "x", 1))
	ch, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := ch.Event
	if e.Type != "Warning" || e.InvolvedObject.Name != "lost" || !strings.Contains(e.Message, "404") || strings.Contains(e.Message, "/hook") {
		t.Errorf("event %s %s %q: want a Warning on job lost naming the 404 and not the URL's path", e.Type, e.InvolvedObject.Name, e.Message)
	}
}
