package main

import (
	"fmt"
	"strconv"
	"strings"
)

// markerPrefix starts localjobs' line that stands for elided output
// (state/logfile.go).
const markerPrefix = "[localjobs: "

// lineCheck is what one captured log shows against what its container
// printed: lines "TAG N" for N = 1, 2, …
type lineCheck struct {
	Lost    []int    // numbers missing
	Doubled []int    // numbers seen more than once
	Foreign []string // lines that are neither ours nor a marker
	Markers int      // localjobs' elision marker lines
	Max     int      // highest number seen
}

// checkLines reads a captured log. want > 0: the container printed 1..want;
// want == 0: it may have been stopped, so a prefix 1..Max is whole.
func checkLines(text, tag string, want int) lineCheck {
	var c lineCheck
	seen := map[int]int{}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, markerPrefix) {
			c.Markers++
			continue
		}
		rest, ok := strings.CutPrefix(l, tag+" ")
		n, err := strconv.Atoi(rest)
		if !ok || err != nil || n < 1 {
			c.Foreign = append(c.Foreign, l)
			continue
		}
		seen[n]++
		if seen[n] == 2 {
			c.Doubled = append(c.Doubled, n)
		}
		c.Max = max(c.Max, n)
	}
	upTo := want
	if upTo <= 0 {
		upTo = c.Max
	}
	for n := 1; n <= upTo; n++ {
		if seen[n] == 0 {
			c.Lost = append(c.Lost, n)
		}
	}
	return c
}

// whole reports whether nothing was lost, doubled or mixed in; markers
// count as damage unless allowMarkers.
func (c lineCheck) whole(allowMarkers bool) bool {
	return len(c.Lost) == 0 && len(c.Doubled) == 0 && len(c.Foreign) == 0 && (allowMarkers || c.Markers == 0)
}

// String is the check in a few words ("whole", or what is wrong).
func (c lineCheck) String() string {
	var p []string
	if len(c.Lost) > 0 {
		p = append(p, fmt.Sprintf("%d lines lost (%s)", len(c.Lost), ranges(c.Lost)))
	}
	if len(c.Doubled) > 0 {
		p = append(p, fmt.Sprintf("%d lines doubled (%s)", len(c.Doubled), ranges(c.Doubled)))
	}
	if len(c.Foreign) > 0 {
		p = append(p, fmt.Sprintf("%d foreign lines (first %q)", len(c.Foreign), c.Foreign[0]))
	}
	if c.Markers > 0 {
		p = append(p, fmt.Sprintf("%d elision markers", c.Markers))
	}
	if len(p) == 0 {
		return "whole"
	}
	return strings.Join(p, ", ")
}

// ranges writes sorted numbers as "1-3,7".
func ranges(ns []int) string {
	var b strings.Builder
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if i == j {
			fmt.Fprintf(&b, "%d", ns[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", ns[i], ns[j])
		}
		i = j + 1
	}
	return b.String()
}
