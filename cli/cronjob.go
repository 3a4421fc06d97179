package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/schedule"
)

// CronJobRow is the kubectl get cronjobs row of a CronJob (printCronJob).
type CronJobRow struct {
	Name, Schedule, TimeZone, Suspend, Active, LastSchedule, Age string
}

func cronJobRow(cj *manifest.CronJob, now time.Time) CronJobRow {
	r := CronJobRow{
		Name:         cj.Name,
		Schedule:     cj.Spec.Schedule,
		TimeZone:     "<none>",
		Suspend:      "<unset>",
		Active:       fmt.Sprint(len(cj.Status.Active)),
		LastSchedule: "<none>",
		Age:          age(cj.CreationTimestamp, now),
	}
	if cj.Spec.TimeZone != nil {
		r.TimeZone = *cj.Spec.TimeZone
	}
	if cj.Spec.Suspend != nil {
		r.Suspend = map[bool]string{true: "True", false: "False"}[*cj.Spec.Suspend]
	}
	if t := cj.Status.LastScheduleTime; t != nil && !t.IsZero() {
		r.LastSchedule = duration.HumanDuration(now.Sub(t.Time))
	}
	return r
}

// printCronJobs prints kubectl's get cronjobs table (NAME SCHEDULE TIMEZONE
// SUSPEND ACTIVE LAST SCHEDULE AGE; wide adds CONTAINERS IMAGES SELECTOR),
// with a NAMESPACE column first when allNamespaces.
func printCronJobs(w io.Writer, cjs []*manifest.CronJob, now time.Time, wide, allNamespaces bool) error {
	tw := newTable(w)
	if allNamespaces {
		fmt.Fprint(tw, "NAMESPACE\t")
	}
	fmt.Fprint(tw, "NAME\tSCHEDULE\tTIMEZONE\tSUSPEND\tACTIVE\tLAST SCHEDULE\tAGE")
	if wide {
		fmt.Fprint(tw, "\tCONTAINERS\tIMAGES\tSELECTOR")
	}
	fmt.Fprintln(tw)
	for _, cj := range cjs {
		if allNamespaces {
			fmt.Fprintf(tw, "%s\t", cj.Namespace)
		}
		r := cronJobRow(cj, now)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s", r.Name, r.Schedule, r.TimeZone, r.Suspend, r.Active, r.LastSchedule, r.Age)
		if wide {
			var names, images []string
			for _, c := range cj.Spec.JobTemplate.Spec.Template.Spec.Containers {
				names = append(names, c.Name)
				images = append(images, c.Image)
			}
			sel := "<none>"
			if s := cj.Spec.JobTemplate.Spec.Selector; s != nil {
				sel = selectorString(s)
			}
			fmt.Fprintf(tw, "\t%s\t%s\t%s", strings.Join(names, ","), strings.Join(images, ","), sel)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func selectorString(s *manifest.LabelSelector) string {
	var kv []string
	for k, v := range s.MatchLabels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// describeCronJob prints kubectl describe cronjob (describeCronJob, field
// order of reference §4.6), plus localjobs' Next Schedule Time line, which
// shows the DST rule's adjustments. local is the zone of a CronJob without
// timeZone.
func describeCronJob(w io.Writer, cj *manifest.CronJob, evs []*manifest.Event, runs []*localapi.HistoryRun, events bool, now time.Time, local *time.Location) {
	d := newDescribeWriter(w)
	tw := d.tw
	kv := func(k, format string, a ...any) { fmt.Fprintf(tw, k+":\t"+format+"\n", a...) }
	unset := func(p *int32) string {
		if p == nil {
			return "<unset>"
		}
		return fmt.Sprint(*p)
	}
	s := &cj.Spec
	kv("Name", "%s", cj.Name)
	kv("Namespace", "%s", cj.Namespace)
	d.mapLines("Labels", cj.Labels)
	d.mapLines("Annotations", cj.Annotations)
	kv("Schedule", "%s", s.Schedule)
	kv("Concurrency Policy", "%s", s.ConcurrencyPolicy)
	suspend := "<unset>"
	if s.Suspend != nil {
		suspend = map[bool]string{true: "True", false: "False"}[*s.Suspend]
	}
	kv("Suspend", "%s", suspend)
	if s.TimeZone != nil {
		kv("Time Zone", "%s", *s.TimeZone)
	} else {
		kv("Time Zone", "<unset>")
	}
	kv("Successful Job History Limit", "%s", unset(s.SuccessfulJobsHistoryLimit))
	kv("Failed Job History Limit", "%s", unset(s.FailedJobsHistoryLimit))
	if s.StartingDeadlineSeconds != nil {
		kv("Starting Deadline Seconds", "%ds", *s.StartingDeadlineSeconds)
	} else {
		kv("Starting Deadline Seconds", "<unset>")
	}
	js := &s.JobTemplate.Spec
	if js.Selector != nil {
		kv("Selector", "%s", selectorString(js.Selector))
	} else {
		kv("Selector", "<unset>")
	}
	kv("Parallelism", "%s", unset(js.Parallelism))
	kv("Completions", "%s", unset(js.Completions))
	if js.ActiveDeadlineSeconds != nil {
		kv("Active Deadline Seconds", "%ds", *js.ActiveDeadlineSeconds)
	}
	fmt.Fprintln(tw, "Pod Template:")
	d.mapLines("  Labels", js.Template.Labels)
	fmt.Fprintln(tw, "  Containers:")
	for _, c := range js.Template.Spec.Containers {
		fmt.Fprintf(tw, "   %s:\n", c.Name)
		fmt.Fprintf(tw, "    Image:\t%s\n", c.Image)
		for _, l := range []struct {
			title string
			items []string
		}{{"Command", c.Command}, {"Args", c.Args}} {
			if len(l.items) > 0 {
				fmt.Fprintf(tw, "    %s:\n", l.title)
				for _, a := range l.items {
					fmt.Fprintf(tw, "      %s\n", a)
				}
			}
		}
	}
	if t := cj.Status.LastScheduleTime; t != nil && !t.IsZero() {
		kv("Last Schedule Time", "%s", t.Format(time.RFC1123Z))
	} else {
		kv("Last Schedule Time", "<unset>")
	}
	var active []string
	for _, a := range cj.Status.Active {
		active = append(active, a.Name)
	}
	if len(active) == 0 {
		kv("Active Jobs", "<none>")
	} else {
		kv("Active Jobs", "%s", strings.Join(active, ", "))
	}
	kv("Next Schedule Time", "%s", nextScheduleNote(cj, now, local))
	describeLastTimes(tw, cj, runs, now)
	d.flush()
	describeRunTable(w, runs, local)
	if events {
		describeEvents(d, evs, now)
	}
	d.flush()
}

// nextScheduleNote is the Next Schedule Time line: the next fire time, or
// why there is none, with the DST rule's adjustment if any.
func nextScheduleNote(cj *manifest.CronJob, now time.Time, local *time.Location) string {
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return "<none> (suspended)"
	}
	f, loc, err := schedule.NextFire(cj, now, local)
	if err != nil {
		return "<none> (" + err.Error() + ")"
	}
	if f.Time.IsZero() {
		if cj.Annotations[schedule.AnnotationRunOnStart] == "true" {
			return "<none> (the schedule never fires: it runs only when the daemon starts)"
		}
		return "<none> (the schedule never fires)"
	}
	out := f.Time.In(loc).Format(time.RFC1123Z)
	if f.Adjusted {
		out += " (DST-adjusted: " + f.Reason + ")"
	}
	return out
}
