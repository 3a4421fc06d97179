package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/cli"
	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
	"github.com/localjobs/localjobs/schedule"
)

// EnvBrowser, when "1", runs TestDashboardBrowser (make test-ui): it needs
// Docker and Chromium, and takes about half a minute.
const EnvBrowser = "LOCALJOBS_UI_BROWSER"

// screenshotDir is where the test leaves its screenshots (the repository's
// testdata/ui, from this package's folder).
const screenshotDir = "../testdata/ui"

// The objects the test runs: a CronJob that runs at once
// (localjobs.io/run-on-start) and twice more by hand, its second run
// failing (a counter in a host folder tells the runs apart); a Job that
// fails; a Pod that completes.
const dashboardYAML = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly-report
  annotations:
    localjobs.io/run-on-start: "true"
spec:
  schedule: "30 2 * * 1-5"
  timeZone: Europe/Berlin
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          volumes:
          - name: data
            hostPath: {path: DATA, type: Directory}
          containers:
          - name: report
            image: IMAGE
            imagePullPolicy: Never
            volumeMounts: [{name: data, mountPath: /data}]
            command:
            - sh
            - -c
            - |
              n=$(cat /data/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/runs
              echo "report run $n: building"; sleep $n
              echo "42 rows"; echo "<b>not bold</b>"
              if [ $n -eq 2 ]; then echo "error: upstream timed out" >&2; exit 1; fi
---
apiVersion: batch/v1
kind: Job
metadata:
  name: broken-migration
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: IMAGE
        imagePullPolicy: Never
        command: ["sh", "-c", "echo applying migration 7; echo 'error: table users is locked' >&2; exit 3"]
---
apiVersion: v1
kind: Pod
metadata:
  name: hello-pod
spec:
  restartPolicy: Never
  containers:
  - name: hello
    image: IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "echo hello from localjobs"]
`

// TestDashboardBrowser runs a daemon on the real Docker engine with the
// dashboard on a free loopback port, lets a CronJob, a failing Job and a
// Pod run to their end, then loads the pages in headless Chromium: it
// checks what they say (the schedule in English, kubectl's statuses, the
// same STATUS as `localjobs get pods`, the run chart, logs escaped) and
// saves screenshots under testdata/ui.
func TestDashboardBrowser(t *testing.T) {
	if os.Getenv(EnvBrowser) != "1" {
		t.Skipf("the browser test runs with %s=1 (make test-ui)", EnvBrowser)
	}
	browser := findChromium(t)
	dockertest.RequireDocker(t)
	img := dockertest.Busybox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	d, dir, data := startDashboardDaemon(t, ctx)
	base := d.UIURL()
	c := d.Client()
	runDashboardObjects(t, ctx, d, img, data)
	checkOverview(t, browser, base, dir)
	checkCronJobPage(t, browser, base)
	podURL := checkPodPage(t, ctx, c, browser, base)
	checkFullLogAndReadOnly(t, base, podURL)
}

// startDashboardDaemon starts a daemon with the dashboard on a free
// loopback port, in a fresh state dir (dir), allowed the host folder data;
// the test's cleanup stops it and removes its containers.
func startDashboardDaemon(t *testing.T, ctx context.Context) (d *daemon.Daemon, dir, data string) {
	dir = tempDir(t, "ljui")
	data = tempDir(t, "ljuidata")
	d, err := daemon.Start(ctx, daemon.Config{StateDir: dir, Version: cli.Version, UIAddr: "127.0.0.1:0", AllowHostPath: []string{data}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := d.Stop(); err != nil {
			t.Errorf("daemon stop: %v", err)
		}
		// up leaves containers running by design; the test removes
		// every container of its instance.
		if err := dockertest.RemoveInstanceContainers(context.Background(), dir); err != nil {
			t.Error(err)
		}
	})
	t.Logf("instance %s, state %s", d.DB.InstanceID(), dir)
	base := d.UIURL()
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("dashboard at %q, want a loopback address", base)
	}
	if !strings.Contains(strings.Join(d.Summary(), "\n"), "dashboard: "+base) {
		t.Errorf("the banner does not say where the dashboard listens:\n%s", strings.Join(d.Summary(), "\n"))
	}
	return d, dir, data
}

// runDashboardObjects applies dashboardYAML and waits for the CronJob's
// start run and two manual runs, the failing Job and the completed Pod.
func runDashboardObjects(t *testing.T, ctx context.Context, d *daemon.Daemon, img, data string) {
	c := d.Client()
	stream, err := c.Watch(ctx, "default", "pods", "jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	yaml := strings.NewReplacer("IMAGE", img, "DATA", data).Replace(dashboardYAML)
	resp, err := c.Apply(ctx, localapi.ApplyRequest{Files: []localapi.File{{Name: "dashboard.yaml", Data: []byte(yaml)}}})
	if err != nil || len(resp.Errors) > 0 {
		t.Fatalf("apply: %v %v", err, resp.Errors)
	}
	d.Open()
	d.StartCronJobs() // the CronJob's run-on-start run

	// Each run of the CronJob finishes before the next starts.
	waitFor(t, ctx, stream, "the first run of nightly-report", func() bool { return finishedRuns(t, c, "nightly-report") == 1 })
	for i := 1; i <= 2; i++ {
		if _, err := c.InstantiateCronJob(ctx, "default", "nightly-report", fmt.Sprintf("nightly-report-manual-%d", i), false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, stream, fmt.Sprintf("manual run %d of nightly-report", i), func() bool { return finishedRuns(t, c, "nightly-report") == 1+i })
	}
	waitFor(t, ctx, stream, "broken-migration to fail and hello-pod to complete", func() bool {
		j, err := c.Job(ctx, "default", "broken-migration")
		p, err2 := c.Pod(ctx, "default", "hello-pod")
		return err == nil && err2 == nil && hasCondition(j, manifest.JobFailed) && p.Status.Phase == manifest.PodSucceeded
	})
}

// checkOverview loads the overview: the objects, the schedule in English,
// kubectl's statuses, the next fire time, and each pod's STATUS as
// `localjobs get pods` prints it.
func checkOverview(t *testing.T, browser, base, dir string) {
	// Given 12 s of the browser's virtual time, the live refresh (under
	// the CSP) swaps the content in at least once.
	dom := dumpDOM(t, browser, base, "--virtual-time-budget=12000")
	if !strings.Contains(dom, `data-refreshed="`) || strings.Contains(dom, `id="pause" class="button" aria-pressed="false" hidden`) {
		t.Errorf("the live refresh did not run")
	}
	for _, want := range []string{
		"<h1>Overview</h1>",
		">nightly-report</a>",
		schedule.Describe("30 2 * * 1-5"), // the schedule in English
		"<code>30 2 * * 1-5</code>",
		"Europe/Berlin",
		">broken-migration</a>",
		"> Failed</span>",
		"> Complete</span>",
		">hello-pod</a>",
		"> Completed</span>",
		"> Error</span>",
		`<th scope="col">Status</th>`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	// The next run is the next weekday at 02:30 in Berlin.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s, _ := schedule.Parse("30 2 * * 1-5", berlin, schedule.PolicyLocaljobs)
	next, _ := s.Next(time.Now())
	if want := `datetime="` + next.UTC().Format(time.RFC3339) + `"`; !strings.Contains(dom, want) {
		t.Errorf("the overview lacks the next fire time %s (%s)", next, want)
	}
	// Every pod's STATUS is the one `localjobs get pods` prints.
	for name, status := range getPods(t, dir) {
		row := rowWith(dom, `href="/pods/default/`+name+`"`)
		if row == "" {
			t.Errorf("pod %s is not on the overview", name)
			continue
		}
		if !strings.Contains(row, "> "+status+"</span>") {
			t.Errorf("pod %s: the overview's row does not say %s, as localjobs get pods does:\n%s", name, status, row)
		}
	}
	screenshot(t, browser, base, "dashboard.png")
}

// checkCronJobPage loads the CronJob page: the chart (one bar per run,
// coloured and marked by outcome, with a title each) and the runs table.
func checkCronJobPage(t *testing.T, browser, base string) {
	cronURL := base + "cronjobs/default/nightly-report"
	dom := dumpDOM(t, browser, cronURL)
	if !strings.Contains(dom, "<svg") || !strings.Contains(dom, `role="img"`) {
		t.Errorf("the CronJob page has no chart:\n%s", dom)
	}
	if n := strings.Count(dom, `class="bar ok"`); n != 2 {
		t.Errorf("%d complete bars in the chart, want 2", n)
	}
	if n := strings.Count(dom, `class="bar fail"`); n != 1 {
		t.Errorf("%d failed bars in the chart, want 1", n)
	}
	for _, want := range []string{
		"<title>nightly-report-manual-1: Failed (BackoffLimitExceeded, exit code 1) after",
		"<title>nightly-report-manual-2: Complete after",
		`<table class="grid" id="runs">`,
		"BackoffLimitExceeded",
		schedule.Describe("30 2 * * 1-5"),
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the CronJob page lacks %q", want)
		}
	}
	screenshot(t, browser, cronURL, "cronjob.png")
}

// checkPodPage loads the page of the failed run's pod: containers, events,
// the log tail (escaped), and the link to the whole log; it returns the
// page's URL.
func checkPodPage(t *testing.T, ctx context.Context, c *localapi.Client, browser, base string) string {
	pods, err := c.PodsOfJob(ctx, "default", "nightly-report-manual-1")
	if err != nil || len(pods) != 1 {
		t.Fatalf("pods of nightly-report-manual-1: %v %v", pods, err)
	}
	podURL := base + "pods/default/" + pods[0].Name
	dom := dumpDOM(t, browser, podURL)
	for _, want := range []string{
		"report run 2: building",
		"error: upstream timed out",
		"&lt;b&gt;not bold&lt;/b&gt;",
		`<h2 id="events-h">Events</h2>`,
		`/log?container=report"`,
		"> Error</span>",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the pod page lacks %q", want)
		}
	}
	if strings.Contains(dom, "<b>not bold</b>") {
		t.Errorf("the pod page shows a log line as HTML")
	}
	if !strings.Contains(dom, `<td>Started</td>`) && !strings.Contains(dom, `<td>Created</td>`) {
		t.Errorf("the pod page lists no container events")
	}
	screenshot(t, browser, podURL, "pod.png")
	return podURL
}

// checkFullLogAndReadOnly: the full log is text/plain, and the dashboard
// is read-only, with a CSP and a Host check.
func checkFullLogAndReadOnly(t *testing.T, base, podURL string) {
	body, hdr := get(t, podURL+"/log?container=report", "", http.StatusOK)
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || !strings.Contains(body, "<b>not bold</b>\n") {
		t.Errorf("full log: %s\n%s", hdr.Get("Content-Type"), body)
	}
	_, hdr = get(t, base, "", http.StatusOK)
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	get(t, base, "rebound.example", http.StatusMisdirectedRequest)
	if r, err := http.Post(base, "text/plain", strings.NewReader("x")); err != nil || r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %v %v, want 405", r, err)
	} else {
		r.Body.Close()
	}
}

// findChromium is $CHROMIUM or chromium on PATH; without one the test
// fails (make test-ui installs Debian's chromium first).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no Chromium found: run make test-ui (it installs Debian's chromium with scripts/ensure-chromium.sh), or set CHROMIUM=/path/to/chromium")
	return ""
}

func tempDir(t *testing.T, prefix string) string {
	t.Helper()
	// Short: the socket path must fit a unix socket's 107 bytes.
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// waitFor reads the watch until done holds: no sleeping, every change to
// a pod or Job wakes it.
func waitFor(t *testing.T, ctx context.Context, s *localapi.WatchStream, what string, done func() bool) {
	t.Helper()
	for !done() {
		if _, err := s.Next(); err != nil {
			t.Fatalf("waiting for %s: %v (ctx: %v)", what, err, ctx.Err())
		}
	}
}

func finishedRuns(t *testing.T, c *localapi.Client, cronJob string) int {
	t.Helper()
	jobs, err := c.Jobs(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		for _, o := range j.OwnerReferences {
			if o.Kind == manifest.KindCronJob && o.Name == cronJob && (hasCondition(j, manifest.JobComplete) || hasCondition(j, manifest.JobFailed)) {
				n++
			}
		}
	}
	return n
}

func hasCondition(j *manifest.Job, typ string) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == "True" {
			return true
		}
	}
	return false
}

// getPods runs `localjobs get pods` against the daemon and returns each
// pod's STATUS.
func getPods(t *testing.T, stateDir string) map[string]string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Main(context.Background(), []string{"--state-dir", stateDir, "get", "pods"}, &out, &errb, nil); code != 0 {
		t.Fatalf("localjobs get pods: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("localjobs get pods printed:\n%s", out.String())
	}
	st := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		st[f[0]] = f[2] // NAME READY STATUS RESTARTS AGE
	}
	if len(st) != 5 {
		t.Errorf("localjobs get pods lists %d pods, want 5:\n%s", len(st), out.String())
	}
	return st
}

// rowWith is the table row of dom that contains s.
func rowWith(dom, s string) string {
	i := strings.Index(dom, s)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(dom[:i], "<tr")
	end := strings.Index(dom[i:], "</tr>")
	if start < 0 || end < 0 {
		return ""
	}
	return dom[start : i+end]
}

// chromium runs headless Chromium with args; as root it needs
// --no-sandbox.
func chromium(t *testing.T, browser string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile := t.TempDir()
	all := append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
		"--force-color-profile=srgb", "--user-data-dir=" + profile}, args...)
	cmd := exec.CommandContext(ctx, browser, all...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", browser, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func dumpDOM(t *testing.T, browser, url string, flags ...string) string {
	t.Helper()
	dom := string(chromium(t, browser, append(flags, "--dump-dom", url)...))
	if !strings.Contains(dom, "</html>") {
		t.Fatalf("chromium --dump-dom %s printed no page:\n%s", url, dom)
	}
	return dom
}

// screenshot saves url at 1280×900 as testdata/ui/name and checks that it
// is a real picture: a PNG of that size with more than a few colours.
func screenshot(t *testing.T, browser, url, name string) {
	t.Helper()
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path, err := filepath.Abs(filepath.Join(screenshotDir, name))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	chromium(t, browser, "--screenshot="+path, "--window-size=1280,900", url)
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	st, _ := f.Stat()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 900 {
		t.Errorf("%s is %v, want 1280×900", path, b)
	}
	if n := colours(img); n < 16 || st.Size() < 20<<10 {
		t.Errorf("%s looks blank: %d colours, %d bytes", path, n, st.Size())
	}
	t.Logf("screenshot: %s (%d KiB)", path, st.Size()>>10)
}

func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

// get fetches url (with Host host, if set) and checks the status.
func get(t *testing.T, url, host string, want int) (string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Errorf("GET %s (Host %q): %s, want %d", url, host, resp.Status, want)
	}
	return string(b), resp.Header
}
