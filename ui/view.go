package ui

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/schedule"
)

// timeView is a time as a page shows it: absolute in the dashboard's zone
// and relative to now.
type timeView struct {
	Zero bool
	ISO  string // the datetime attribute
	Text string // 15:04:05 today, Mon 15:04 within a week, else the date
	Rel  string // "3m ago", "in 42s"
}

func (h *handler) at(t, now time.Time) timeView {
	if t.IsZero() {
		return timeView{Zero: true}
	}
	return timeAt(t, now, h.o.Location)
}

// atZone is at in a CronJob's zone loc, the zone's abbreviation added when
// it is not the dashboard's.
func (h *handler) atZone(t, now time.Time, loc *time.Location) timeView {
	if t.IsZero() {
		return timeView{Zero: true}
	}
	if loc == nil || loc.String() == h.o.Location.String() {
		return h.at(t, now)
	}
	v := timeAt(t, now, loc)
	v.Text += " " + t.In(loc).Format("MST")
	return v
}

func timeAt(t, now time.Time, loc *time.Location) timeView {
	lt, ln := t.In(loc), now.In(loc)
	v := timeView{ISO: t.UTC().Format(time.RFC3339)}
	d := lt.Sub(ln)
	switch {
	case sameDay(lt, ln):
		v.Text = lt.Format("15:04:05")
	case d < 6*24*time.Hour && d > -6*24*time.Hour:
		v.Text = lt.Format("Mon 15:04")
	default:
		v.Text = lt.Format("2 Jan 2006 15:04")
	}
	if d > 0 {
		v.Rel = "in " + duration.HumanDuration(d)
	} else {
		v.Rel = duration.HumanDuration(-d) + " ago"
	}
	return v
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// status is a kubectl status word with how the page marks it: a class for
// colour and a glyph, so colour is never the only carrier.
type status struct {
	Text  string
	Class string // ok, fail, run, warn, idle
	Glyph string
}

var glyphs = map[string]string{"ok": "✓", "fail": "✕", "run": "▶", "warn": "!", "idle": "•"}

// statusOf classifies a pod STATUS, a Job STATUS or a run outcome.
func statusOf(s string) status {
	class := "idle"
	switch {
	case s == "Completed" || s == "Complete" || s == "Succeeded":
		class = "ok"
	case s == "Running":
		class = "run"
	case s == "Pending" || s == "ContainerCreating" || s == "PodInitializing" || s == "Terminating" ||
		s == "Suspended" || s == "NotReady" || s == "FailureTarget" || s == "Unschedulable" ||
		strings.HasPrefix(s, "Init:") && strings.Count(s, "/") == 1:
		class = "warn"
	case s == "Failed" || s == "Error" || strings.HasPrefix(s, "Init:") || strings.HasPrefix(s, "ExitCode:") ||
		strings.HasPrefix(s, "Signal:") || strings.HasSuffix(s, "BackOff") || strings.HasSuffix(s, "Error") ||
		s == "ContainerCannotRun" || s == "OOMKilled" || s == "ErrImagePull" || s == "DeadlineExceeded" ||
		s == "Evicted" || s == "InvalidImageName" || s == "ErrImageNeverPull":
		class = "fail"
	}
	return status{Text: s, Class: class, Glyph: glyphs[class]}
}

func podURL(ns, name string) string {
	return "/pods/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
}
func jobURL(ns, name string) string {
	return "/jobs/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
}
func cronJobURL(ns, name string) string {
	return "/cronjobs/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
}

// nextRun is a CronJob's next fire time, or why it has none (the CLI's
// describe cronjob Next Schedule Time), with the DST rule's note.
func nextRun(cj *manifest.CronJob, now time.Time, local *time.Location) (next time.Time, note string) {
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return time.Time{}, "suspended"
	}
	f, _, err := schedule.NextFire(cj, now, local)
	if err != nil {
		return time.Time{}, err.Error()
	}
	if f.Time.IsZero() {
		if cj.Annotations[schedule.AnnotationRunOnStart] == "true" {
			return time.Time{}, "never: it runs only when the daemon starts"
		}
		return time.Time{}, "never: the schedule matches no date"
	}
	if f.Adjusted {
		note = "DST-adjusted: " + f.Reason
	}
	return f.Time, note
}

// zoneName is the TIMEZONE column: the CronJob's timeZone, or the
// daemon's zone for one without.
func zoneName(cj *manifest.CronJob, local *time.Location, now time.Time) string {
	if tz := cj.Spec.TimeZone; tz != nil {
		return *tz
	}
	return localZone(local, now) + ", the daemon's"
}

// localZone names a zone: its IANA name, or its abbreviation for the
// process's Local zone (whose name is "Local").
func localZone(loc *time.Location, now time.Time) string {
	if loc.String() == "Local" {
		return now.In(loc).Format("MST")
	}
	return loc.String()
}

func suspended(cj *manifest.CronJob) bool { return cj.Spec.Suspend != nil && *cj.Spec.Suspend }

// eventView is a row of an Events table, as describe prints it.
type eventView struct {
	Type, Reason, From, Message string
	Warning                     bool
	Last                        timeView
	Count                       int32
}

func (h *handler) events(evs []*manifest.Event, now time.Time) []eventView {
	out := make([]eventView, 0, len(evs))
	for _, e := range evs {
		last := e.LastTimestamp.Time
		if last.IsZero() {
			last = e.EventTime.Time
		}
		if last.IsZero() {
			last = e.FirstTimestamp.Time
		}
		out = append(out, eventView{Type: e.Type, Reason: e.Reason, From: e.Source.Component, Message: e.Message,
			Warning: e.Type == "Warning", Last: h.at(last, now), Count: max(e.Count, 1)})
	}
	return out
}

// runView is a row of a runs table.
type runView struct {
	Job, JobURL string // JobURL is "" when the Job is gone
	Scheduled   timeView
	Start       timeView
	Duration    string
	Status      status
	Reason      string
	ExitCode    string
	Summary     string // one line for a title or a screen reader
}

// runViews are the rows of runs of a CronJob in zone loc (its scheduled
// times are shown in it); jobs says which Jobs still exist (nil: all).
func (h *handler) runViews(ns string, runs []Run, jobs map[string]bool, loc *time.Location, now time.Time) []runView {
	out := make([]runView, 0, len(runs))
	for _, r := range runs {
		v := runView{Job: r.Job, Scheduled: h.atZone(r.Scheduled, now, loc), Start: h.at(r.Start, now),
			Duration: duration.HumanDuration(r.Duration(now)), Status: statusOf(r.Outcome), Reason: r.Reason}
		if jobs == nil || jobs[r.Job] {
			v.JobURL = jobURL(ns, r.Job)
		}
		if r.ExitCode != nil {
			v.ExitCode = strconv.Itoa(int(*r.ExitCode))
		}
		v.Summary = runSummary(r, now, h.o.Location)
		out = append(out, v)
	}
	return out
}

// runSummary is a run in one line: "job-1: Failed (BackoffLimitExceeded,
// exit code 1) after 3s, started Mon 15:04".
func runSummary(r Run, now time.Time, loc *time.Location) string {
	var b strings.Builder
	b.WriteString(r.Job + ": " + r.Outcome)
	var extra []string
	if r.Reason != "" && r.Outcome != OutcomeComplete {
		extra = append(extra, r.Reason)
	}
	if r.ExitCode != nil && *r.ExitCode != 0 {
		extra = append(extra, "exit code "+strconv.Itoa(int(*r.ExitCode)))
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	}
	if r.Outcome == OutcomeRunning {
		b.WriteString(" for " + duration.HumanDuration(r.Duration(now)))
	} else {
		b.WriteString(" after " + duration.HumanDuration(r.Duration(now)))
	}
	if !r.Start.IsZero() {
		b.WriteString(", started " + timeAt(r.Start, now, loc).Text)
	}
	return b.String()
}
