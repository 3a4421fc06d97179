package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// eventOptions select and shape an event listing: `events` prints the
// table of kubectl events, `get events` that of kubectl get events.
type eventOptions struct {
	namespace string // "" with allNamespaces
	allNS     bool
	forObj    string   // KIND/NAME, or ""
	types     []string // Normal, Warning; none = all
	watch     bool
	watchOnly bool
	noHeaders bool
	out       outputFormat
	getStyle  bool // kubectl get events' columns (and wide)
}

// events lists events like kubectl events: LAST SEEN TYPE REASON OBJECT
// MESSAGE, oldest first, repeated events as "3m (x4 over 10m)".
func (e *env) events(ctx context.Context, args []string) error {
	fs := e.flags("events", "events [--for KIND/NAME] [-n NS|-A] [--types Normal,Warning] [-w] [-o json|yaml] [--no-headers]")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	all := fs.BoolP("all-namespaces", "A", false, "all namespaces")
	forObj := fs.String("for", "", "only events of this object, e.g. pod/simple-task")
	types := fs.StringSlice("types", nil, "only events of these types: Normal, Warning (comma-separated)")
	watch := fs.BoolP("watch", "w", false, "after listing, print events as they happen")
	noHeaders := fs.Bool("no-headers", false, "print no header line")
	output := fs.StringP("output", "o", "", "json or yaml")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0)), hint: "localjobs events --for pod/NAME"}
	}
	o := eventOptions{namespace: *ns, allNS: *all, forObj: *forObj, watch: *watch, noHeaders: *noHeaders}
	if *all {
		o.namespace = ""
	}
	var err error
	if o.types, err = eventTypes(*types); err != nil {
		return err
	}
	switch *output {
	case "", "json", "yaml":
		o.out = outputFormat{kind: *output}
	default:
		return &usageError{msg: fmt.Sprintf("unable to match a printer suitable for the output format %q, allowed formats are: json,yaml", *output)}
	}
	return e.listEvents(ctx, o, *ns)
}

// eventTypes checks --types as kubectl does (case-insensitive Normal and
// Warning).
func eventTypes(in []string) ([]string, error) {
	var out []string
	for _, t := range in {
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "normal":
			out = append(out, "Normal")
		case "warning":
			out = append(out, "Warning")
		default:
			return nil, &usageError{msg: fmt.Sprintf("valid --types are Normal or Warning, not %q", t)}
		}
	}
	return out, nil
}

// listEvents prints the events o selects; ns names the namespace in "No
// events found".
func (e *env) listEvents(ctx context.Context, o eventOptions, ns string) error {
	src, err := e.openSource(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	uid := ""
	if o.forObj != "" {
		kind, name, found := strings.Cut(o.forObj, "/")
		res := resourceAliases[strings.ToLower(kind)]
		if !found || name == "" || kinds[res] == nil {
			return &usageError{msg: fmt.Sprintf("--for %q: want pod/NAME, job/NAME or cronjob/NAME", o.forObj), hint: "localjobs events --for pod/simple-task"}
		}
		k := kinds[res]
		obj, err := k.get(ctx, src, ns, name)
		if err != nil {
			return lookupErr(err, k.notFound, name)
		}
		uid = metaOf(obj).UID
	}
	keep := func(ev *manifest.Event) bool {
		return (uid == "" || ev.InvolvedObject.UID == uid) &&
			(len(o.types) == 0 || containsFold(o.types, ev.Type))
	}
	// With -w the watch opens before the list is read, so no event
	// between the two is missed; one in both prints once.
	var stream *localapi.WatchStream
	if o.watch && !src.ReadOnly {
		if stream, err = src.Watch(ctx, o.namespace, "events"); err != nil {
			return err
		}
		defer stream.Close()
		go func() {
			<-ctx.Done()
			stream.Close()
		}()
	}
	var evs []*manifest.Event
	if !o.watchOnly {
		if evs, err = allEvents(ctx, src, o.namespace, uid); err != nil {
			return err
		}
	}
	listed := map[string]bool{}
	var shown []*manifest.Event
	for _, ev := range evs {
		listed[eventKey(ev)] = true
		if keep(ev) {
			shown = append(shown, ev)
		}
	}
	sort.SliceStable(shown, func(i, j int) bool { return evTime(shown[i]).Before(evTime(shown[j])) })
	if o.out.structured() && !o.watch {
		return printStructured(e.stdout, o.out, anys(shown), true, eventName)
	}
	p := &eventPrinter{w: newTable(e.stdout), o: o}
	if len(shown) == 0 && !o.watch {
		switch {
		case o.allNS:
			fmt.Fprintln(e.stderr, "No events found.")
		default:
			fmt.Fprintf(e.stderr, "No events found in %s namespace.\n", ns)
		}
		return nil
	}
	for _, ev := range shown {
		if o.out.structured() {
			if err := printStructured(e.stdout, o.out, []any{ev}, false, eventName); err != nil {
				return err
			}
			continue
		}
		p.print(ev, time.Now())
	}
	if err := p.w.Flush(); err != nil || !o.watch {
		return err
	}
	if stream == nil {
		fmt.Fprintln(e.stderr, "Warning: no localjobs daemon is running; no events will come")
		return nil
	}
	for {
		ev, err := stream.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if ev.Type != localapi.WatchAdded {
			continue
		}
		var me manifest.Event
		if !decodeObject(ev, &me) || !keep(&me) || listed[eventKey(&me)] {
			continue
		}
		if o.out.structured() {
			if err := printStructured(e.stdout, o.out, []any{&me}, false, eventName); err != nil {
				return err
			}
			continue
		}
		p.print(&me, time.Now())
		if err := p.w.Flush(); err != nil {
			return err
		}
	}
}

// eventKey identifies an event as seen: its uid (else namespace and
// name) and count, so a repeat of a listed event still prints.
func eventKey(ev *manifest.Event) string {
	id := ev.UID
	if id == "" {
		id = ev.Namespace + "/" + ev.Name
	}
	return fmt.Sprintf("%s#%d", id, ev.Count)
}

// allEvents lists the events of ns ("" = every namespace in use) and of
// the object with uid ("" = all).
func allEvents(ctx context.Context, src source, ns, uid string) ([]*manifest.Event, error) {
	if ns != "" || uid != "" {
		return src.Events(ctx, ns, uid)
	}
	// Events are listed per namespace: gather the namespaces in use.
	seen := map[string]bool{}
	var nss []string
	pods, err := src.Pods(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		nss = append(nss, p.Namespace)
	}
	jobs, err := src.Jobs(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		nss = append(nss, j.Namespace)
	}
	cjs, err := src.CronJobs(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, cj := range cjs {
		nss = append(nss, cj.Namespace)
	}
	var out []*manifest.Event
	for _, n := range nss {
		if seen[n] {
			continue
		}
		seen[n] = true
		more, err := src.Events(ctx, n, "")
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if strings.EqualFold(l, s) {
			return true
		}
	}
	return false
}

func eventName(o any) string { return "event/" + o.(*manifest.Event).Name }

// eventPrinter prints event rows, the header before the first.
type eventPrinter struct {
	w      *table
	o      eventOptions
	header bool
}

func (p *eventPrinter) print(ev *manifest.Event, now time.Time) {
	if !p.header && !p.o.noHeaders {
		p.header = true
		if p.o.allNS {
			fmt.Fprint(p.w, "NAMESPACE\t")
		}
		switch {
		case p.o.getStyle && p.o.out.kind == "wide":
			fmt.Fprintln(p.w, "LAST SEEN\tTYPE\tREASON\tOBJECT\tSUBOBJECT\tSOURCE\tMESSAGE\tFIRST SEEN\tCOUNT\tNAME")
		default:
			fmt.Fprintln(p.w, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
		}
	}
	if p.o.allNS {
		fmt.Fprintf(p.w, "%s\t", ev.Namespace)
	}
	msg := oneLine(strings.TrimSpace(ev.Message))
	if !p.o.getStyle {
		// kubectl events: Kind/Name, and a repeated event's interval.
		fmt.Fprintf(p.w, "%s\t%s\t%s\t%s/%s\t%s\n", eventInterval(ev, now), ev.Type, ev.Reason, ev.InvolvedObject.Kind, ev.InvolvedObject.Name, msg)
		return
	}
	// kubectl get events (printEvent): kind/name in lower case, the last
	// time seen, and with -o wide the sub-object, source, first time
	// seen, count and name.
	first := evFirst(ev)
	last := ev.LastTimestamp.Time
	if last.IsZero() {
		last = first
	}
	target := strings.ToLower(ev.InvolvedObject.Kind) + "/" + ev.InvolvedObject.Name
	if p.o.out.kind != "wide" {
		fmt.Fprintf(p.w, "%s\t%s\t%s\t%s\t%s\n", since(last, now), ev.Type, ev.Reason, target, msg)
		return
	}
	count := ev.Count
	if count == 0 {
		count = 1
	}
	source := strings.TrimSpace(strings.TrimSuffix(ev.Source.Component+", "+ev.Source.Host, ", "))
	fmt.Fprintf(p.w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", since(last, now), ev.Type, ev.Reason, target,
		ev.InvolvedObject.FieldPath, source, msg, since(first, now), count, ev.Name)
}

// eventInterval is kubectl events' LAST SEEN: the age, or for an event
// seen several times "<since last> (x<count> over <since first>)".
func eventInterval(ev *manifest.Event, now time.Time) string {
	first := since(evFirst(ev), now)
	if ev.Count > 1 {
		return fmt.Sprintf("%s (x%d over %s)", since(ev.LastTimestamp.Time, now), ev.Count, first)
	}
	return first
}

// evFirst is when an event was first seen: eventTime, else firstTimestamp.
func evFirst(ev *manifest.Event) time.Time {
	if !ev.EventTime.IsZero() {
		return ev.EventTime.Time
	}
	return ev.FirstTimestamp.Time
}

func since(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// oneLine cuts a table cell at its first line break, as kubectl does.
func oneLine(s string) string {
	if i := strings.IndexAny(s, "\f\n\r"); i >= 0 {
		return s[:i] + "..."
	}
	return s
}

// evTime orders events: by when they were last seen.
func evTime(e *manifest.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	return evFirst(e)
}
