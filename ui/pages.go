package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/kubectl"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/schedule"
)

// overviewRuns is how many recent runs a CronJob row shows; overviewRows
// how many Jobs and pods the overview lists (the newest), so that a state
// with thousands of them still makes a page one can read.
const (
	overviewRuns = 10
	overviewRows = 100
)

type overviewPage struct {
	page
	ShowNS   bool
	Tiles    []tile
	CronJobs []cronRow
	Jobs     []jobRow
	Pods     podTable
	// More are the Jobs and pods not listed (past overviewRows).
	MoreJobs, MorePods int
}

// podTable is a table of pods (template "pods").
type podTable struct {
	Label           string
	ShowNS, ShowJob bool
	Pods            []podRow
}

// tile is a count at the top of the overview.
type tile struct {
	Label string
	Value int
	Parts []tilePart
}

type tilePart struct {
	N      int
	Status status
}

type cronRow struct {
	NS, Name, URL     string
	Schedule, English string
	Zone              string
	Next              timeView
	NextNote          string
	LastSchedule      timeView
	Last              *runView
	Runs              []runView // the newest overviewRuns, oldest first
	Active            int
	Suspended         bool
}

type jobRow struct {
	NS, Name, URL   string
	Owner, OwnerURL string
	Status          status
	Completions     string
	Duration        string
	Age             string
}

type podRow struct {
	NS, Name, URL string
	Job, JobURL   string
	Ready         string
	Status        status
	Restarts      string
	Age           string
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.o.Now()
	cjs, err := h.api.CronJobs(ctx, "")
	if err != nil {
		h.apiError(w, r, "CronJobs", err)
		return
	}
	jobs, err := h.api.Jobs(ctx, "")
	if err != nil {
		h.apiError(w, r, "Jobs", err)
		return
	}
	pods, err := h.api.Pods(ctx, "")
	if err != nil {
		h.apiError(w, r, "pods", err)
		return
	}
	p := overviewPage{page: h.page("Overview", now)}
	namespaces := map[string]bool{}
	jobExists := map[string]bool{}
	for _, j := range jobs {
		jobExists[j.Namespace+"/"+j.Name] = true
	}

	runs, err := h.api.History(ctx, "", "")
	if err != nil {
		h.apiError(w, r, "the runs of the CronJobs", err)
		return
	}
	runsOf := map[string][]Run{}
	for _, run := range runs {
		k := run.Namespace + "/" + run.Owner
		runsOf[k] = append(runsOf[k], run)
	}
	sortByName(cjs, func(c *manifest.CronJob) *manifest.ObjectMeta { return &c.ObjectMeta })
	for _, cj := range cjs {
		namespaces[cj.Namespace] = true
		p.CronJobs = append(p.CronJobs, h.cronRow(cj, runsOf[cj.Namespace+"/"+cj.Name], jobExists, now))
	}

	// Jobs newest first, as what just ran is what one looks for.
	sort.SliceStable(jobs, func(a, b int) bool {
		return jobs[a].CreationTimestamp.After(jobs[b].CreationTimestamp.Time)
	})
	jobCount := map[string]int{}
	for _, j := range jobs {
		namespaces[j.Namespace] = true
		st := kubectl.JobStatus(j)
		jobCount[st]++
		row := jobRow{NS: j.Namespace, Name: j.Name, URL: jobURL(j.Namespace, j.Name), Status: statusOf(st),
			Completions: kubectl.JobCompletions(j), Age: duration.HumanDuration(now.Sub(j.CreationTimestamp.Time))}
		if start, end := jobTimes(j); !start.IsZero() {
			if end.IsZero() {
				end = now
			}
			row.Duration = duration.HumanDuration(end.Sub(start))
		}
		if o := history.CronJobOwner(j); o != "" {
			row.Owner, row.OwnerURL = o, cronJobURL(j.Namespace, o)
		}
		if len(p.Jobs) == overviewRows {
			p.MoreJobs++
			continue
		}
		p.Jobs = append(p.Jobs, row)
	}

	sort.SliceStable(pods, func(a, b int) bool {
		return pods[a].CreationTimestamp.After(pods[b].CreationTimestamp.Time)
	})
	podCount := map[string]int{}
	for _, pod := range pods {
		namespaces[pod.Namespace] = true
		cols := kubectl.PrintPod(pod, now)
		podCount[statusOf(cols.Status).Class]++
		row := podRow{NS: pod.Namespace, Name: pod.Name, URL: podURL(pod.Namespace, pod.Name), Ready: cols.Ready,
			Status: statusOf(cols.Status), Restarts: cols.Restarts, Age: duration.HumanDuration(now.Sub(pod.CreationTimestamp.Time))}
		if j := jobOf(pod); j != "" {
			row.Job, row.JobURL = j, jobURL(pod.Namespace, j)
		}
		if len(p.Pods.Pods) == overviewRows {
			p.MorePods++
			continue
		}
		p.Pods.Pods = append(p.Pods.Pods, row)
	}
	p.ShowNS = len(namespaces) > 1 || len(namespaces) == 1 && !namespaces["default"]
	p.Pods.Label, p.Pods.ShowNS, p.Pods.ShowJob = "Pods", p.ShowNS, true

	suspendedN := 0
	for _, c := range p.CronJobs {
		if c.Suspended {
			suspendedN++
		}
	}
	p.Tiles = []tile{
		{Label: "CronJobs", Value: len(cjs), Parts: parts(
			tilePart{len(cjs) - suspendedN, status{Text: "scheduled", Class: "ok", Glyph: glyphs["ok"]}},
			tilePart{suspendedN, status{Text: "suspended", Class: "warn", Glyph: glyphs["warn"]}})},
		{Label: "Jobs", Value: len(jobs), Parts: parts(
			tilePart{jobCount["Running"], status{Text: "running", Class: "run", Glyph: glyphs["run"]}},
			tilePart{jobCount["Complete"], status{Text: "complete", Class: "ok", Glyph: glyphs["ok"]}},
			tilePart{jobCount["Failed"], status{Text: "failed", Class: "fail", Glyph: glyphs["fail"]}},
			tilePart{len(jobs) - jobCount["Running"] - jobCount["Complete"] - jobCount["Failed"], status{Text: "other", Class: "warn", Glyph: glyphs["warn"]}})},
		{Label: "Pods", Value: len(pods), Parts: parts(
			tilePart{podCount["run"], status{Text: "running", Class: "run", Glyph: glyphs["run"]}},
			tilePart{podCount["ok"], status{Text: "completed", Class: "ok", Glyph: glyphs["ok"]}},
			tilePart{podCount["fail"], status{Text: "failed", Class: "fail", Glyph: glyphs["fail"]}},
			tilePart{podCount["warn"] + podCount["idle"], status{Text: "other", Class: "warn", Glyph: glyphs["warn"]}})},
	}
	h.render(w, r, http.StatusOK, "overview", p)
}

// parts keeps the non-zero parts of a tile.
func parts(ps ...tilePart) []tilePart {
	var out []tilePart
	for _, p := range ps {
		if p.N > 0 {
			out = append(out, p)
		}
	}
	return out
}

// cronRow is the overview's row of a CronJob with its runs, oldest first.
func (h *handler) cronRow(cj *manifest.CronJob, runs []Run, jobExists map[string]bool, now time.Time) cronRow {
	row := cronRow{NS: cj.Namespace, Name: cj.Name, URL: cronJobURL(cj.Namespace, cj.Name),
		Schedule: cj.Spec.Schedule, English: schedule.Describe(cj.Spec.Schedule),
		Zone: zoneName(cj, h.o.Location, now), Active: len(cj.Status.Active), Suspended: suspended(cj)}
	loc, _ := schedule.ZoneOf(cj, h.o.Location)
	next, note := nextRun(cj, now, h.o.Location)
	row.Next, row.NextNote = h.atZone(next, now, loc), note
	if t := cj.Status.LastScheduleTime; t != nil {
		row.LastSchedule = h.atZone(t.Time, now, loc)
	} else {
		row.LastSchedule = timeView{Zero: true}
	}
	if len(runs) > overviewRuns {
		runs = runs[len(runs)-overviewRuns:]
	}
	exists := map[string]bool{}
	for _, r := range runs {
		exists[r.Job] = jobExists[cj.Namespace+"/"+r.Job]
	}
	row.Runs = h.runViews(cj.Namespace, runs, exists, loc, now)
	if n := len(row.Runs); n > 0 {
		row.Last = &row.Runs[n-1]
	}
	return row
}

type cronJobPage struct {
	page
	NS, Name          string
	Schedule, English string
	Zone              string
	Concurrency       string
	Suspended         bool
	Next              timeView
	NextNote          string
	LastSchedule      timeView
	LastSuccess       timeView
	Active            []link
	Chart             chart
	Runs              []runView // newest first
	Events            []eventView
}

func (h *handler) cronJob(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.o.Now()
	ns, name := r.PathValue("ns"), r.PathValue("name")
	cj, err := h.api.CronJob(ctx, ns, name)
	if err != nil {
		h.apiError(w, r, "cronjob "+name+" in namespace "+ns, err)
		return
	}
	runs, err := h.api.History(ctx, ns, name)
	if err != nil {
		h.apiError(w, r, "the runs of cronjob "+name, err)
		return
	}
	jobs, err := h.api.Jobs(ctx, ns)
	if err != nil {
		h.apiError(w, r, "Jobs", err)
		return
	}
	evs, err := h.api.Events(ctx, ns, cj.UID)
	if err != nil {
		h.apiError(w, r, "events", err)
		return
	}
	exists := map[string]bool{}
	for _, j := range jobs {
		exists[j.Name] = true
	}
	p := cronJobPage{page: h.page("CronJob "+name, now, link{"Overview", "/"}),
		NS: ns, Name: name, Schedule: cj.Spec.Schedule, English: schedule.Describe(cj.Spec.Schedule),
		Zone: zoneName(cj, h.o.Location, now), Concurrency: cj.Spec.ConcurrencyPolicy, Suspended: suspended(cj),
		Events: h.events(evs, now)}
	if p.Concurrency == "" {
		p.Concurrency = manifest.ConcurrencyAllow
	}
	loc, _ := schedule.ZoneOf(cj, h.o.Location)
	next, note := nextRun(cj, now, h.o.Location)
	p.Next, p.NextNote = h.atZone(next, now, loc), note
	p.LastSchedule, p.LastSuccess = timeView{Zero: true}, timeView{Zero: true}
	if t := cj.Status.LastScheduleTime; t != nil {
		p.LastSchedule = h.atZone(t.Time, now, loc)
	}
	if t := cj.Status.LastSuccessfulTime; t != nil {
		p.LastSuccess = h.at(t.Time, now)
	}
	for _, a := range cj.Status.Active {
		p.Active = append(p.Active, link{a.Name, jobURL(ns, a.Name)})
	}
	p.Chart = buildChart(runs, now, h.o.Location)
	views := h.runViews(ns, runs, exists, loc, now)
	for i := len(views) - 1; i >= 0; i-- {
		p.Runs = append(p.Runs, views[i])
	}
	h.render(w, r, http.StatusOK, "cronjob", p)
}

type jobPage struct {
	page
	NS, Name        string
	Owner, OwnerURL string
	Status          status
	Reason, Message string
	Completions     string
	Start, End      timeView
	Duration        string
	Created         timeView
	Pods            podTable
	Events          []eventView
}

func (h *handler) job(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.o.Now()
	ns, name := r.PathValue("ns"), r.PathValue("name")
	j, err := h.api.Job(ctx, ns, name)
	if err != nil {
		h.apiError(w, r, "job "+name+" in namespace "+ns, err)
		return
	}
	pods, err := h.api.PodsOfJob(ctx, ns, name)
	if err != nil {
		h.apiError(w, r, "the pods of job "+name, err)
		return
	}
	evs, err := h.api.Events(ctx, ns, j.UID)
	if err != nil {
		h.apiError(w, r, "events", err)
		return
	}
	crumbs := []link{{"Overview", "/"}}
	p := jobPage{NS: ns, Name: name, Status: statusOf(kubectl.JobStatus(j)), Completions: kubectl.JobCompletions(j),
		Created: h.at(j.CreationTimestamp.Time, now), Events: h.events(evs, now)}
	if o := history.CronJobOwner(j); o != "" {
		p.Owner, p.OwnerURL = o, cronJobURL(ns, o)
		crumbs = append(crumbs, link{"CronJob " + o, p.OwnerURL})
	}
	p.page = h.page("Job "+name, now, crumbs...)
	for _, typ := range []string{manifest.JobComplete, manifest.JobFailed, manifest.JobSuspended, manifest.JobFailureTarget} {
		if c := kubectl.JobCondition(j, typ); c != nil {
			p.Reason, p.Message = c.Reason, c.Message
			break
		}
	}
	start, end := jobTimes(j)
	p.Start, p.End = h.at(start, now), h.at(end, now)
	if !start.IsZero() {
		if end.IsZero() {
			end = now
		}
		p.Duration = duration.HumanDuration(end.Sub(start))
	}
	sort.SliceStable(pods, func(a, b int) bool {
		return pods[a].CreationTimestamp.Before(pods[b].CreationTimestamp.Time)
	})
	for _, pod := range pods {
		cols := kubectl.PrintPod(pod, now)
		p.Pods.Pods = append(p.Pods.Pods, podRow{NS: ns, Name: pod.Name, URL: podURL(ns, pod.Name), Ready: cols.Ready,
			Status: statusOf(cols.Status), Restarts: cols.Restarts, Age: duration.HumanDuration(now.Sub(pod.CreationTimestamp.Time))})
	}
	p.Pods.Label = "Pods of job " + name
	h.render(w, r, http.StatusOK, "job", p)
}

type podPage struct {
	page
	NS, Name        string
	Ready, Restarts string
	Status          status
	Phase           string
	Reason, Message string
	Node            string
	Job, JobURL     string
	Created         timeView
	Started         timeView
	Containers      []containerView
	Events          []eventView
	Logs            []logView
}

type containerView struct {
	Name, Image string
	Kind        string // "init", "sidecar" or ""
	State       status
	Detail      string // a waiting or terminated container's message
	ExitCode    string
	Started     timeView
	Finished    timeView
	Restarts    int32
	Ready       bool
}

type logView struct {
	Container   string
	ID          string // the element id of its section
	Text        string
	Empty       bool
	Truncated   bool
	Note        string // why there is no log yet
	Error       string
	URL         string // the whole log as text/plain
	PreviousURL string // the previous instance's, after a restart
}

// Log tails: how much of each container's log a pod page shows.
const (
	logTailLines = 200
	logTailBytes = 64 << 10
)

func (h *handler) pod(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.o.Now()
	ns, name := r.PathValue("ns"), r.PathValue("name")
	pod, err := h.api.Pod(ctx, ns, name)
	if err != nil {
		h.apiError(w, r, "pod "+name+" in namespace "+ns, err)
		return
	}
	evs, err := h.api.Events(ctx, ns, pod.UID)
	if err != nil {
		h.apiError(w, r, "events", err)
		return
	}
	cols := kubectl.PrintPod(pod, now)
	p := podPage{NS: ns, Name: name, Ready: cols.Ready, Restarts: cols.Restarts, Status: statusOf(cols.Status),
		Phase: pod.Status.Phase, Reason: pod.Status.Reason, Message: pod.Status.Message, Node: pod.Spec.NodeName,
		Created: h.at(pod.CreationTimestamp.Time, now), Events: h.events(evs, now)}
	if pod.Status.StartTime != nil {
		p.Started = h.at(pod.Status.StartTime.Time, now)
	} else {
		p.Started = timeView{Zero: true}
	}
	crumbs := []link{{"Overview", "/"}}
	if jn := jobOf(pod); jn != "" {
		p.Job, p.JobURL = jn, jobURL(ns, jn)
		if j, err := h.api.Job(ctx, ns, jn); err == nil {
			if o := history.CronJobOwner(j); o != "" {
				crumbs = append(crumbs, link{"CronJob " + o, cronJobURL(ns, o)})
			}
		}
		crumbs = append(crumbs, link{"Job " + jn, p.JobURL})
	}
	p.page = h.page("Pod "+name, now, crumbs...)
	p.Containers = h.containers(pod, now)
	for _, c := range p.Containers {
		p.Logs = append(p.Logs, h.logTail(ctx, pod, c))
	}
	h.render(w, r, http.StatusOK, "pod", p)
}

func (h *handler) containers(pod *manifest.Pod, now time.Time) []containerView {
	statuses := map[string]manifest.ContainerStatus{}
	for _, cs := range append(append([]manifest.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		statuses[cs.Name] = cs
	}
	var out []containerView
	add := func(c manifest.Container, kind string) {
		v := containerView{Name: c.Name, Image: c.Image, Kind: kind, State: status{Text: "Waiting", Class: "idle", Glyph: glyphs["idle"]},
			Started: timeView{Zero: true}, Finished: timeView{Zero: true}}
		cs, ok := statuses[c.Name]
		if ok {
			v.Restarts, v.Ready = cs.RestartCount, cs.Ready
			switch st := cs.State; {
			case st.Running != nil:
				v.State = statusOf("Running")
				v.Started = h.at(st.Running.StartedAt.Time, now)
			case st.Terminated != nil:
				reason := st.Terminated.Reason
				if reason == "" {
					reason = "Terminated"
				}
				v.State = statusOf(reason)
				if st.Terminated.ExitCode != 0 && v.State.Class != "fail" {
					v.State = status{Text: reason, Class: "fail", Glyph: glyphs["fail"]}
				}
				v.Detail = st.Terminated.Message
				v.ExitCode = fmt.Sprint(st.Terminated.ExitCode)
				if st.Terminated.Signal != 0 {
					v.ExitCode += fmt.Sprintf(" (signal %d)", st.Terminated.Signal)
				}
				v.Started = h.at(st.Terminated.StartedAt.Time, now)
				v.Finished = h.at(st.Terminated.FinishedAt.Time, now)
			case st.Waiting != nil:
				reason := st.Waiting.Reason
				if reason == "" {
					reason = "Waiting"
				}
				v.State = statusOf(reason)
				v.Detail = st.Waiting.Message
			}
		}
		out = append(out, v)
	}
	for _, c := range pod.Spec.InitContainers {
		kind := "init"
		if c.RestartPolicy != nil && *c.RestartPolicy == "Always" {
			kind = "sidecar"
		}
		add(c, kind)
	}
	for _, c := range pod.Spec.Containers {
		add(c, "")
	}
	return out
}

// logTail reads the end of a container's log for the pod page.
func (h *handler) logTail(ctx context.Context, pod *manifest.Pod, c containerView) logView {
	base := podURL(pod.Namespace, pod.Name) + "/log?container=" + url.QueryEscape(c.Name)
	v := logView{Container: c.Name, ID: "log-" + c.Name, URL: base}
	if c.Restarts > 0 {
		v.PreviousURL = base + "&previous=true"
	}
	tw := &tailWriter{n: logTailBytes}
	err := h.api.Logs(ctx, tw, localapi.LogRequest{Namespace: pod.Namespace, Pod: pod.Name, Container: c.Name, TailLines: logTailLines})
	var se *localapi.StatusError
	switch {
	case errors.As(err, &se) && se.Status.Code == http.StatusBadRequest:
		// Not started yet: "container … is waiting to start: …".
		v.Note = se.Status.Message
	case err != nil:
		v.Error = err.Error()
	}
	v.Text, v.Truncated = tw.String()
	v.Empty = v.Text == ""
	return v
}

// podLog serves a container's whole log as text/plain.
func (h *handler) podLog(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	q := r.URL.Query()
	req := localapi.LogRequest{Namespace: ns, Pod: name, Container: q.Get("container"), TailLines: -1,
		Previous: q.Get("previous") == "true", Timestamps: q.Get("timestamps") == "true"}
	// Buffer up to a first chunk so an error before any output is an
	// error page, not half a log.
	sw := &startWriter{w: w, start: func() {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
	}}
	err := h.api.Logs(r.Context(), sw, req)
	if err != nil && !sw.started {
		var se *localapi.StatusError
		if errors.As(err, &se) && se.Status.Code == http.StatusBadRequest {
			h.fail(w, r, http.StatusBadRequest, "No log to show.", err)
			return
		}
		h.apiError(w, r, "pod "+name+" in namespace "+ns, err)
		return
	}
	if !sw.started {
		sw.start()
		w.WriteHeader(http.StatusOK)
	}
}

// startWriter calls start before its first write.
type startWriter struct {
	w       io.Writer
	start   func()
	started bool
}

func (s *startWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		s.start()
	}
	return s.w.Write(p)
}

// tailWriter keeps the last n bytes written to it, from a line start on.
// The daemon already sends only the last lines; this bounds a page whose
// lines are very long.
type tailWriter struct {
	buf []byte
	n   int
	cut bool
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
		t.cut = true
	}
	return len(p), nil
}

// String returns what was kept, valid UTF-8, and whether the start was cut.
func (t *tailWriter) String() (string, bool) {
	b, cut := t.buf, t.cut
	if len(b) > t.n {
		b, cut = b[len(b)-t.n:], true
	}
	if cut {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), cut
}

func sortByName[T any](items []T, meta func(T) *manifest.ObjectMeta) {
	sort.SliceStable(items, func(a, b int) bool {
		ma, mb := meta(items[a]), meta(items[b])
		if ma.Namespace != mb.Namespace {
			return ma.Namespace < mb.Namespace
		}
		return ma.Name < mb.Name
	})
}
