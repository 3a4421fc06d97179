package cli

import (
	"io"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

func describeJob(w io.Writer, j *manifest.Job, evs []*manifest.Event, events bool, now time.Time) {
	d := newDescribeWriter(w)
	d.line(0, "Name:\t%s\n", j.Name)
	d.line(0, "Namespace:\t%s\n", j.Namespace)
	if j.Spec.Selector != nil {
		d.line(0, "Selector:\t%s\n", selectorString(j.Spec.Selector))
	}
	d.mapLines("Labels", j.Labels)
	d.mapLines("Annotations", j.Annotations)
	if c := controlledBy(j.OwnerReferences); c != "" {
		d.line(0, "Controlled By:\t%s\n", c)
	}
	d.line(0, "Parallelism:\t%d\n", deref(j.Spec.Parallelism, 1))
	if j.Spec.Completions != nil {
		d.line(0, "Completions:\t%d\n", *j.Spec.Completions)
	} else {
		d.line(0, "Completions:\t<unset>\n")
	}
	d.line(0, "Completion Mode:\t%s\n", derefS(j.Spec.CompletionMode, "NonIndexed"))
	d.line(0, "Suspend:\t%t\n", j.Spec.Suspend != nil && *j.Spec.Suspend)
	d.line(0, "Backoff Limit:\t%d\n", deref(j.Spec.BackoffLimit, 6))
	if t := j.Spec.TTLSecondsAfterFinished; t != nil {
		d.line(0, "TTL Seconds After Finished:\t%d\n", *t)
	}
	if j.Status.StartTime != nil {
		d.line(0, "Start Time:\t%s\n", j.Status.StartTime.Format(rfc1123z))
	}
	if j.Status.CompletionTime != nil {
		d.line(0, "Completed At:\t%s\n", j.Status.CompletionTime.Format(rfc1123z))
		if j.Status.StartTime != nil {
			d.line(0, "Duration:\t%s\n", jobDuration(j, now))
		}
	}
	if a := j.Spec.ActiveDeadlineSeconds; a != nil {
		d.line(0, "Active Deadline Seconds:\t%ds\n", *a)
	}
	if j.Status.Ready == nil {
		d.line(0, "Pods Statuses:\t%d Active / %d Succeeded / %d Failed\n", j.Status.Active, j.Status.Succeeded, j.Status.Failed)
	} else {
		d.line(0, "Pods Statuses:\t%d Active (%d Ready) / %d Succeeded / %d Failed\n", j.Status.Active, *j.Status.Ready, j.Status.Succeeded, j.Status.Failed)
	}
	if derefS(j.Spec.CompletionMode, "") == "Indexed" {
		d.line(0, "Completed Indexes:\t%s\n", orNone(j.Status.CompletedIndexes))
	}
	// Not in kubectl's describe (which shows conditions only as events):
	// why a Job ended, in one place.
	if len(j.Status.Conditions) > 0 {
		d.line(0, "Conditions:\n")
		d.line(1, "Type\tStatus\tReason\n")
		for _, c := range j.Status.Conditions {
			d.line(1, "%s\t%s\t%s\n", c.Type, c.Status, c.Reason)
		}
	}
	t := &j.Spec.Template
	d.line(0, "Pod Template:\n")
	d.mapLines("  Labels", t.Labels)
	if len(t.Annotations) > 0 {
		d.mapLines("  Annotations", t.Annotations)
	}
	if len(t.Spec.InitContainers) > 0 {
		describeContainers(d, "  ", "Init Containers", t.Spec.InitContainers, nil, nil)
	}
	describeContainers(d, "  ", "Containers", t.Spec.Containers, nil, nil)
	describeVolumes(d, "  ", t.Spec.Volumes)
	d.mapLines("  Node-Selectors", t.Spec.NodeSelector)
	describeTolerations(d, "  Tolerations", t.Spec.Tolerations)
	if events {
		describeEvents(d, evs, now)
	}
	d.flush()
}
