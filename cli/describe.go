package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// describe prints kubectl-describe-style details of a pod or job.
func (e *env) describe(ctx context.Context, args []string) error {
	fs := e.flags("describe", "describe pod|job|cronjob NAME")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	if err := parse(fs, args); err != nil {
		return err
	}
	kind, name := fs.Arg(0), fs.Arg(1)
	if k, n, ok := strings.Cut(kind, "/"); ok {
		kind, name = k, n
	}
	res, ok := resourceAliases[kind]
	if !ok || name == "" {
		return &usageError{msg: "describe needs pod|job|cronjob NAME", hint: "localjobs describe pod simple-task"}
	}
	src, err := e.openSource(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	now := time.Now()
	switch res {
	case "pods":
		r, err := src.PodRecord(ctx, *ns, name)
		if err != nil {
			return lookupErr(err, "pods", name)
		}
		evs, err := src.Events(ctx, *ns, r.Pod.UID)
		if err != nil {
			return err
		}
		describePod(e.stdout, &r.Pod, evs, now)
	case "jobs":
		j, err := src.Job(ctx, *ns, name)
		if err != nil {
			return lookupErr(err, "jobs.batch", name)
		}
		evs, err := src.Events(ctx, *ns, j.UID)
		if err != nil {
			return err
		}
		describeJob(e.stdout, j, evs, now)
	case "cronjobs":
		cj, err := src.CronJob(ctx, *ns, name)
		if err != nil {
			return lookupErr(err, "cronjobs.batch", name)
		}
		evs, err := src.Events(ctx, *ns, cj.UID)
		if err != nil {
			return err
		}
		runs, err := src.History(ctx, localapi.HistoryQuery{Namespace: *ns, Kind: "cronjob", Name: name})
		if err != nil {
			return err
		}
		describeCronJob(e.stdout, cj, evs, runs, now, time.Local)
	}
	return nil
}

func mapLines(w io.Writer, title string, m map[string]string) {
	if len(m) == 0 {
		fmt.Fprintf(w, "%-16s<none>\n", title+":")
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		t := ""
		if i == 0 {
			t = title + ":"
		}
		fmt.Fprintf(w, "%-16s%s=%s\n", t, k, m[k])
	}
}

const rfc1123z = time.RFC1123Z

func describePod(w io.Writer, p *manifest.Pod, evs []*manifest.Event, now time.Time) {
	fmt.Fprintf(w, "%-16s%s\n", "Name:", p.Name)
	fmt.Fprintf(w, "%-16s%s\n", "Namespace:", p.Namespace)
	fmt.Fprintf(w, "%-16s%d\n", "Priority:", 0)
	fmt.Fprintf(w, "%-16s%s\n", "Service Account:", orDefault(p.Spec.ServiceAccountName, "default"))
	fmt.Fprintf(w, "%-16s%s\n", "Node:", orNone(p.Spec.NodeName))
	if p.Status.StartTime != nil {
		fmt.Fprintf(w, "%-16s%s\n", "Start Time:", p.Status.StartTime.Format(rfc1123z))
	}
	mapLines(w, "Labels", p.Labels)
	mapLines(w, "Annotations", p.Annotations)
	fmt.Fprintf(w, "%-16s%s\n", "Status:", p.Status.Phase)
	if p.Status.Reason != "" {
		fmt.Fprintf(w, "%-16s%s\n", "Reason:", p.Status.Reason)
	}
	if p.Status.Message != "" {
		fmt.Fprintf(w, "%-16s%s\n", "Message:", p.Status.Message)
	}
	fmt.Fprintf(w, "%-16s%s\n", "IP:", p.Status.PodIP)
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			fmt.Fprintf(w, "%-16s%s/%s\n", "Controlled By:", o.Kind, o.Name)
		}
	}
	if len(p.Spec.InitContainers) > 0 {
		fmt.Fprintln(w, "Init Containers:")
		for i := range p.Spec.InitContainers {
			describeContainer(w, &p.Spec.InitContainers[i], statusOf(p.Status.InitContainerStatuses, p.Spec.InitContainers[i].Name))
		}
	}
	fmt.Fprintln(w, "Containers:")
	for i := range p.Spec.Containers {
		describeContainer(w, &p.Spec.Containers[i], statusOf(p.Status.ContainerStatuses, p.Spec.Containers[i].Name))
	}
	fmt.Fprintln(w, "Conditions:")
	fmt.Fprintln(w, "  Type                        Status")
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(w, "  %-27s %s \n", c.Type, c.Status)
	}
	fmt.Fprintf(w, "%-16s<none>\n", "Volumes:")
	fmt.Fprintf(w, "%-16s%s\n", "QoS Class:", p.Status.QOSClass)
	fmt.Fprintf(w, "%-16s%s\n", "Node-Selectors:", "<none>")
	fmt.Fprintf(w, "%-16s%s\n", "Tolerations:", "<none>")
	describeEvents(w, evs, now)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func statusOf(list []manifest.ContainerStatus, name string) *manifest.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

func describeContainer(w io.Writer, c *manifest.Container, cs *manifest.ContainerStatus) {
	fmt.Fprintf(w, "  %s:\n", c.Name)
	if cs != nil && cs.ContainerID != "" {
		fmt.Fprintf(w, "    Container ID:  %s\n", cs.ContainerID)
	}
	fmt.Fprintf(w, "    Image:         %s\n", c.Image)
	if cs != nil {
		fmt.Fprintf(w, "    Image ID:      %s\n", cs.ImageID)
	}
	if len(c.Command) > 0 {
		fmt.Fprintln(w, "    Command:")
		for _, a := range c.Command {
			fmt.Fprintf(w, "      %s\n", a)
		}
	}
	if len(c.Args) > 0 {
		fmt.Fprintln(w, "    Args:")
		for _, a := range c.Args {
			fmt.Fprintf(w, "      %s\n", a)
		}
	}
	if cs != nil {
		describeState(w, "State", cs.State)
		if cs.LastState.Terminated != nil {
			describeState(w, "Last State", cs.LastState)
		}
		fmt.Fprintf(w, "    Ready:          %s\n", map[bool]string{true: "True", false: "False"}[cs.Ready])
		fmt.Fprintf(w, "    Restart Count:  %d\n", cs.RestartCount)
	}
	if lim := c.Resources.Limits; len(lim) > 0 {
		fmt.Fprintln(w, "    Limits:")
		for _, k := range []string{"cpu", "memory"} {
			if q, ok := lim[k]; ok {
				fmt.Fprintf(w, "      %s:  %s\n", k, q.String())
			}
		}
	}
	if len(c.Env) == 0 {
		fmt.Fprintln(w, "    Environment:    <none>")
	} else {
		fmt.Fprintln(w, "    Environment:")
		for _, e := range c.Env {
			v := e.Value
			if e.ValueFrom != nil {
				v = "<set from a reference>"
			}
			fmt.Fprintf(w, "      %s:  %s\n", e.Name, v)
		}
	}
	fmt.Fprintln(w, "    Mounts:         <none>")
}

func describeState(w io.Writer, title string, s manifest.ContainerState) {
	pad := fmt.Sprintf("    %-16s", title+":")
	switch {
	case s.Running != nil:
		fmt.Fprintf(w, "%sRunning\n", pad)
		fmt.Fprintf(w, "      Started:      %s\n", s.Running.StartedAt.Format(rfc1123z))
	case s.Waiting != nil:
		fmt.Fprintf(w, "%sWaiting\n", pad)
		fmt.Fprintf(w, "      Reason:       %s\n", s.Waiting.Reason)
		if s.Waiting.Message != "" {
			fmt.Fprintf(w, "      Message:      %s\n", s.Waiting.Message)
		}
	case s.Terminated != nil:
		t := s.Terminated
		fmt.Fprintf(w, "%sTerminated\n", pad)
		fmt.Fprintf(w, "      Reason:       %s\n", t.Reason)
		if t.Message != "" {
			fmt.Fprintf(w, "      Message:      %s\n", t.Message)
		}
		fmt.Fprintf(w, "      Exit Code:    %d\n", t.ExitCode)
		fmt.Fprintf(w, "      Started:      %s\n", t.StartedAt.Format(rfc1123z))
		fmt.Fprintf(w, "      Finished:     %s\n", t.FinishedAt.Format(rfc1123z))
	}
}

func describeEvents(w io.Writer, evs []*manifest.Event, now time.Time) {
	if len(evs) == 0 {
		fmt.Fprintln(w, "Events:  <none>")
		return
	}
	fmt.Fprintln(w, "Events:")
	tw := newTable(w)
	fmt.Fprintln(tw, "  Type\tReason\tAge\tFrom\tMessage")
	fmt.Fprintln(tw, "  ----\t------\t----\t----\t-------")
	for _, e := range evs {
		msg := e.Message
		if e.InvolvedObject.FieldPath != "" {
			msg = e.InvolvedObject.FieldPath + ": " + msg
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Type, e.Reason, eventAge(e, now), e.Source.Component, msg)
	}
	tw.Flush()
}

func describeJob(w io.Writer, j *manifest.Job, evs []*manifest.Event, now time.Time) {
	fmt.Fprintf(w, "%-26s%s\n", "Name:", j.Name)
	fmt.Fprintf(w, "%-26s%s\n", "Namespace:", j.Namespace)
	if j.Spec.Selector != nil {
		var kv []string
		for k, v := range j.Spec.Selector.MatchLabels {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		fmt.Fprintf(w, "%-26s%s\n", "Selector:", strings.Join(kv, ","))
	}
	fmt.Fprintf(w, "%-26s%d\n", "Parallelism:", deref(j.Spec.Parallelism, 1))
	if j.Spec.Completions != nil {
		fmt.Fprintf(w, "%-26s%d\n", "Completions:", *j.Spec.Completions)
	} else {
		fmt.Fprintf(w, "%-26s<unset>\n", "Completions:")
	}
	fmt.Fprintf(w, "%-26s%s\n", "Completion Mode:", derefS(j.Spec.CompletionMode, "NonIndexed"))
	fmt.Fprintf(w, "%-26s%s\n", "Suspend:", map[bool]string{true: "true", false: "false"}[j.Spec.Suspend != nil && *j.Spec.Suspend])
	fmt.Fprintf(w, "%-26s%d\n", "Backoff Limit:", deref(j.Spec.BackoffLimit, 6))
	if j.Status.StartTime != nil {
		fmt.Fprintf(w, "%-26s%s\n", "Start Time:", j.Status.StartTime.Format(rfc1123z))
	}
	if j.Status.CompletionTime != nil {
		fmt.Fprintf(w, "%-26s%s\n", "Completed At:", j.Status.CompletionTime.Format(rfc1123z))
		fmt.Fprintf(w, "%-26s%s\n", "Duration:", jobDuration(j, now))
	}
	fmt.Fprintf(w, "%-26s%d Active (%d Ready) / %d Succeeded / %d Failed\n", "Pods Statuses:", j.Status.Active, deref(j.Status.Ready, 0), j.Status.Succeeded, j.Status.Failed)
	if len(j.Status.Conditions) > 0 {
		fmt.Fprintln(w, "Conditions:")
		fmt.Fprintln(w, "  Type                Status  Reason")
		for _, c := range j.Status.Conditions {
			fmt.Fprintf(w, "  %-19s %-7s %s\n", c.Type, c.Status, c.Reason)
		}
	}
	fmt.Fprintln(w, "Pod Template:")
	fmt.Fprintln(w, "  Containers:")
	for _, c := range j.Spec.Template.Spec.Containers {
		fmt.Fprintf(w, "   %s:\n    Image:      %s\n", c.Name, c.Image)
	}
	describeEvents(w, evs, now)
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func derefS(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

// lookupErr turns a failed lookup into kubectl's NotFound message when the
// object does not exist, and passes any other error through.
func lookupErr(err error, resource, name string) error {
	if errors.Is(err, localapi.ErrNotFound) {
		return notFound(resource, name)
	}
	return err
}

// notFound is kubectl's message for a missing object.
func notFound(resource, name string) error {
	return fmt.Errorf("Error from server (NotFound): %s %q not found", resource, name)
}

// podsOfJob lists a Job's pods.
func podsOfJob(ctx context.Context, src source, j *manifest.Job) ([]*manifest.Pod, error) {
	return src.PodsOfJob(ctx, j.Namespace, j.Name)
}
