package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/kubectl"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/schedule"
)

// fakeAPI is a Reader over fixed objects; logs are per pod/container.
type fakeAPI struct {
	cronJobs []*manifest.CronJob
	jobs     []*manifest.Job
	pods     []*manifest.Pod
	events   []*manifest.Event
	logs     map[string]string // "pod/container"
	fail     error             // returned by every list when set
}

func (f *fakeAPI) Pods(_ context.Context, ns string) ([]*manifest.Pod, error) {
	return f.pods, f.fail
}

func (f *fakeAPI) Pod(_ context.Context, ns, name string) (*manifest.Pod, error) {
	for _, p := range f.pods {
		if p.Namespace == ns && p.Name == name {
			return p, nil
		}
	}
	return nil, localapi.ErrNotFound
}

func (f *fakeAPI) PodsOfJob(_ context.Context, ns, job string) ([]*manifest.Pod, error) {
	var out []*manifest.Pod
	for _, p := range f.pods {
		if p.Namespace == ns && jobOf(p) == job {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeAPI) Jobs(_ context.Context, ns string) ([]*manifest.Job, error) { return f.jobs, f.fail }

func (f *fakeAPI) Job(_ context.Context, ns, name string) (*manifest.Job, error) {
	for _, j := range f.jobs {
		if j.Namespace == ns && j.Name == name {
			return j, nil
		}
	}
	return nil, localapi.ErrNotFound
}

func (f *fakeAPI) CronJobs(_ context.Context, ns string) ([]*manifest.CronJob, error) {
	return f.cronJobs, f.fail
}

func (f *fakeAPI) CronJob(_ context.Context, ns, name string) (*manifest.CronJob, error) {
	for _, c := range f.cronJobs {
		if c.Namespace == ns && c.Name == name {
			return c, nil
		}
	}
	return nil, localapi.ErrNotFound
}

func (f *fakeAPI) Events(_ context.Context, ns, uid string) ([]*manifest.Event, error) {
	var out []*manifest.Event
	for _, e := range f.events {
		if e.InvolvedObject.UID == uid {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeAPI) Logs(_ context.Context, w io.Writer, req localapi.LogRequest) error {
	l, ok := f.logs[req.Pod+"/"+req.Container]
	if !ok {
		return &localapi.StatusError{Status: localapi.Status{Code: http.StatusBadRequest,
			Message: fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", req.Container, req.Pod)}}
	}
	_, err := io.WriteString(w, l)
	return err
}

var now = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC) // a Wednesday

func at(d time.Duration) *manifest.Time { return &manifest.Time{Time: now.Add(d)} }

func ptr[T any](v T) *T { return &v }

func ownedBy(kind, name string) []manifest.OwnerReference {
	return []manifest.OwnerReference{{Kind: kind, Name: name, Controller: ptr(true)}}
}

// testJob is a Job of CronJob owner (none: ""), started at start and
// lasting d; outcome Complete, Failed or Running.
func testJob(name, owner string, start, d time.Duration, outcome string) *manifest.Job {
	j := &manifest.Job{ObjectMeta: manifest.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + name,
		CreationTimestamp: *at(start), Annotations: map[string]string{}}}
	if owner != "" {
		j.OwnerReferences = ownedBy(manifest.KindCronJob, owner)
	}
	j.Status.StartTime = at(start)
	switch outcome {
	case OutcomeComplete:
		j.Status.CompletionTime = at(start + d)
		j.Status.Succeeded = 1
		j.Status.Conditions = []manifest.JobCondition{{Type: manifest.JobComplete, Status: "True", Reason: "CompletionsReached", LastTransitionTime: *at(start + d)}}
	case OutcomeFailed:
		j.Status.Failed = 1
		j.Status.Conditions = []manifest.JobCondition{{Type: manifest.JobFailed, Status: "True", Reason: "BackoffLimitExceeded", LastTransitionTime: *at(start + d)}}
	default:
		j.Status.Active = 1
	}
	return j
}

// testPod is the pod of Job job that ended with exit code code (-1:
// still running).
func testPod(name, job string, start time.Duration, code int32) *manifest.Pod {
	p := &manifest.Pod{ObjectMeta: manifest.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + name, CreationTimestamp: *at(start)}}
	if job != "" {
		p.OwnerReferences = ownedBy(manifest.KindJob, job)
	}
	p.Spec.Containers = []manifest.Container{{Name: "main", Image: "busybox"}}
	cs := manifest.ContainerStatus{Name: "main", Image: "busybox"}
	switch {
	case code < 0:
		p.Status.Phase = manifest.PodRunning
		cs.Ready, cs.State.Running = true, &manifest.StateRunning{StartedAt: *at(start)}
	case code == 0:
		p.Status.Phase = manifest.PodSucceeded
		cs.State.Terminated = &manifest.StateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: *at(start), FinishedAt: *at(start + time.Second)}
	default:
		p.Status.Phase = manifest.PodFailed
		cs.State.Terminated = &manifest.StateTerminated{ExitCode: code, Reason: "Error", StartedAt: *at(start), FinishedAt: *at(start + time.Second)}
	}
	p.Status.ContainerStatuses = []manifest.ContainerStatus{cs}
	return p
}

func testAPI() *fakeAPI {
	cj := &manifest.CronJob{ObjectMeta: manifest.ObjectMeta{Name: "report", Namespace: "default", UID: "uid-report",
		CreationTimestamp: *at(-24 * time.Hour)}}
	cj.Spec.Schedule = "30 2 * * 1-5"
	cj.Spec.TimeZone = ptr("Europe/Berlin")
	cj.Status.LastScheduleTime = at(-time.Hour)
	scheduled := testJob("report-1", "report", -3*time.Hour, 12*time.Second, OutcomeComplete)
	scheduled.Annotations[schedule.AnnotationScheduledTimestamp] = now.Add(-3 * time.Hour).Format(time.RFC3339)
	return &fakeAPI{
		cronJobs: []*manifest.CronJob{cj},
		jobs: []*manifest.Job{
			scheduled,
			testJob("report-2", "report", -2*time.Hour, 3*time.Minute, OutcomeFailed),
			testJob("report-3", "report", -time.Minute, 0, OutcomeRunning),
			testJob("migrate", "", -30*time.Minute, 5*time.Second, OutcomeComplete),
		},
		pods: []*manifest.Pod{
			testPod("report-1-abcde", "report-1", -3*time.Hour, 0),
			testPod("report-2-fghij", "report-2", -2*time.Hour, 7),
			testPod("report-3-klmno", "report-3", -time.Minute, -1),
			testPod("migrate-pqrst", "migrate", -30*time.Minute, 0),
		},
		events: []*manifest.Event{{InvolvedObject: manifest.ObjectReference{UID: "uid-report-2-fghij"}, Type: "Warning",
			Reason: "BackOff", Message: `<script>alert("events")</script>`, LastTimestamp: *at(-2 * time.Hour), Count: 3}},
		logs: map[string]string{
			"report-2-fghij/main": "starting\n<script>alert(1)</script>\nfailed: exit 7\n",
			"report-1-abcde/main": "done\n",
		},
	}
}

func testServer(t *testing.T, api *fakeAPI) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(JobHistory{Reader: api}, Options{Version: "test", Location: time.UTC, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, method, url string, want int) (string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s, want %d\n%s", method, url, resp.Status, want, b)
	}
	return string(b), resp.Header
}

func wantAll(t *testing.T, page, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", page, w)
		}
	}
}

func TestOverview(t *testing.T) {
	srv := testServer(t, testAPI())
	body, hdr := fetch(t, "GET", srv.URL+"/", http.StatusOK)
	// Next weekday 02:30 in Berlin after Wed 10:00 UTC: Thu 01:30 UTC.
	next := time.Date(2026, 3, 5, 1, 30, 0, 0, time.UTC)
	wantAll(t, "the overview", body,
		"<title>Overview · localjobs</title>",
		`<a href="/cronjobs/default/report">report</a>`,
		"At 02:30 on every day-of-week from Monday through Friday.",
		"Europe/Berlin",
		`<time datetime="`+next.Format(time.RFC3339)+`">Thu 02:30 CET</time>`,
		`<a href="/jobs/default/report-2">report-2</a>`,
		"> Failed</span>", "> Complete</span>", "> Running</span>", "> Error</span>", "> Completed</span>",
		`<th scope="col">Restarts</th>`,
		`href="/static/style.css"`, `src="/static/live.js"`,
		`<meta http-equiv="refresh" content="5">`,
		"report-2: Failed (BackoffLimitExceeded, exit code 7) after 3m",
	)
	// The overview's CronJob row: three runs, the last one running.
	row := body[strings.Index(body, `<ol class="dots"`):]
	row = row[:strings.Index(row, "</ol>")]
	if got := strings.Count(row, "<li>"); got != 3 {
		t.Errorf("%d runs in the CronJob row, want 3", got)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy: %q", csp)
	}
	if strings.Contains(body, " style=") || strings.Contains(body, "<script>") {
		t.Errorf("the overview has inline style or script, which the CSP forbids")
	}
}

func TestCronJobPage(t *testing.T) {
	srv := testServer(t, testAPI())
	body, _ := fetch(t, "GET", srv.URL+"/cronjobs/default/report", http.StatusOK)
	wantAll(t, "the CronJob page", body,
		`<svg viewBox=`, `role="img"`, `<desc id="chart-desc">`,
		`<g class="bar ok"><title>report-1: Complete after 12s`,
		`<g class="bar fail"><title>report-2: Failed (BackoffLimitExceeded, exit code 7) after 3m`,
		`<g class="bar run"><title>report-3: Running for 60s`,
		`<table class="grid" id="runs">`,
		`<th scope="row"><a href="/jobs/default/report-3">report-3</a></th>`,
		"BackoffLimitExceeded", "<td>7</td>",
		"not scheduled (manual or on start)",
	)
	// Newest first in the table.
	if a, b := strings.Index(body, ">report-3</a></th>"), strings.Index(body, ">report-1</a></th>"); a > b {
		t.Errorf("the runs table is not newest first")
	}
	fetch(t, "GET", srv.URL+"/cronjobs/default/nope", http.StatusNotFound)
}

func TestPodPage(t *testing.T) {
	srv := testServer(t, testAPI())
	body, _ := fetch(t, "GET", srv.URL+"/pods/default/report-2-fghij", http.StatusOK)
	wantAll(t, "the pod page", body,
		`<a href="/cronjobs/default/report">CronJob report</a>`, // breadcrumb
		"&lt;script&gt;alert(1)&lt;/script&gt;",                 // the log, escaped
		"&lt;script&gt;alert(&#34;events&#34;)&lt;/script&gt;",  // an event message, escaped
		`<a href="/pods/default/report-2-fghij/log?container=main">Full log (text)</a>`,
		"(×3)", "> Error</span>", "<td>7</td>",
	)
	if strings.Contains(body, "<script>alert") {
		t.Errorf("the pod page shows a log or event as HTML")
	}
	// A running container whose log is not there yet says why.
	body, _ = fetch(t, "GET", srv.URL+"/pods/default/report-3-klmno", http.StatusOK)
	wantAll(t, "a running pod's page", body, "No log yet: container &#34;main&#34; in pod &#34;report-3-klmno&#34; is waiting to start")

	log, hdr := fetch(t, "GET", srv.URL+"/pods/default/report-2-fghij/log?container=main", http.StatusOK)
	if hdr.Get("Content-Type") != "text/plain; charset=utf-8" || log != testAPI().logs["report-2-fghij/main"] {
		t.Errorf("full log: %q %q", hdr.Get("Content-Type"), log)
	}
	fetch(t, "GET", srv.URL+"/pods/default/report-3-klmno/log?container=main", http.StatusBadRequest)
	fetch(t, "GET", srv.URL+"/pods/default/nope", http.StatusNotFound)
}

func TestJobPage(t *testing.T) {
	srv := testServer(t, testAPI())
	body, _ := fetch(t, "GET", srv.URL+"/jobs/default/report-2", http.StatusOK)
	wantAll(t, "the job page", body,
		"> Failed</span>", "BackoffLimitExceeded", `<a href="/pods/default/report-2-fghij">report-2-fghij</a>`,
		`<a href="/cronjobs/default/report">report</a>`, "<dd>3m</dd>")
}

func TestFragment(t *testing.T) {
	srv := testServer(t, testAPI())
	body, _ := fetch(t, "GET", srv.URL+"/?fragment=1", http.StatusOK)
	if strings.Contains(body, "<html") || strings.Contains(body, "<main") || !strings.Contains(body, "<h1>Overview</h1>") {
		t.Errorf("the fragment is not the main content alone:\n%s", body)
	}
}

func TestReadOnly(t *testing.T) {
	srv := testServer(t, testAPI())
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		_, hdr := fetch(t, m, srv.URL+"/", http.StatusMethodNotAllowed)
		if hdr.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: Allow %q", m, hdr.Get("Allow"))
		}
	}
	css, hdr := fetch(t, "GET", srv.URL+"/static/style.css", http.StatusOK)
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/css") || !strings.Contains(css, "prefers-color-scheme: dark") {
		t.Errorf("style.css: %q", hdr.Get("Content-Type"))
	}
	fetch(t, "GET", srv.URL+"/static/nope.js", http.StatusNotFound)
	fetch(t, "GET", srv.URL+"/nope", http.StatusNotFound)
}

func TestAPIErrorPage(t *testing.T) {
	api := testAPI()
	api.fail = errors.New("daemon went away")
	srv := testServer(t, api)
	body, _ := fetch(t, "GET", srv.URL+"/", http.StatusBadGateway)
	wantAll(t, "the error page", body, "daemon went away", `<a href="/">Back to the overview</a>`)
}

func TestJobHistory(t *testing.T) {
	runs, err := JobHistory{Reader: testAPI()}.History(context.Background(), "default", "report")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		code := "-"
		if r.ExitCode != nil {
			code = fmt.Sprint(*r.ExitCode)
		}
		got = append(got, fmt.Sprintf("%s %s %s %v code=%s scheduled=%v ended=%v", r.Job, r.Outcome, r.Reason, r.Duration(now), code, !r.Scheduled.IsZero(), !r.End.IsZero()))
	}
	want := []string{
		"report-1 Complete CompletionsReached 12s code=0 scheduled=true ended=true",
		"report-2 Failed BackoffLimitExceeded 3m0s code=7 scheduled=false ended=true",
		"report-3 Running  1m0s code=- scheduled=false ended=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("History:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBuildChart(t *testing.T) {
	var runs []Run
	for i := range 30 {
		r := Run{Job: fmt.Sprintf("j%d", i), Start: now.Add(time.Duration(i) * time.Minute), Outcome: OutcomeComplete}
		r.End = r.Start.Add(time.Duration(i*7) * time.Second)
		if i%5 == 0 {
			r.Outcome = OutcomeFailed
		}
		runs = append(runs, r)
	}
	c := buildChart(runs, now.Add(time.Hour), time.UTC)
	if len(c.Bars) != 30 || c.Shown != 30 || c.Total != 30 {
		t.Fatalf("%d bars", len(c.Bars))
	}
	// 29*7s = 3m23s: steps of 1m up to 4m.
	var ticks []string
	for _, tk := range c.YTicks {
		ticks = append(ticks, tk.Label)
	}
	if got := strings.Join(ticks, " "); got != "0 1m 2m 3m 4m" {
		t.Errorf("y ticks %q", got)
	}
	for i, b := range c.Bars {
		if b.Y < float64(c.Top) || b.Y+b.H > float64(c.Bottom)+0.01 || b.H < 2 {
			t.Errorf("bar %d out of the plot: %+v", i, b)
		}
		if (i%5 == 0) != (b.Class == "fail" && b.Glyph != "") {
			t.Errorf("bar %d: class %s glyph %q", i, b.Class, b.Glyph)
		}
	}
	for i := 1; i < len(c.XLabels); i++ {
		if gap := c.XLabels[i].Pos - c.XLabels[i-1].Pos; gap < chartLabelGap-1 {
			t.Errorf("x labels %d and %d overlap: %.0f apart", i-1, i, gap)
		}
	}
	// Only the last chartRuns runs are drawn.
	for i := range 20 {
		runs = append(runs, Run{Job: fmt.Sprintf("k%d", i), Start: now, End: now, Outcome: OutcomeComplete})
	}
	if c := buildChart(runs, now, time.UTC); c.Shown != chartRuns || c.Total != 50 {
		t.Errorf("shown %d of %d", c.Shown, c.Total)
	}
}

func TestKubectlPod(t *testing.T) {
	waiting := testPod("w", "", 0, -1)
	waiting.Status.ContainerStatuses[0].State = manifest.ContainerState{Waiting: &manifest.StateWaiting{Reason: "CrashLoopBackOff"}}
	waiting.Status.ContainerStatuses[0].Ready = false
	waiting.Status.ContainerStatuses[0].RestartCount = 2
	waiting.Status.ContainerStatuses[0].LastState.Terminated = &manifest.StateTerminated{ExitCode: 1, FinishedAt: *at(-time.Minute)}
	noReason := testPod("n", "", 0, 3)
	noReason.Status.ContainerStatuses[0].State.Terminated.Reason = ""
	terminating := testPod("t", "", 0, -1)
	terminating.DeletionTimestamp = at(0)
	initPod := testPod("i", "", 0, -1)
	initPod.Spec.InitContainers = []manifest.Container{{Name: "setup"}}
	initPod.Status.InitContainerStatuses = []manifest.ContainerStatus{{Name: "setup", State: manifest.ContainerState{Running: &manifest.StateRunning{}}}}
	initPod.Status.ContainerStatuses[0].State = manifest.ContainerState{Waiting: &manifest.StateWaiting{Reason: "PodInitializing"}}
	tests := []struct {
		pod  *manifest.Pod
		want kubectl.PodColumns
	}{
		{testPod("ok", "", 0, 0), kubectl.PodColumns{Ready: "0/1", Status: "Completed", Restarts: "0"}},
		{testPod("err", "", 0, 1), kubectl.PodColumns{Ready: "0/1", Status: "Error", Restarts: "0"}},
		{testPod("run", "", 0, -1), kubectl.PodColumns{Ready: "1/1", Status: "Running", Restarts: "0"}},
		{waiting, kubectl.PodColumns{Ready: "0/1", Status: "CrashLoopBackOff", Restarts: "2 (60s ago)"}},
		{noReason, kubectl.PodColumns{Ready: "0/1", Status: "ExitCode:3", Restarts: "0"}},
		{terminating, kubectl.PodColumns{Ready: "1/1", Status: "Terminating", Restarts: "0"}},
		{initPod, kubectl.PodColumns{Ready: "0/1", Status: "Init:0/1", Restarts: "0"}},
	}
	for _, tt := range tests {
		if got := kubectl.PrintPod(tt.pod, now); got != tt.want {
			t.Errorf("kubectl.PrintPod(%s) = %+v, want %+v", tt.pod.Name, got, tt.want)
		}
	}
}

func TestResolveAddr(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{":8089", "127.0.0.1:8089", ""},
		{"localhost:8089", "127.0.0.1:8089", ""},
		{"127.0.0.1:0", "127.0.0.1:0", ""},
		{"[::1]:8089", "[::1]:8089", ""},
		{"0.0.0.0:8089", "0.0.0.0:8089", ""}, // explicit: exposed, and the banner says so
		{"192.168.1.5:8089", "192.168.1.5:8089", ""},
		{"example.com:8089", "", "give an IP address, not a host name"},
		{"8089", "", "want HOST:PORT"},
		{"127.0.0.1:", "", "no port"},
	}
	for _, tt := range tests {
		got, err := ResolveAddr(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ResolveAddr(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestServeLoopback(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !Loopback(ln.Addr()) || !strings.Contains(Banner(ln.Addr()), URL(ln.Addr())) {
		t.Errorf("listener %v: loopback %v, banner %q", ln.Addr(), Loopback(ln.Addr()), Banner(ln.Addr()))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, New(JobHistory{Reader: testAPI()}, Options{Now: func() time.Time { return now }}))
	}()
	for host, want := range map[string]int{"": 200, "localhost": 200, "127.0.0.1": 200, "[::1]:80": 200, "rebound.example": http.StatusMisdirectedRequest} {
		req, _ := http.NewRequest("GET", URL(ln.Addr()), nil)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: %d, want %d", host, resp.StatusCode, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Errorf("still listening after Serve returned")
	}
}

func TestOverviewCapsRows(t *testing.T) {
	api := testAPI()
	for i := range 150 {
		api.pods = append(api.pods, testPod(fmt.Sprintf("bulk-%03d", i), "", time.Duration(i)*time.Second, 0))
	}
	srv := testServer(t, api)
	body, _ := fetch(t, "GET", srv.URL+"/", http.StatusOK)
	if n := strings.Count(body, `<a href="/pods/default/`); n != overviewRows {
		t.Errorf("%d pods listed, want %d", n, overviewRows)
	}
	wantAll(t, "the overview", body, "154</span> <span class=\"tile-label\">Pods", "54 more are not",
		`<a href="/pods/default/bulk-149">`) // the newest first
}
