package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var (
	monthNames = []string{"", "January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
	dayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// Describe returns an English sentence for a schedule in the style of
// crontab.guru, e.g. "At 02:30 on every day-of-week from Monday through
// Friday." It assumes the expression parses (see Parse).
func Describe(expr string) string {
	e := strings.TrimSpace(expr)
	low := strings.ToLower(e)
	if rest, ok := strings.CutPrefix(low, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return "Every " + strings.TrimSpace(rest) + "."
		}
		if d < time.Second {
			d = time.Second
		}
		d = d.Truncate(time.Second)
		return fmt.Sprintf("Every %s, counted from the last scheduled run (or the CronJob's creation), not aligned to the clock.", durationWords(d))
	}
	if d, ok := descriptors[low]; ok {
		e = d
	}
	f := strings.Fields(e)
	if len(f) != 5 {
		return e
	}
	for i := range f {
		if f[i] == "?" {
			f[i] = "*"
		}
	}
	var b strings.Builder
	b.WriteString("At ")
	minute, hour := f[0], f[1]
	switch {
	case isNumber(minute) && isNumber(hour):
		h, _ := strconv.Atoi(hour)
		m, _ := strconv.Atoi(minute)
		fmt.Fprintf(&b, "%02d:%02d", h, m)
	case isNumber(minute) && hour == "*":
		fmt.Fprintf(&b, "minute %s", trimZeros(minute))
	case minute == "*" && hour == "*":
		b.WriteString("every minute")
	default:
		b.WriteString(fieldWords(minute, "minute", 0, 59, nil))
		if hour != "*" {
			b.WriteString(" past ")
			b.WriteString(fieldWords(hour, "hour", 0, 23, nil))
		}
	}
	dom, month, dow := f[2], f[3], f[4]
	if dom != "*" {
		b.WriteString(" on ")
		b.WriteString(fieldWords(dom, "day-of-month", 1, 31, nil))
	}
	if dow != "*" {
		if dom != "*" {
			b.WriteString(" and")
		}
		b.WriteString(" on ")
		b.WriteString(fieldWords(dow, "day-of-week", 0, 6, dayNames))
	}
	if month != "*" {
		b.WriteString(" in ")
		b.WriteString(fieldWords(month, "month", 1, 12, monthNames))
	}
	b.WriteString(".")
	return b.String()
}

// durationWords prints 1h30m0s as "1 hour 30 minutes".
func durationWords(d time.Duration) string {
	parts := []struct {
		n    int64
		unit string
	}{{int64(d / time.Hour), "hour"}, {int64(d/time.Minute) % 60, "minute"}, {int64(d/time.Second) % 60, "second"}}
	var out []string
	for _, p := range parts {
		switch {
		case p.n == 1:
			out = append(out, "1 "+p.unit)
		case p.n > 1:
			out = append(out, fmt.Sprintf("%d %ss", p.n, p.unit))
		}
	}
	return strings.Join(out, " ")
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

func trimZeros(s string) string {
	n, err := strconv.Atoi(s)
	if err != nil {
		return s
	}
	return strconv.Itoa(n)
}

// fieldWords describes one field: "minute 5", "minute 1, 2, and 3", "every
// minute from 1 through 5", "every 5th minute", "Monday and Friday"…
func fieldWords(field, unit string, lo, hi int, names []string) string {
	items := strings.Split(field, ",")
	var words []string
	for _, it := range items {
		words = append(words, itemWords(it, unit, lo, hi, names))
	}
	// "minute 1 and 2" rather than "minute 1 and minute 2".
	if names == nil && len(words) > 1 {
		allSingle := true
		for _, it := range items {
			if !isNumber(it) {
				allSingle = false
			}
		}
		if allSingle {
			for i := range words {
				words[i] = strings.TrimPrefix(words[i], unit+" ")
			}
			return unit + " " + joinAnd(words)
		}
	}
	return joinAnd(words)
}

func joinAnd(w []string) string {
	switch len(w) {
	case 0:
		return ""
	case 1:
		return w[0]
	case 2:
		return w[0] + " and " + w[1]
	}
	return strings.Join(w[:len(w)-1], ", ") + ", and " + w[len(w)-1]
}

// itemWords describes one comma-separated item of a field.
func itemWords(item, unit string, lo, hi int, names []string) string {
	rng, stepS, hasStep := strings.Cut(item, "/")
	step, _ := strconv.Atoi(stepS)
	name := func(s string) string {
		n, ok := fieldValue(s, names)
		if !ok {
			return s
		}
		if names != nil && n >= 0 && n < len(names) {
			return names[n]
		}
		return strconv.Itoa(n)
	}
	if !hasStep || step == 1 {
		switch {
		case rng == "*":
			return "every " + unit
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			return fmt.Sprintf("every %s from %s through %s", unit, name(a), name(b))
		case names != nil:
			return name(rng)
		}
		return unit + " " + name(rng)
	}
	every := fmt.Sprintf("every %s %s", ordinal(step), unit)
	switch {
	case rng == "*":
		return every
	case strings.Contains(rng, "-"):
		a, b, _ := strings.Cut(rng, "-")
		return fmt.Sprintf("%s from %s through %s", every, name(a), name(b))
	}
	last := strconv.Itoa(hi)
	if names != nil {
		last = names[hi]
	}
	return fmt.Sprintf("%s from %s through %s", every, name(rng), last)
}

// fieldValue reads a number or a three-letter name (case-insensitive).
func fieldValue(s string, names []string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	for i, full := range names {
		if len(full) >= 3 && strings.EqualFold(full[:3], s) {
			return i, true
		}
	}
	return 0, false
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}
