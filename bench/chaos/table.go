package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// outcome is one row of the table.
type outcome struct {
	Scenario string
	Pass     bool
	Lost     []string // what was lost or duplicated; empty means nothing
	Took     time.Duration
}

// fail records a problem (and makes the row FAIL).
func (o *outcome) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	logf("FAIL %s", msg)
	o.Lost = append(o.Lost, msg)
	o.Pass = false
}

// failMany records problems of one kind: each in full on stderr, one
// summary line in the table.
func (o *outcome) failMany(summary string, details []string) {
	if len(details) == 0 {
		return
	}
	for _, d := range details {
		logf("FAIL %s", d)
	}
	o.Lost = append(o.Lost, summary)
	o.Pass = false
}

// lostColumn is the table's third column: "nothing", or the problems
// joined, each cut to stay readable (the full text is on stderr).
func (o outcome) lostColumn() string {
	if len(o.Lost) == 0 {
		return "nothing"
	}
	const max = 3
	var parts []string
	for i, l := range o.Lost {
		if i == max {
			parts = append(parts, fmt.Sprintf("+%d more", len(o.Lost)-max))
			break
		}
		if len(l) > 70 {
			l = l[:67] + "..."
		}
		parts = append(parts, l)
	}
	return strings.Join(parts, "; ")
}

// printTable prints the rows as one table.
func printTable(w io.Writer, rows []outcome) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, " scenario\t result\t lost / duplicated\t time\t")
	for _, r := range rows {
		res := "FAIL"
		if r.Pass {
			res = "PASS"
		}
		fmt.Fprintf(tw, " %s\t %s\t %s\t %s\t\n", r.Scenario, res, r.lostColumn(), r.Took.Round(time.Second))
	}
	tw.Flush()
}
