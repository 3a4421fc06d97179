package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/localjobs/localjobs/kubectl"
	"github.com/localjobs/localjobs/manifest"
)

// writeTable writes kind's rows (and, with header, its column headers) to
// tw, with a NAMESPACE column under -A and kind prefixes for get all.
func writeTable(tw io.Writer, k *resourceKind, objs []any, now time.Time, opts getOptions, header bool) {
	if opts.out.kind == "custom-columns" {
		printCustomColumns(tw, opts.out.columns, objs, header && !opts.noHeaders)
		return
	}
	wide := opts.out.kind == "wide"
	heads, rows := k.table(objs, now, wide)
	if wide {
		heads = append(heads, "SOURCE")
		for i := range rows {
			m := metaOf(objs[i])
			rows[i] = append(rows[i], orNone(opts.sources[kindOf(objs[i])+"/"+m.Namespace+"/"+m.Name]))
		}
	}
	if opts.showLabels {
		heads = append(heads, "LABELS")
		for i := range rows {
			rows[i] = append(rows[i], labelsColumn(metaOf(objs[i]).Labels))
		}
	}
	if header && !opts.noHeaders {
		if opts.allNamespaces {
			fmt.Fprint(tw, "NAMESPACE\t")
		}
		fmt.Fprintln(tw, strings.Join(heads, "\t"))
	}
	for i, row := range rows {
		if opts.allNamespaces {
			fmt.Fprintf(tw, "%s\t", metaOf(objs[i]).Namespace)
		}
		if opts.showKind {
			row[0] = k.prefix + "/" + row[0]
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
}

func podTable(objs []any, now time.Time, wide bool) ([]string, [][]string) {
	heads := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
	if wide {
		heads = append(heads, "IP", "NODE", "NOMINATED NODE", "READINESS GATES")
	}
	var rows [][]string
	for _, o := range objs {
		p := o.(*manifest.Pod)
		r := podRow(p, now)
		row := []string{r.Name, r.Ready, r.Status, r.Restarts, r.Age}
		if wide {
			row = append(row, orNone(p.Status.PodIP), orNone(p.Spec.NodeName), orNone(p.Status.NominatedNodeName), readinessGates(p))
		}
		rows = append(rows, row)
	}
	return heads, rows
}

// readinessGates is kubectl's READINESS GATES column: ready/total, or
// <none> without gates.
func readinessGates(p *manifest.Pod) string {
	if len(p.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	ready := 0
	for _, g := range p.Spec.ReadinessGates {
		for _, c := range p.Status.Conditions {
			if string(c.Type) == string(g.ConditionType) && c.Status == "True" {
				ready++
			}
		}
	}
	return fmt.Sprintf("%d/%d", ready, len(p.Spec.ReadinessGates))
}

func jobTable(objs []any, now time.Time, wide bool) ([]string, [][]string) {
	heads := []string{"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"}
	if wide {
		heads = append(heads, "CONTAINERS", "IMAGES", "SELECTOR")
	}
	var rows [][]string
	for _, o := range objs {
		j := o.(*manifest.Job)
		row := []string{j.Name, kubectl.JobStatus(j), kubectl.JobCompletions(j), jobDuration(j, now), age(j.CreationTimestamp, now)}
		if wide {
			names, images := containerColumns(j.Spec.Template.Spec.Containers)
			sel := "<none>"
			if j.Spec.Selector != nil {
				sel = selectorString(j.Spec.Selector)
			}
			row = append(row, names, images, sel)
		}
		rows = append(rows, row)
	}
	return heads, rows
}

func cronJobTable(objs []any, now time.Time, wide bool) ([]string, [][]string) {
	heads := []string{"NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"}
	if wide {
		heads = append(heads, "CONTAINERS", "IMAGES", "SELECTOR")
	}
	var rows [][]string
	for _, o := range objs {
		cj := o.(*manifest.CronJob)
		r := cronJobRow(cj, now)
		row := []string{r.Name, r.Schedule, r.TimeZone, r.Suspend, r.Active, r.LastSchedule, r.Age}
		if wide {
			names, images := containerColumns(cj.Spec.JobTemplate.Spec.Template.Spec.Containers)
			sel := "<none>"
			if s := cj.Spec.JobTemplate.Spec.Selector; s != nil {
				sel = selectorString(s)
			}
			row = append(row, names, images, sel)
		}
		rows = append(rows, row)
	}
	return heads, rows
}

// labelsColumn is the LABELS column of --show-labels: key=value pairs
// sorted by key, or <none>.
func labelsColumn(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	kv := make([]string, 0, len(m))
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func containerColumns(cs []manifest.Container) (names, images string) {
	var n, i []string
	for _, c := range cs {
		n = append(n, c.Name)
		i = append(i, c.Image)
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}
