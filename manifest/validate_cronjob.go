package manifest

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // timeZone validation must know every IANA zone, even in a scratch image

	"github.com/robfig/cron/v3"
)

var timeZonePartRE = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// checkSchedule parses a CronJob schedule as Kubernetes does (robfig/cron
// ParseStandard), refusing TZ= and CRON_TZ= prefixes and turning the
// parser's panics into errors; an error names the field at fault and what
// it accepts (ExplainSchedule).
func checkSchedule(s string) error {
	if strings.Contains(s, "TZ") {
		return fmt.Errorf("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
	}
	if _, err := parseSchedule(s); err != nil {
		return ExplainSchedule(s, err)
	}
	return nil
}

// parseSchedule is cron.ParseStandard with its panics turned into errors.
func parseSchedule(expr string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("invalid schedule: %v", r)
		}
	}()
	return cron.ParseStandard(expr)
}

// scheduleFields are the five fields of a schedule with what each accepts.
var scheduleFields = [5]struct{ name, allowed string }{
	{"minute", "0-59"},
	{"hour", "0-23"},
	{"day-of-month", "1-31"},
	{"month", "1-12 or JAN-DEC"},
	{"day-of-week", "0-6 or SUN-SAT, Sunday is 0 and 7 is not accepted"},
}

// ExplainSchedule turns robfig/cron's error about expr into one that
// names the field at fault and what it accepts, keeping robfig's own
// text: `minute field "61": end of range (61) above maximum (59): 61
// (allowed: 0-59; …)`. validate and localjobs schedule say the same.
func ExplainSchedule(expr string, err error) error {
	trimmed := strings.TrimSpace(expr)
	if strings.HasPrefix(trimmed, "@") {
		if strings.HasPrefix(trimmed, "@every") {
			return fmt.Errorf("@every needs a Go duration such as @every 1h30m: %w", err)
		}
		return fmt.Errorf("%w (macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every D; @reboot is not supported, use the localjobs.io/run-on-start annotation)", err)
	}
	fields := strings.Fields(trimmed)
	if len(fields) != 5 {
		return fmt.Errorf("%w (want minute hour day-of-month month day-of-week; there is no seconds field)", err)
	}
	for i, f := range fields {
		probe := []string{"*", "*", "*", "*", "*"}
		probe[i] = f
		if _, perr := parseSchedule(strings.Join(probe, " ")); perr != nil {
			return fmt.Errorf("%s field %q: %w (allowed: %s; also *, ?, a,b lists, a-b ranges, */n and a-b/n steps)",
				scheduleFields[i].name, f, perr, scheduleFields[i].allowed)
		}
	}
	return err
}

func validateCronJobSpec(e *errs, s *CronJobSpec, p fieldPath) {
	if s.Schedule == "" {
		e.required(p.child("schedule"), "")
	} else if err := checkSchedule(s.Schedule); err != nil {
		e.invalid(p.child("schedule"), s.Schedule, err.Error())
	}
	if tz := s.TimeZone; tz != nil {
		tp := p.child("timeZone")
		switch {
		case *tz == "":
			e.invalid(tp, *tz, "timeZone must be nil or non-empty string")
		case strings.EqualFold(*tz, "Local"):
			e.invalid(tp, *tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")
		default:
			ok := true
			for part := range strings.SplitSeq(*tz, "/") {
				if part == "." || part == ".." || strings.HasPrefix(part, "-") || !timeZonePartRE.MatchString(part) {
					ok = false
				}
			}
			if !ok {
				e.invalid(tp, *tz, "unknown time zone "+*tz)
			} else if _, err := time.LoadLocation(*tz); err != nil {
				e.invalid(tp, *tz, err.Error())
			}
		}
	}
	e.nonNegative(p.child("startingDeadlineSeconds"), s.StartingDeadlineSeconds)
	e.nonNegative(p.child("successfulJobsHistoryLimit"), s.SuccessfulJobsHistoryLimit)
	e.nonNegative(p.child("failedJobsHistoryLimit"), s.FailedJobsHistoryLimit)
	switch s.ConcurrencyPolicy {
	case ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace:
	case "":
		e.required(p.child("concurrencyPolicy"), "")
	default:
		e.notSupported(p.child("concurrencyPolicy"), s.ConcurrencyPolicy, ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace)
	}
	jp := p.child("jobTemplate")
	validateMeta(e, &s.JobTemplate.ObjectMeta, jp.child("metadata"), false, 0)
	validateJobSpec(e, &s.JobTemplate.Spec, jp.child("spec"), "", true)
}

// scheduleWarnings returns the warnings validation gives for a valid
// CronJob schedule: an @every interval below a minute runs at most once a
// minute, because Job names are per minute (DESIGN §8).
func scheduleWarnings(s *CronJobSpec, p fieldPath) []fieldErr {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s.Schedule), "@every ")
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(rest))
	if err != nil || d >= time.Minute {
		return nil
	}
	return []fieldErr{{p.child("schedule"), fmt.Sprintf("%q runs at most once a minute: each run's Job is named after its minute", s.Schedule)}}
}
