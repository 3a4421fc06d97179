package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// history prints the recorded runs of Jobs, newest first: those of one
// CronJob or Job name, or of a namespace. The records outlive the Jobs
// (history limits, ttlSecondsAfterFinished) and work without a daemon.
func (e *env) history(ctx context.Context, args []string) error {
	fs := e.flags("history", "history [cronjob/NAME|job/NAME] [-n NS|-A] [-o json] [--limit N]")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	all := fs.BoolP("all-namespaces", "A", false, "runs of every namespace")
	out := fs.StringP("output", "o", "", "output format: json")
	limit := fs.Int("limit", 0, "at most this many runs (0 = all kept)")
	if err := parse(fs, args); err != nil {
		return err
	}
	q := localapi.HistoryQuery{Namespace: *ns, Limit: max(*limit, 0)}
	switch fs.NArg() {
	case 0:
		if *all {
			q.Namespace = ""
		}
	case 1:
		kind, name, ok := strings.Cut(fs.Arg(0), "/")
		switch res := resourceAliases[kind]; {
		case !ok || name == "":
			return &usageError{msg: fmt.Sprintf("history takes cronjob/NAME or job/NAME, not %q", fs.Arg(0)), hint: "localjobs history cronjob/backup"}
		case res == "cronjobs":
			q.Kind = "cronjob"
		case res == "jobs":
			q.Kind = "job"
		default:
			return &usageError{msg: fmt.Sprintf("history is kept for cronjobs and jobs, not %q", kind), hint: "localjobs history cronjob/backup"}
		}
		if *all {
			return &usageError{msg: "-A lists every namespace; a cronjob or job is in one", hint: "localjobs history cronjob/backup -n NS"}
		}
		q.Name = name
	default:
		return &usageError{msg: "history takes at most one cronjob/NAME or job/NAME", hint: "localjobs history cronjob/backup"}
	}
	if *out != "" && *out != "json" {
		return &usageError{msg: fmt.Sprintf("unknown output format %q", *out), hint: "-o json"}
	}
	src, err := e.openSource(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	runs, err := src.History(ctx, q)
	if err != nil {
		return err
	}
	if *out == "json" {
		return printRunsJSON(e.stdout, runs)
	}
	if len(runs) == 0 {
		where := "in " + *ns + " namespace"
		if q.Namespace == "" {
			where = "in any namespace"
		}
		if q.Kind != "" {
			where = "of " + q.Kind + "/" + q.Name + " " + where
		}
		fmt.Fprintf(e.stderr, "No runs recorded %s.\n", where)
		return nil
	}
	return printRuns(e.stdout, runs, time.Local, q.Namespace == "")
}

// printRunsJSON prints runs as a localjobs/v1 RunList, 4-space indented.
func printRunsJSON(w io.Writer, runs []*localapi.HistoryRun) error {
	if runs == nil {
		runs = []*localapi.HistoryRun{}
	}
	b, err := json.MarshalIndent(map[string]any{"apiVersion": "localjobs/v1", "kind": "RunList", "items": runs}, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

const runTimeFormat = "2006-01-02 15:04:05"

// printRuns prints the history table: NAME (the Job) OWNER SCHEDULED
// STARTED DURATION OUTCOME ATTEMPTS EXIT, times in loc.
func printRuns(w io.Writer, runs []*localapi.HistoryRun, loc *time.Location, allNamespaces bool) error {
	tw := newTable(w)
	if allNamespaces {
		fmt.Fprint(tw, "NAMESPACE\t")
	}
	fmt.Fprintln(tw, "NAME\tOWNER\tSCHEDULED\tSTARTED\tDURATION\tOUTCOME\tATTEMPTS\tEXIT")
	for _, r := range runs {
		if allNamespaces {
			fmt.Fprintf(tw, "%s\t", r.Namespace)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Job, r.Owner(), timeOrNone(r.Scheduled, loc), timeOrNone(r.Started, loc),
			runDuration(r), runOutcome(r), r.AttemptCount, exitOrNone(r.ExitCode))
	}
	return tw.Flush()
}

func timeOrNone(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "<none>"
	}
	return t.In(loc).Format(runTimeFormat)
}

func runDuration(r *localapi.HistoryRun) string {
	if r.Started.IsZero() {
		return "<none>"
	}
	return duration.HumanDuration(r.Duration())
}

// runOutcome is Complete, Failed or Deleted, with the reason when there
// is one: Failed (BackoffLimitExceeded).
func runOutcome(r *localapi.HistoryRun) string {
	if r.Reason == "" || r.Reason == "CompletionsReached" {
		return r.Outcome
	}
	return r.Outcome + " (" + r.Reason + ")"
}

func exitOrNone(c *int32) string {
	if c == nil {
		return "<none>"
	}
	return strconv.Itoa(int(*c))
}

// describeLastTimes adds describe cronjob's Last Successful Time (the
// status's, or the history's if newer) and Last Failed Time (the
// history's, which outlives the Jobs) to its tabwriter.
func describeLastTimes(tw io.Writer, cj *manifest.CronJob, runs []*localapi.HistoryRun, now time.Time) {
	var lastOK, lastFailed time.Time
	if t := cj.Status.LastSuccessfulTime; t != nil {
		lastOK = t.Time
	}
	for _, r := range runs {
		switch {
		case r.Outcome == "Complete" && r.Finished.After(lastOK):
			lastOK = r.Finished
		case r.Outcome == "Failed" && r.Finished.After(lastFailed):
			lastFailed = r.Finished
		}
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return "<unset>"
		}
		return t.Format(time.RFC1123Z) + " (" + duration.HumanDuration(now.Sub(t)) + " ago)"
	}
	fmt.Fprintf(tw, "Last Successful Time:\t%s\n", at(lastOK))
	fmt.Fprintf(tw, "Last Failed Time:\t%s\n", at(lastFailed))
}

// describeRunTable is describe cronjob's Last Runs: the newest few runs of
// the history.
func describeRunTable(w io.Writer, runs []*localapi.HistoryRun, loc *time.Location) {
	if len(runs) == 0 {
		fmt.Fprintln(w, "Last Runs:  <none>")
		return
	}
	fmt.Fprintln(w, "Last Runs:")
	tw := newTable(w)
	fmt.Fprintln(tw, "  NAME\tSTARTED\tDURATION\tOUTCOME\tEXIT")
	for _, r := range runs[:min(len(runs), describeRunCount)] {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.Job, timeOrNone(r.Started, loc), runDuration(r), runOutcome(r), exitOrNone(r.ExitCode))
	}
	tw.Flush()
}

// describeRunCount is how many runs describe cronjob lists; the newest
// success and failure come from all that are kept.
const describeRunCount = 5
