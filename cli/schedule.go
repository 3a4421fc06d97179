package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	// Every IANA zone works in a scratch image (DESIGN §8, §9).
	_ "time/tzdata"

	"github.com/localjobs/localjobs/schedule"
)

// scheduleCmd prints an English description of a schedule and its next
// fire times: `localjobs schedule EXPR [--time-zone TZ] [--from T] [-n N]`.
func (e *env) scheduleCmd(args []string) error {
	fs := e.flags("schedule", `schedule "EXPR" [--time-zone TZ] [--from RFC3339] [-n N] [--dst-policy localjobs|kubernetes]`)
	tz := fs.String("time-zone", "", "IANA time zone, as spec.timeZone (default: the local zone)")
	from := fs.String("from", "", "list fire times after this RFC 3339 time (default: now)")
	n := fs.IntP("count", "n", 5, "how many fire times to list")
	policy := fs.String("dst-policy", "localjobs", "daylight-saving rule: localjobs or kubernetes (the localjobs.io/dst-policy annotation)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{msg: "schedule needs a cron expression", hint: `localjobs schedule "30 2 * * 1-5" --time-zone Europe/Berlin (quote it so the shell leaves * alone)`}
	}
	expr := strings.Join(fs.Args(), " ")
	if *n < 0 {
		return &usageError{msg: "-n must not be negative", hint: "localjobs schedule @daily -n 10"}
	}
	var pol schedule.Policy
	switch *policy {
	case "localjobs":
	case schedule.DSTPolicyKubernetes:
		pol = schedule.PolicyKubernetes
	default:
		return &usageError{msg: fmt.Sprintf("unknown --dst-policy %q", *policy), hint: "--dst-policy localjobs|kubernetes"}
	}
	loc, zoneName := time.Local, "<none> (local zone "+localZoneName()+")"
	if *tz != "" {
		l, err := schedule.LoadZone(*tz)
		if err != nil {
			return fmt.Errorf("--time-zone %q: %w (want an IANA name such as Europe/Berlin or America/New_York)", *tz, err)
		}
		loc, zoneName = l, *tz
	}
	start := time.Now()
	if *from != "" {
		t, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return &usageError{msg: fmt.Sprintf("--from %q is not an RFC 3339 time", *from), hint: "--from 2026-03-08T00:00:00-05:00"}
		}
		start = t
	}
	s, err := schedule.Parse(expr, loc, pol)
	if err != nil {
		return err
	}
	if d := s.Every(); d > 0 && d < time.Minute {
		fmt.Fprintf(e.stderr, "warning: %q runs at most once a minute: each run's Job is named after its minute\n", expr)
	}
	if s.NextFire(start).Time.IsZero() {
		return fmt.Errorf("schedule %q never fires (no matching time within five years)", expr)
	}
	fmt.Fprintln(e.stdout, schedule.Describe(expr))
	fmt.Fprintf(e.stdout, "Time zone: %s\n", zoneName)
	if s.Every() > 0 {
		fmt.Fprintf(e.stdout, "Counted from %s (a CronJob counts from its last scheduled run, or its creation).\n", start.In(loc).Format("2006-01-02 15:04:05 -07:00"))
	}
	if *n == 0 {
		return nil
	}
	fmt.Fprintf(e.stdout, "Next %d fire times:\n", *n)
	after := start
	for i := 0; i < *n; i++ {
		f := s.NextFire(after)
		if f.Time.IsZero() {
			fmt.Fprintln(e.stdout, "  (no further time within five years)")
			break
		}
		t := f.Time.In(loc)
		line := fmt.Sprintf("  %s  %s", t.Format("Mon 2006-01-02 15:04:05 -07:00"), t.Format("MST"))
		if f.Adjusted {
			line += "  DST-adjusted: " + f.Reason
		}
		fmt.Fprintln(e.stdout, line)
		after = f.Time
	}
	return nil
}

// localZoneName names the local zone: $TZ, else /etc/localtime's target,
// else Go's "Local".
func localZoneName() string {
	if tz := os.Getenv("TZ"); tz != "" {
		return strings.TrimPrefix(tz, ":")
	}
	if p, err := filepath.EvalSymlinks("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(p, "zoneinfo/"); ok {
			return name
		}
	}
	return time.Local.String()
}
