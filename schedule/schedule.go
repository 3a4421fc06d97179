// Package schedule is localjobs' CronJob controller: schedule parsing as
// Kubernetes does it (robfig/cron/v3 for parsing and Next only), time zones,
// the DST rule of DESIGN §8, catch-up after downtime, concurrency policy and
// history limits. The decisions are a pure, level-based function (Sync) of
// the CronJob, its Jobs and the wall-clock time; Controller runs it on a
// wall-clock timer loop through a small JobStore the daemon provides.
//
// schedule imports manifest and nothing else of localjobs (DESIGN §1).
package schedule

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/localjobs/localjobs/manifest"
)

// Annotations read or written by the CronJob controller.
const (
	// AnnotationScheduledTimestamp is set on every scheduled Job: the
	// scheduled time, RFC 3339, in the CronJob's time zone (UTC when unset).
	AnnotationScheduledTimestamp = "batch.kubernetes.io/cronjob-scheduled-timestamp"
	// AnnotationInstantiate = "manual" marks Jobs made by
	// `create job --from=cronjob/…`.
	AnnotationInstantiate = "cronjob.kubernetes.io/instantiate"
	// AnnotationDSTPolicy = "kubernetes" on a CronJob restores Kubernetes'
	// DST behaviour (gap slots skipped, repeated hours run twice).
	AnnotationDSTPolicy = "localjobs.io/dst-policy"
	// AnnotationRunOnStart = "true" on a CronJob asks for one extra run each
	// time the daemon starts.
	AnnotationRunOnStart = "localjobs.io/run-on-start"
)

// DSTPolicyKubernetes is the AnnotationDSTPolicy value that restores
// Kubernetes' behaviour.
const DSTPolicyKubernetes = "kubernetes"

// Policy says how a schedule treats daylight-saving transitions.
type Policy int

const (
	// PolicyLocaljobs is DESIGN §8's rule: fixed-time slots in a gap run
	// once at the end of the gap, in a repeated hour once at the first
	// occurrence; other schedules follow real elapsed time.
	PolicyLocaljobs Policy = iota
	// PolicyKubernetes is robfig/cron's behaviour, as Kubernetes runs it:
	// gap slots are skipped, repeated-hour slots run twice.
	PolicyKubernetes
)

// PolicyOf returns the DST policy a CronJob's annotations ask for.
func PolicyOf(annotations map[string]string) Policy {
	if strings.EqualFold(strings.TrimSpace(annotations[AnnotationDSTPolicy]), DSTPolicyKubernetes) {
		return PolicyKubernetes
	}
	return PolicyLocaljobs
}

// Schedule is a parsed CronJob schedule evaluated in one time zone.
type Schedule struct {
	expr   string
	loc    *time.Location
	policy Policy
	every  time.Duration      // > 0 for @every
	zoned  *cron.SpecSchedule // evaluated by robfig in loc (PolicyKubernetes)
	civil  *cron.SpecSchedule // evaluated by robfig on wall-clock readings carried as UTC
	fixed  bool               // minute and hour have no *, ?, range or step
}

// ErrTZInSchedule is returned by Parse for a schedule with TZ= or CRON_TZ=,
// which Kubernetes refuses on create.
var ErrTZInSchedule = errors.New("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")

// descriptors are robfig's macros with their five-field equivalents.
var descriptors = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// Parse parses a CronJob schedule as Kubernetes does (five fields, the @
// macros, @every D, ? = *), evaluated in loc (nil = time.Local). TZ= and
// CRON_TZ= prefixes are refused. Errors explain what is wrong with the
// expression; no input can make Parse panic.
func Parse(expr string, loc *time.Location, policy Policy) (*Schedule, error) {
	if loc == nil {
		loc = time.Local
	}
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("empty schedule: want five fields (minute hour day-of-month month day-of-week) or a macro such as @daily")
	}
	if strings.Contains(expr, "TZ") {
		return nil, ErrTZInSchedule
	}
	parsed, err := parseStandard(expr)
	if err != nil {
		return nil, explain(expr, err)
	}
	s := &Schedule{expr: expr, loc: loc, policy: policy}
	switch p := parsed.(type) {
	case cron.ConstantDelaySchedule:
		s.every = p.Delay
	case *cron.SpecSchedule:
		z, c := *p, *p
		z.Location, c.Location = loc, time.UTC
		s.zoned, s.civil = &z, &c
		fields := strings.Fields(expr)
		if d, ok := descriptors[strings.ToLower(strings.TrimSpace(expr))]; ok {
			fields = strings.Fields(d)
		}
		s.fixed = len(fields) == 5 && !strings.ContainsAny(fields[0]+fields[1], "*?-/")
	default:
		return nil, fmt.Errorf("unsupported schedule %q", expr)
	}
	return s, nil
}

// parseStandard is cron.ParseStandard with its panics turned into errors.
func parseStandard(expr string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("invalid schedule: %v", r)
		}
	}()
	return cron.ParseStandard(expr)
}

// explain turns a robfig parse error into one that names the field at
// fault and what it accepts (manifest.ExplainSchedule, which validation
// uses too), after the expression.
func explain(expr string, err error) error {
	return fmt.Errorf("schedule %q: %w", expr, manifest.ExplainSchedule(expr, err))
}

// Every returns the interval of an @every schedule, 0 otherwise.
func (s *Schedule) Every() time.Duration { return s.every }

// FixedTime reports whether the schedule's minute and hour fields name
// fixed times (no *, ?, range or step): the slots the DST rule moves.
func (s *Schedule) FixedTime() bool { return s.fixed }

// Fire is one time a schedule fires.
type Fire struct {
	Time time.Time
	// Adjusted is set when the DST rule moved or de-duplicated this run
	// (Kubernetes would have skipped it or run it twice); Reason says how.
	Adjusted bool
	Reason   string
}

// Next returns the first time strictly after after at which the schedule
// fires, and whether the DST rule adjusted it. The zero time means the
// schedule never fires within five years (e.g. "59 23 31 2 *").
func (s *Schedule) Next(after time.Time) (time.Time, bool) {
	f := s.NextFire(after)
	return f.Time, f.Adjusted
}

// NextFire is Next with the adjustment's explanation.
func (s *Schedule) NextFire(after time.Time) Fire {
	if s.every > 0 {
		// cron.ConstantDelaySchedule.Next: whole seconds after after.
		return Fire{Time: after.Add(s.every - time.Duration(after.Nanosecond())).In(s.loc)}
	}
	if s.policy == PolicyKubernetes {
		return Fire{Time: s.zoned.Next(after.In(s.loc))}
	}
	start := wallClock(after, s.loc)
	if !stableAround(after, s.loc) {
		// Wall-clock readings repeat across a fall-back: look at slots up
		// to three hours behind the current reading.
		start = start.Add(-3 * time.Hour)
	}
	if s.fixed {
		return s.nextFixed(after, start)
	}
	return Fire{Time: s.nextElapsed(after, start)}
}

// maxIterations bounds the slot loops; robfig's Next bounds each step to
// five years.
const maxIterations = 20000

// nextFixed applies the DST rule to a fixed-time schedule: each wall-clock
// slot maps to one instant — itself, the first of two occurrences, or the
// end of the gap it falls in — and the mapping never decreases, so the
// answer is the first slot whose instant is after after.
func (s *Schedule) nextFixed(after, start time.Time) Fire {
	c := start
	for range maxIterations {
		c = s.civil.Next(c)
		if c.IsZero() {
			return Fire{}
		}
		f := s.fixedInstant(c)
		if !f.Time.After(after) {
			continue
		}
		if f.Adjusted && len(instants(c, s.loc)) == 0 {
			// Gap slots collapse into one run at the end of the gap; a
			// real slot at that instant takes it over unadjusted.
			for d, i := c, 0; i < 100; i++ {
				d = s.civil.Next(d)
				if d.IsZero() {
					break
				}
				g := s.fixedInstant(d)
				if !g.Time.Equal(f.Time) {
					break
				}
				if !g.Adjusted {
					return g
				}
			}
		}
		return f
	}
	return Fire{}
}

// fixedInstant maps the wall-clock slot c (carried as UTC) to its instant
// under the DST rule.
func (s *Schedule) fixedInstant(c time.Time) Fire {
	ins := instants(c, s.loc)
	switch len(ins) {
	case 1:
		return Fire{Time: ins[0]}
	case 0:
		end := gapEnd(c, s.loc)
		return Fire{Time: end, Adjusted: true, Reason: fmt.Sprintf(
			"%s does not exist on %s in %s (clocks went forward): runs at the end of the gap, %s",
			c.Format("15:04"), c.Format("Mon 2006-01-02"), s.loc, end.In(s.loc).Format("15:04 MST"))}
	default:
		return Fire{Time: ins[0], Adjusted: true, Reason: fmt.Sprintf(
			"%s occurs twice on %s in %s (clocks go back): runs once, at the first occurrence (%s)",
			c.Format("15:04"), c.Format("Mon 2006-01-02"), s.loc, ins[0].In(s.loc).Format("15:04 MST"))}
	}
}

// nextElapsed follows real elapsed time: a wall-clock slot fires at every
// instant that reads it (none in a gap, two in a repeated hour).
func (s *Schedule) nextElapsed(after, start time.Time) time.Time {
	var best time.Time
	c := start
	for range maxIterations {
		c = s.civil.Next(c)
		if c.IsZero() {
			break
		}
		offs := offsetsNear(c, s.loc)
		if !best.IsZero() && c.Add(-time.Duration(offs[len(offs)-1])*time.Second).After(best) {
			break // every later slot maps after best
		}
		for _, t := range instants(c, s.loc) {
			if t.After(after) && (best.IsZero() || t.Before(best)) {
				best = t
			}
		}
	}
	return best
}

// wallClock returns t's wall-clock reading in loc carried as a UTC time.
func wallClock(t time.Time, loc *time.Location) time.Time {
	w := t.In(loc)
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
}

// stableAround reports whether loc's offset is constant from three hours
// before t to three hours after it.
func stableAround(t time.Time, loc *time.Location) bool {
	start, end := t.In(loc).ZoneBounds()
	return (start.IsZero() || !start.After(t.Add(-3*time.Hour))) && (end.IsZero() || end.After(t.Add(3*time.Hour)))
}

// offsetsNear returns the UTC offsets (seconds, ascending) loc uses within
// 15 hours of the instant that has wall-clock reading c in UTC.
func offsetsNear(c time.Time, loc *time.Location) []int {
	a, limit := c.Add(-15*time.Hour), c.Add(15*time.Hour)
	var offs []int
	for range 16 {
		x := a.In(loc)
		_, off := x.Zone()
		if !containsInt(offs, off) {
			offs = append(offs, off)
		}
		_, end := x.ZoneBounds()
		if end.IsZero() || end.After(limit) || !end.After(a) {
			break
		}
		a = end
	}
	sort.Ints(offs)
	return offs
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// instants returns the instants whose wall clock in loc reads c (carried
// as UTC), earliest first: none in a gap, two in a repeated hour.
func instants(c time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	for _, off := range offsetsNear(c, loc) {
		t := c.Add(-time.Duration(off) * time.Second)
		if _, o := t.In(loc).Zone(); o == off {
			out = append(out, t.In(loc))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// gapEnd returns the instant the clocks jumped over the non-existent
// wall-clock reading c: the end of the gap.
func gapEnd(c time.Time, loc *time.Location) time.Time {
	offs := offsetsNear(c, loc)
	latest := c.Add(-time.Duration(offs[0]) * time.Second) // after the jump
	start, _ := latest.In(loc).ZoneBounds()
	return start.In(loc)
}
