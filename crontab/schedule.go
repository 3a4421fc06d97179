package crontab

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/localjobs/localjobs/schedule"
)

// RebootSchedule is the schedule of a CronJob converted from @reboot: the
// 31st of February, which never comes, so the CronJob runs only through its
// localjobs.io/run-on-start annotation, once each time the daemon starts.
// Kubernetes accepts it (robfig/cron parses it), and localjobs' CronJob
// controller treats a never-firing schedule with run-on-start as boot-only.
const RebootSchedule = "0 0 31 2 *"

var dowNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// convertSchedule turns cron's time fields (or macro) into a Kubernetes
// schedule with the same meaning, or says why there is none.
func convertSchedule(fields []string, loc *time.Location) (string, error) {
	if len(fields) == 1 {
		m := strings.ToLower(fields[0])
		if m == "@reboot" {
			return RebootSchedule, nil
		}
		return m, nil // Kubernetes has cron's other macros
	}
	names := [5]string{"minute", "hour", "day-of-month", "month", "day-of-week"}
	out := slices.Clone(fields)
	for i, f := range fields {
		for _, item := range strings.Split(f, ",") {
			rng, _, hasStep := strings.Cut(item, "/")
			if strings.ContainsAny(item, "?#") {
				return "", fmt.Errorf("%s field %q: %q is not cron syntax", names[i], f, item)
			}
			if hasStep && rng != "*" && !strings.Contains(rng, "-") {
				// Kubernetes reads N/S as N-max/S; cron refuses it.
				return "", fmt.Errorf("%s field %q: cron does not accept a step after a single value (%s); write a range such as %s-MAX/STEP", names[i], f, item, rng)
			}
		}
	}
	dow, err := dowWithoutSeven(fields[4])
	if err != nil {
		return "", fmt.Errorf("day-of-week field %q: %w", fields[4], err)
	}
	out[4] = dow
	// cron matches the day when both day fields match if either field
	// starts with *, and when either matches otherwise; Kubernetes (robfig)
	// decides by whether either field holds a plain * (or */1) item.
	cronAnd := cronStar(fields[2]) || cronStar(fields[4])
	if robfigAnd := robfigStar(out[2]) || robfigStar(out[4]); cronAnd != robfigAnd {
		if cronAnd {
			return "", fmt.Errorf("cron runs on the days that match both day-of-month %q and day-of-week %q (a field that starts with * makes it both); Kubernetes would run on the days that match either: no Kubernetes schedule says the same", fields[2], fields[4])
		}
		return "", fmt.Errorf("cron runs on the days that match either day-of-month %q or day-of-week %q; Kubernetes would run on the days that match both: no Kubernetes schedule says the same", fields[2], fields[4])
	}
	expr := strings.Join(out, " ")
	if _, err := schedule.Parse(expr, loc, schedule.PolicyLocaljobs); err != nil {
		return "", err
	}
	return expr, nil
}

// cronStar is cron's DOM_STAR/DOW_STAR: the field starts with *.
func cronStar(f string) bool { return strings.HasPrefix(f, "*") }

// robfigStar is robfig/cron's star bit: an item is * (or ?) with no step
// above 1.
func robfigStar(f string) bool {
	for _, item := range strings.Split(f, ",") {
		rng, step, hasStep := strings.Cut(item, "/")
		if rng == "*" || rng == "?" {
			if n, err := strconv.Atoi(step); !hasStep || (err == nil && n <= 1) {
				return true
			}
		}
	}
	return false
}

// dowWithoutSeven rewrites a day-of-week field so Sunday is 0 only: cron
// accepts 7 for Sunday, Kubernetes does not. A field that names 7 becomes
// the list of its days, e.g. 5-7 → 0,5-6. Fields starting with * are kept:
// cron reads * as 0-7 there, which is the same days as Kubernetes' 0-6.
func dowWithoutSeven(f string) (string, error) {
	if cronStar(f) || !mentionsSeven(f) {
		return f, nil
	}
	var days [8]bool
	for _, item := range strings.Split(f, ",") {
		rng, stepS, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepS)
			if err != nil || n < 1 {
				return "", fmt.Errorf("bad step %q", stepS)
			}
			step = n
		}
		lo, hi := 0, 7
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = dowValue(a); err != nil {
				return "", err
			}
			hi = lo
			if isRange {
				if hi, err = dowValue(b); err != nil {
					return "", err
				}
			}
			if lo > hi {
				return "", fmt.Errorf("range %s runs backwards", rng)
			}
		}
		for d := lo; d <= hi; d += step {
			days[d%7] = true
		}
	}
	return compress(days[:7]), nil
}

func mentionsSeven(f string) bool {
	for _, item := range strings.Split(f, ",") {
		rng, _, _ := strings.Cut(item, "/")
		a, b, _ := strings.Cut(rng, "-")
		if a == "7" || b == "7" {
			return true
		}
	}
	return false
}

func dowValue(s string) (int, error) {
	if i := slices.Index(dowNames, strings.ToLower(s)); i >= 0 {
		return i, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 7 {
		return 0, fmt.Errorf("%q is not a day of the week (0-7 or sun-sat)", s)
	}
	return n, nil
}

// compress renders set values as a list of values and ranges: 0,2-4,6.
func compress(set []bool) string {
	var parts []string
	for i := 0; i < len(set); i++ {
		if !set[i] {
			continue
		}
		j := i
		for j+1 < len(set) && set[j+1] {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(i))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", i, j))
		}
		i = j
	}
	return strings.Join(parts, ",")
}
