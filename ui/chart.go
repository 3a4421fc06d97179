package ui

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// chart is a CronJob's run history as an inline SVG bar chart: one bar per
// run, its height the run's duration, its class (colour) and glyph the
// outcome, and a <title> per bar. The runs table next to it carries the
// same data, with links to the Jobs, for whoever cannot see the chart (the
// chart is one image to a screen reader, so it holds no links).
type chart struct {
	Width, Height int
	// The plot area.
	Left, Top, Right, Bottom int
	Bars                     []chartBar
	YTicks                   []chartTick
	XLabels                  []chartTick
	// Label describes the whole chart for a screen reader.
	Label string
	// Shown is how many of Total runs the chart shows (the newest).
	Shown, Total int
}

type chartBar struct {
	X, Y, W, H float64
	Class      string // ok, fail, run
	Glyph      string // drawn above failed and running bars
	GlyphX     float64
	GlyphY     float64
	Title      string
}

type chartTick struct {
	Pos    float64
	Label  string
	Anchor string // text-anchor of an x label
}

// chartRuns is how many runs a chart shows at most; chartMinSlots keeps a
// few runs from turning into wide slabs.
const (
	chartRuns     = 40
	chartMinSlots = 20
	// chartLabelGap is the least room between two time labels.
	chartLabelGap = 96
)

// durationSteps are the y-axis steps a chart picks from.
var durationSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// buildChart lays out the chart of runs (oldest first) as of now, times
// in loc.
func buildChart(runs []Run, now time.Time, loc *time.Location) chart {
	c := chart{Width: 1100, Height: 250, Left: 56, Top: 24, Right: 1084, Bottom: 214, Total: len(runs)}
	if len(runs) > chartRuns {
		runs = runs[len(runs)-chartRuns:]
	}
	c.Shown = len(runs)

	var longest time.Duration
	failed := 0
	for _, r := range runs {
		longest = max(longest, r.Duration(now))
		if r.Outcome == OutcomeFailed {
			failed++
		}
	}
	step := durationSteps[len(durationSteps)-1]
	for _, s := range durationSteps {
		if longest <= 4*s {
			step = s
			break
		}
	}
	ticks := int((longest + step - 1) / step)
	if ticks < 1 {
		ticks = 1
	}
	top := time.Duration(ticks) * step
	plotH := float64(c.Bottom - c.Top)
	for i := 0; i <= ticks; i++ {
		d := time.Duration(i) * step
		c.YTicks = append(c.YTicks, chartTick{Pos: float64(c.Bottom) - plotH*float64(d)/float64(top), Label: shortDuration(d)})
	}

	slots := max(len(runs), chartMinSlots)
	slot := float64(c.Right-c.Left) / float64(slots)
	w := slot * 0.7
	for i, r := range runs {
		d := r.Duration(now)
		h := plotH * float64(d) / float64(top)
		h = max(h, 2) // a run of 0s still shows
		b := chartBar{X: float64(c.Left) + slot*float64(i) + (slot-w)/2, W: w, H: h, Y: float64(c.Bottom) - h,
			Title: runSummary(r, now, loc)}
		switch r.Outcome {
		case OutcomeComplete:
			b.Class = "ok"
		case OutcomeFailed:
			b.Class, b.Glyph = "fail", glyphs["fail"]
		default:
			b.Class, b.Glyph = "run", glyphs["run"]
		}
		b.GlyphX, b.GlyphY = b.X+w/2, b.Y-5
		c.Bars = append(c.Bars, b)
	}
	// Time labels under the bars, far enough apart not to overlap: every
	// few bars, and the last one.
	every := max(1, int(chartLabelGap/slot+0.999))
	for i, r := range runs {
		last := i == len(runs)-1
		if !last && (i%every != 0 || len(runs)-1-i < every) {
			continue
		}
		b := c.Bars[i]
		t := chartTick{Pos: b.X + b.W/2, Label: timeAt(r.Start, now, loc).Text, Anchor: "middle"}
		if i == 0 {
			t.Pos, t.Anchor = b.X, "start"
		}
		c.XLabels = append(c.XLabels, t)
	}
	c.Label = fmt.Sprintf("Duration of the last %d runs, oldest on the left: %d failed, %d complete or running; the longest took %s.",
		len(runs), failed, len(runs)-failed, duration.HumanDuration(longest))
	if len(runs) == 1 {
		c.Label = "Duration of the only run: " + runSummary(runs[0], now, loc) + "."
	}
	return c
}

// shortDuration labels a y tick: 0, 30s, 2m, 1h30m.
func shortDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour && d%time.Minute == 0:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
