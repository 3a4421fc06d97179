package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// describeTarget is one argument of describe: an object of a kind, or
// (name "") every object of the kind.
type describeTarget struct {
	kind *resourceKind
	name string
}

// describe prints kubectl-describe-style details of pods, jobs or
// cronjobs: `describe KIND NAME...`, `describe KIND/NAME`, every object of
// the kind with no NAME (or those matching -l), and, as kubectl, the
// objects whose names start with NAME when none is called NAME. Events are
// shown for a single object (--show-events to force them on or off).
func (e *env) describe(ctx context.Context, args []string) error {
	fs := e.flags("describe", "describe pod|job|cronjob [NAME...] | KIND/NAME... [-n NS|-A] [-l SEL] [--show-events]")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	all := fs.BoolP("all-namespaces", "A", false, "all namespaces")
	sel := fs.StringP("selector", "l", "", "only objects matching this label selector")
	showEvents := fs.Bool("show-events", true, "print the events of each object (on by default when one object is described)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{msg: "describe needs a resource type: pod, job or cronjob", hint: "localjobs describe pod simple-task"}
	}
	selector, err := parseSelector(*sel)
	if err != nil {
		return err
	}
	targets, err := parseDescribeTargets(fs.Args())
	if err != nil {
		return err
	}
	namespace := *ns
	if *all {
		namespace = ""
	}
	src, err := e.openSource(ctx)
	if err != nil {
		return err
	}
	defer src.Close()

	objs, errs, err := describeObjects(ctx, src, targets, *ns, namespace, selector)
	if err != nil {
		return err
	}
	events := len(objs) == 1
	if fs.Changed("show-events") {
		events = *showEvents
	}
	if err := e.describeEach(ctx, src, objs, events); err != nil {
		return err
	}
	if len(objs) == 0 && len(errs) == 0 {
		e.noResources(*all, *ns)
	}
	return e.lastError(errs)
}

// parseDescribeTargets reads describe's arguments: "pod a b", "pod/a
// job/b", or "pods" (all of them).
func parseDescribeTargets(args []string) ([]describeTarget, error) {
	var targets []describeTarget
	if strings.Contains(args[0], "/") {
		for _, a := range args {
			kind, name, _ := strings.Cut(a, "/")
			k := kindNamed(kind)
			if k == nil || name == "" {
				return nil, &usageError{msg: fmt.Sprintf("describe supports pod/NAME, job/NAME and cronjob/NAME, not %q", a), hint: "localjobs describe pod/simple-task"}
			}
			targets = append(targets, describeTarget{k, name})
		}
		return targets, nil
	}
	k := kindNamed(args[0])
	if k == nil {
		return nil, &usageError{msg: fmt.Sprintf("the server doesn't have a resource type %q", args[0]), hint: "localjobs describe pod|job|cronjob [NAME]"}
	}
	for _, n := range args[1:] {
		targets = append(targets, describeTarget{k, n})
	}
	if len(targets) == 0 {
		targets = []describeTarget{{k, ""}}
	}
	return targets, nil
}

// describeObjects finds the objects of the targets: a named one in ns, or
// else (every object of the kind, or as kubectl those whose name starts
// with a name that matched none) the listed ones in namespace ("" = all)
// that match selector. A name that matches nothing is a NotFound error in
// errs.
func describeObjects(ctx context.Context, src source, targets []describeTarget, ns, namespace string, selector labels.Selector) (objs []any, errs []error, err error) {
	for _, t := range targets {
		if t.name != "" {
			o, err := t.kind.get(ctx, src, ns, t.name)
			switch {
			case err == nil:
				objs = append(objs, o)
				continue
			case !errors.Is(err, localapi.ErrNotFound):
				return nil, nil, err
			case len(targets) > 1:
				errs = append(errs, notFound(t.kind.notFound, t.name))
				continue
			}
		}
		list, err := t.kind.list(ctx, src, namespace, selector.String())
		if err != nil {
			return nil, nil, err
		}
		sortByName(list)
		found := false
		for _, o := range list {
			m := metaOf(o)
			if strings.HasPrefix(m.Name, t.name) && selector.Matches(labels.Set(m.Labels)) {
				objs = append(objs, o)
				found = true
			}
		}
		if !found && t.name != "" {
			errs = append(errs, notFound(t.kind.notFound, t.name))
		}
	}
	return objs, errs, nil
}

// describeEach prints each object, with its events if asked, separated by
// blank lines.
func (e *env) describeEach(ctx context.Context, src source, objs []any, events bool) error {
	now := time.Now()
	for i, o := range objs {
		if i > 0 {
			fmt.Fprint(e.stdout, "\n\n")
		}
		var evs []*manifest.Event
		if events {
			m := metaOf(o)
			var err error
			if evs, err = src.Events(ctx, m.Namespace, m.UID); err != nil {
				return err
			}
		}
		switch v := o.(type) {
		case *manifest.Pod:
			describePod(e.stdout, v, evs, events, now)
		case *manifest.Job:
			describeJob(e.stdout, v, evs, events, now)
		case *manifest.CronJob:
			runs, err := src.History(ctx, localapi.HistoryQuery{Namespace: v.Namespace, Kind: "cronjob", Name: v.Name})
			if err != nil {
				return err
			}
			describeCronJob(e.stdout, v, evs, runs, events, now, time.Local)
		}
	}
	return nil
}

// describeWriter writes describe's lines through one tabwriter, as
// kubectl's PrefixWriter does, so "Key:\tvalue" lines align in blocks.
type describeWriter struct{ tw *tabwriter.Writer }

func newDescribeWriter(w io.Writer) *describeWriter {
	return &describeWriter{tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
}

// line writes one line at an indentation level (two spaces a level).
func (d *describeWriter) line(level int, format string, args ...any) {
	fmt.Fprintf(d.tw, strings.Repeat("  ", level)+format, args...)
}

func (d *describeWriter) flush() { d.tw.Flush() }

// mapLines writes a map as kubectl's printLabelsMultiline does: the first
// key=value after the title, the others below it, sorted.
func (d *describeWriter) mapLines(title string, m map[string]string) {
	d.line(0, "%s:\t", title)
	if len(m) == 0 {
		d.line(0, "<none>\n")
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			d.line(0, "\t")
		}
		d.line(0, "%s=%s\n", k, m[k])
	}
}

const rfc1123z = time.RFC1123Z

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// describeEvents writes the Events section of kubectl describe: repeated
// events as "3m (x4 over 10m)", messages as they are (kubectl, like the
// events verb, does not prefix the container's field path).
func describeEvents(d *describeWriter, evs []*manifest.Event, now time.Time) {
	if len(evs) == 0 {
		d.line(0, "Events:\t<none>\n")
		return
	}
	d.flush()
	sorted := append([]*manifest.Event(nil), evs...)
	sort.SliceStable(sorted, func(i, j int) bool { return evTime(sorted[i]).Before(evTime(sorted[j])) })
	d.line(0, "Events:\n")
	d.line(1, "Type\tReason\tAge\tFrom\tMessage\n")
	d.line(1, "----\t------\t----\t----\t-------\n")
	for _, e := range sorted {
		d.line(1, "%s\t%s\t%s\t%s\t%s\n", e.Type, e.Reason, eventInterval(e, now), e.Source.Component, strings.TrimSpace(e.Message))
	}
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func derefInt32(p *int32, def int32) int32 { return deref(p, def) }

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
	return &apiError{reason: "NotFound", msg: fmt.Sprintf("%s %q not found", resource, name)}
}

// podsOfJob lists a Job's pods.
func podsOfJob(ctx context.Context, src source, j *manifest.Job) ([]*manifest.Pod, error) {
	return src.PodsOfJob(ctx, j.Namespace, j.Name)
}

// plural picks the singular or plural form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
