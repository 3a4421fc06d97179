package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/jsonpath"

	"github.com/localjobs/localjobs/kubectl"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

var resourceAliases = map[string]string{
	"pod": "pods", "pods": "pods", "po": "pods",
	"job": "jobs", "jobs": "jobs", "job.batch": "jobs", "jobs.batch": "jobs",
	"cronjob": "cronjobs", "cronjobs": "cronjobs", "cj": "cronjobs", "cronjob.batch": "cronjobs", "cronjobs.batch": "cronjobs",
}

// eventAliases name events, which get lists (as kubectl get events) but
// no other verb takes as a resource.
var eventAliases = map[string]bool{"event": true, "events": true, "ev": true}

// resourceKind is what get knows about one resource type: how to read it
// from a source, how kubectl names it, its field selectors and its table.
type resourceKind struct {
	resource string // pods
	// prefix is the -o name / get all prefix: pod, job.batch.
	prefix string
	// notFound is the resource as kubectl's NotFound message names it.
	notFound string
	list     func(ctx context.Context, src source, ns string) ([]any, error)
	get      func(ctx context.Context, src source, ns, name string) (any, error)
	// decode reads one object of a watch event.
	decode func([]byte) (any, error)
	// fields are the field selector labels the apiserver supports for
	// this resource, with the object's values.
	fields func(o any) fields.Set
	// table returns the column headers and one row per object.
	table func(objs []any, now time.Time, wide bool) ([]string, [][]string)
}

// cronJobSource is a source that also serves CronJobs.
type cronJobSource interface {
	CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error)
	CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error)
}

var kinds = map[string]*resourceKind{
	"pods": {
		resource: "pods", prefix: "pod", notFound: "pods",
		list: func(ctx context.Context, src source, ns string) ([]any, error) {
			pods, err := src.Pods(ctx, ns)
			return anys(pods), err
		},
		get: func(ctx context.Context, src source, ns, name string) (any, error) {
			r, err := src.PodRecord(ctx, ns, name)
			if err != nil {
				return nil, err
			}
			return &r.Pod, nil
		},
		decode: decodeAs[manifest.Pod],
		fields: func(o any) fields.Set {
			p := o.(*manifest.Pod)
			return fields.Set{
				"metadata.name": p.Name, "metadata.namespace": p.Namespace,
				"spec.nodeName": p.Spec.NodeName, "spec.restartPolicy": string(p.Spec.RestartPolicy),
				"spec.schedulerName": p.Spec.SchedulerName, "spec.serviceAccountName": p.Spec.ServiceAccountName,
				"status.phase": string(p.Status.Phase), "status.podIP": p.Status.PodIP,
				"status.nominatedNodeName": p.Status.NominatedNodeName,
			}
		},
		table: podTable,
	},
	"jobs": {
		resource: "jobs", prefix: "job.batch", notFound: "jobs.batch",
		list: func(ctx context.Context, src source, ns string) ([]any, error) {
			jobs, err := src.Jobs(ctx, ns)
			return anys(jobs), err
		},
		get: func(ctx context.Context, src source, ns, name string) (any, error) {
			return src.Job(ctx, ns, name)
		},
		decode: decodeAs[manifest.Job],
		fields: func(o any) fields.Set {
			j := o.(*manifest.Job)
			return fields.Set{"metadata.name": j.Name, "metadata.namespace": j.Namespace, "status.successful": fmt.Sprint(j.Status.Succeeded)}
		},
		table: jobTable,
	},
	"cronjobs": {
		resource: "cronjobs", prefix: "cronjob.batch", notFound: "cronjobs.batch",
		list: func(ctx context.Context, src source, ns string) ([]any, error) {
			cjs, err := src.CronJobs(ctx, ns)
			return anys(cjs), err
		},
		get: func(ctx context.Context, src source, ns, name string) (any, error) {
			return src.CronJob(ctx, ns, name)
		},
		decode: decodeAs[manifest.CronJob],
		fields: func(o any) fields.Set {
			cj := o.(*manifest.CronJob)
			return fields.Set{"metadata.name": cj.Name, "metadata.namespace": cj.Namespace}
		},
		table: cronJobTable,
	},
}

// allKinds is what `get all` lists, in kubectl's order.
var allKinds = []string{"pods", "jobs", "cronjobs"}

func anys[T any](s []*T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func decodeAs[T any](b []byte) (any, error) {
	v := new(T)
	err := json.Unmarshal(b, v)
	return v, err
}

func metaOf(o any) *manifest.ObjectMeta { return manifest.Object{Obj: o}.Meta() }

// getOptions are get's flags after parsing.
type getOptions struct {
	out           outputFormat
	namespace     string // "" with allNamespaces
	allNamespaces bool
	labels        labels.Selector
	fields        fields.Selector
	watch         bool
	watchOnly     bool
	showKind      bool // name prefixes, as get all prints them
	noHeaders     bool
	showLabels    bool
	// sortBy is --sort-by's parsed path (nil: by namespace and name).
	sortBy   *jsonpath.JSONPath
	sortExpr string
	// sources maps kind/namespace/name to the file an object was applied
	// from (-o wide's SOURCE column).
	sources map[string]string
}

// get lists pods, jobs and cronjobs like kubectl get.
func (e *env) get(ctx context.Context, args []string) error {
	fs := e.flags("get", "get pods|jobs|cronjobs|events|all [NAME...] [-o wide|json|yaml|name|jsonpath=…|custom-columns=…] [-n NS|-A] [-l SEL] [--field-selector SEL] [-w] [--no-headers] [--show-labels] [--sort-by PATH]")
	output := fs.StringP("output", "o", "", "output format: wide, json, yaml, name, jsonpath=TEMPLATE or custom-columns=HEADER:PATH,…")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	all := fs.BoolP("all-namespaces", "A", false, "all namespaces")
	sel := fs.StringP("selector", "l", "", "label selector, e.g. app=web,tier!=db,env in (a,b),!canary")
	fieldSel := fs.String("field-selector", "", "field selector, e.g. status.phase=Running,metadata.name!=x")
	watch := fs.BoolP("watch", "w", false, "after listing, print a row for every change")
	watchOnly := fs.Bool("watch-only", false, "print only changes, not the current list")
	noHeaders := fs.Bool("no-headers", false, "print no header line (tables and custom-columns)")
	showLabels := fs.Bool("show-labels", false, "add a LABELS column")
	sortBy := fs.String("sort-by", "", "sort by this field, a JSONPath such as .metadata.creationTimestamp or {.status.phase}")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{msg: "get needs a resource type", hint: "localjobs get pods|jobs|cronjobs|events|all"}
	}
	opts := getOptions{allNamespaces: *all, namespace: *ns, watch: *watch || *watchOnly, watchOnly: *watchOnly,
		noHeaders: *noHeaders, showLabels: *showLabels}
	if *all {
		opts.namespace = ""
	}
	var err error
	if opts.out, err = parseOutput(*output); err != nil {
		return err
	}
	if opts.labels, err = labels.Parse(*sel); err != nil {
		return &usageError{msg: fmt.Sprintf("invalid label selector %q: %v", *sel, err), hint: "-l app=web or -l 'env in (a,b)'"}
	}
	if opts.fields, err = fields.ParseSelector(*fieldSel); err != nil {
		return &usageError{msg: fmt.Sprintf("invalid field selector %q: %v", *fieldSel, err), hint: "--field-selector status.phase=Running"}
	}
	if *sortBy != "" {
		expr, err := relaxedJSONPath(*sortBy)
		if err == nil {
			opts.sortBy, opts.sortExpr = jsonpath.New("sort-by").AllowMissingKeys(true), expr
			err = opts.sortBy.Parse(expr)
		}
		if err != nil {
			return &usageError{msg: fmt.Sprintf("--sort-by %q: %v", *sortBy, err), hint: "--sort-by=.metadata.creationTimestamp"}
		}
	}
	if eventAliases[strings.ToLower(fs.Arg(0))] {
		// kubectl get events: the events verb's listing, in get's columns.
		if fs.NArg() > 1 {
			return &usageError{msg: "get events takes no names; to see one object's events use localjobs events --for KIND/NAME", hint: "localjobs events --for pod/NAME"}
		}
		if !opts.labels.Empty() || !opts.fields.Empty() || opts.sortBy != nil || opts.showLabels {
			return &usageError{msg: "get events supports -n, -A, -o, -w and --no-headers; for one object's events use localjobs events --for KIND/NAME", hint: "localjobs events --types=Warning"}
		}
		switch opts.out.kind {
		case "", "wide", "json", "yaml", "name":
		default:
			return &usageError{msg: fmt.Sprintf("get events does not support -o %s", opts.out.kind), hint: "-o wide|json|yaml|name"}
		}
		return e.listEvents(ctx, eventOptions{namespace: opts.namespace, allNS: *all, watch: *watch || *watchOnly, watchOnly: *watchOnly,
			noHeaders: *noHeaders, out: opts.out, getStyle: true}, *ns)
	}

	// Resource types and names: "pods", "pods a b", "pod/a job/b", "all",
	// "pods,jobs".
	type request struct {
		kind  *resourceKind
		names []string
	}
	var reqs []request
	add := func(res string, name string) error {
		var ks []string
		if res == "all" {
			ks = allKinds
		} else {
			for _, r := range strings.Split(res, ",") {
				k, ok := resourceAliases[r]
				if !ok {
					return &usageError{msg: fmt.Sprintf("the server doesn't have a resource type %q", r), hint: "localjobs get pods|jobs|cronjobs|all"}
				}
				ks = append(ks, k)
			}
		}
		for _, k := range ks {
			i := len(reqs) - 1
			if i < 0 || reqs[i].kind != kinds[k] {
				reqs = append(reqs, request{kind: kinds[k]})
				i++
			}
			if name != "" {
				reqs[i].names = append(reqs[i].names, name)
			}
		}
		return nil
	}
	if strings.Contains(fs.Arg(0), "/") {
		for _, a := range fs.Args() {
			res, name, ok := strings.Cut(a, "/")
			if !ok || name == "" {
				return &usageError{msg: fmt.Sprintf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got %q)", a), hint: "localjobs get pod/a job/b"}
			}
			if res == "all" {
				return &usageError{msg: "all/NAME is not a resource", hint: "localjobs get all"}
			}
			if err := add(res, name); err != nil {
				return err
			}
		}
		opts.showKind = len(reqs) > 1
	} else {
		if err := add(fs.Arg(0), ""); err != nil {
			return err
		}
		if len(reqs) > 1 {
			opts.showKind = true
			if fs.NArg() > 1 {
				return &usageError{msg: "names can only be given with a single resource type", hint: "localjobs get pods a b"}
			}
		}
		for _, n := range fs.Args()[1:] {
			reqs[0].names = append(reqs[0].names, n)
		}
	}
	for _, r := range opts.fields.Requirements() {
		for _, q := range reqs {
			if _, ok := q.kind.fields(zeroOf(q.kind))[r.Field]; !ok {
				return &apiError{reason: "BadRequest", msg: fmt.Sprintf("Unable to find %q that match label selector %q, field selector %q: field label not supported: %s",
					q.kind.resource, *sel, *fieldSel, r.Field)}
			}
		}
	}
	if opts.watch && len(reqs) > 1 {
		return &usageError{msg: "watch is only supported on individual resources and resource collections, but more than one resource type was found", hint: "localjobs get pods -w"}
	}
	if opts.watch && reqs[0].kind.resource == "cronjobs" {
		// The daemon publishes no CronJob changes to watch.
		return errors.New("watching cronjobs is not supported yet; use get jobs -w")
	}

	src, err := e.openSource(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	if opts.out.kind == "wide" {
		if opts.sources, err = sourcesOf(ctx, src); err != nil {
			return err
		}
	}

	// Gather the objects per request.
	type result struct {
		kind *resourceKind
		objs []any
	}
	var results []result
	var notFounds []error
	for _, q := range reqs {
		var objs []any
		switch {
		case len(q.names) > 0:
			for _, n := range q.names {
				o, err := q.kind.get(ctx, src, *ns, n)
				if errors.Is(err, localapi.ErrNotFound) {
					notFounds = append(notFounds, notFound(q.kind.notFound, n))
					continue
				} else if err != nil {
					return err
				}
				objs = append(objs, o)
			}
		default:
			all, err := q.kind.list(ctx, src, opts.namespace)
			if err != nil {
				return err
			}
			objs = all
			sortByName(objs)
		}
		objs = filterObjects(q.kind, objs, opts)
		if opts.sortBy != nil {
			if err := sortByPath(objs, opts.sortBy, opts.sortExpr); err != nil {
				return err
			}
		}
		results = append(results, result{kind: q.kind, objs: objs})
	}
	asList := true
	if len(reqs) == 1 && len(reqs[0].names) == 1 {
		asList = false
	}

	if opts.watch {
		var names []string
		if len(reqs[0].names) > 0 {
			names = reqs[0].names
		}
		if len(notFounds) > 0 && !opts.watchOnly {
			return notFounds[0]
		}
		return e.watchKind(ctx, src, reqs[0].kind, results[0].objs, names, opts)
	}

	var printErr error
	if opts.out.structured() {
		var all []any
		for _, r := range results {
			all = append(all, r.objs...)
		}
		if opts.out.kind == "custom-columns" {
			printErr = printCustomColumns(e.stdout, opts.out.columns, all, !opts.noHeaders)
		} else if len(all) > 0 || asList {
			printErr = printStructured(e.stdout, opts.out, all, asList, objectName)
		}
	} else {
		now := time.Now()
		printed := 0
		for _, r := range results {
			if len(r.objs) == 0 {
				continue
			}
			if printed > 0 {
				fmt.Fprintln(e.stdout)
			}
			printed++
			tw := newTable(e.stdout)
			writeTable(tw, r.kind, r.objs, now, opts, true)
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		if printed == 0 && len(notFounds) == 0 {
			if opts.allNamespaces {
				fmt.Fprintln(e.stderr, "No resources found")
			} else {
				fmt.Fprintf(e.stderr, "No resources found in %s namespace.\n", *ns)
			}
		}
	}
	for _, nf := range notFounds {
		fmt.Fprintln(e.stderr, nf)
	}
	if printErr != nil {
		return printErr
	}
	if len(notFounds) > 0 {
		return &exitError{code: exitFailed, err: errors.New("")}
	}
	return nil
}

func zeroOf(k *resourceKind) any {
	switch k.resource {
	case "pods":
		return &manifest.Pod{}
	case "jobs":
		return &manifest.Job{}
	}
	return &manifest.CronJob{}
}

// objectName is an object as -o name prints it: pod/x, job.batch/x.
func objectName(o any) string {
	switch o.(type) {
	case *manifest.Pod:
		return "pod/" + metaOf(o).Name
	case *manifest.Job:
		return "job.batch/" + metaOf(o).Name
	}
	return "cronjob.batch/" + metaOf(o).Name
}

// filterObjects keeps the objects that match the label and field selectors.
func filterObjects(k *resourceKind, objs []any, opts getOptions) []any {
	var out []any
	for _, o := range objs {
		if matches(k, o, opts) {
			out = append(out, o)
		}
	}
	return out
}

func matches(k *resourceKind, o any, opts getOptions) bool {
	m := metaOf(o)
	if opts.namespace != "" && m.Namespace != opts.namespace {
		return false
	}
	return opts.labels.Matches(labels.Set(m.Labels)) && opts.fields.Matches(k.fields(o))
}

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

// watchKind prints the current objects (unless --watch-only), then every
// change that matches, as kubectl get -w does: the table header once, then
// one row per change; structured formats print each changed object.
func (e *env) watchKind(ctx context.Context, src source, k *resourceKind, initial []any, names []string, opts getOptions) error {
	isClient := !src.ReadOnly
	if !isClient {
		fmt.Fprintln(e.stderr, "Warning: no localjobs daemon is running; nothing will change")
	}
	tw := newTable(e.stdout)
	header := true
	emit := func(objs []any) error {
		if len(objs) == 0 {
			return nil
		}
		if opts.out.structured() && opts.out.kind != "custom-columns" {
			for _, o := range objs {
				if err := printStructured(e.stdout, opts.out, []any{o}, false, objectName); err != nil {
					return err
				}
			}
			return nil
		}
		writeTable(tw, k, objs, time.Now(), opts, header)
		header = false
		return tw.Flush()
	}
	// last holds the last printed state of each object, so repeated saves
	// of an unchanged object print nothing.
	last := map[string][]byte{}
	keyOf := func(o any) string { m := metaOf(o); return m.Namespace + "/" + m.Name }
	remember := func(o any) bool {
		b, _ := json.Marshal(o)
		if string(last[keyOf(o)]) == string(b) {
			return false
		}
		last[keyOf(o)] = b
		return true
	}
	if !isClient {
		if opts.watchOnly {
			return nil
		}
		return emit(initial)
	}
	// The watch is opened before the list is read again, so no change
	// between the two is missed.
	stream, err := src.OpenWatch(ctx, k.resource, opts.namespace)
	if err != nil {
		return err
	}
	defer stream.Close()
	if !opts.watchOnly {
		objs, err := k.list(ctx, src, opts.namespace)
		if err != nil {
			return err
		}
		objs = filterObjects(k, objs, opts)
		if len(names) > 0 {
			objs = byName(objs, names)
		}
		sortByName(objs)
		for _, o := range objs {
			remember(o)
		}
		if err := emit(objs); err != nil {
			return err
		}
	}
	events := make(chan localapi.WatchEvent)
	errc := make(chan error, 1)
	go func() {
		for {
			ev, err := stream.Next()
			if err != nil {
				errc <- err
				return
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case ev := <-events:
			o, err := k.decode(ev.Object)
			if err != nil {
				continue
			}
			if ev.Type == "DELETED" {
				// The event carries only the name: print the last state
				// seen, as kubectl prints the deleted object.
				prev, seen := last[keyOf(o)]
				if !seen {
					continue
				}
				delete(last, keyOf(o))
				if o, err = k.decode(prev); err != nil {
					continue
				}
			} else if !matches(k, o, opts) || (len(names) > 0 && len(byName([]any{o}, names)) == 0) || !remember(o) {
				continue
			}
			if err := emit([]any{o}); err != nil {
				return err
			}
		}
	}
}

func byName(objs []any, names []string) []any {
	var out []any
	for _, o := range objs {
		for _, n := range names {
			if metaOf(o).Name == n {
				out = append(out, o)
			}
		}
	}
	return out
}

func sortByName(objs []any) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := metaOf(objs[i]), metaOf(objs[j])
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// sourcesOf maps kind/namespace/name to the file each applied object came
// from, as the user would name it (relative to the working directory when
// below it; "<stdin>").
func sourcesOf(ctx context.Context, src source) (map[string]string, error) {
	recs, err := src.AppliedObjects(ctx)
	if err != nil {
		return nil, err
	}
	wd, _ := os.Getwd()
	out := map[string]string{}
	for _, r := range recs {
		f := r.File
		switch {
		case f == "":
			f = "<stdin>"
		case wd != "":
			if rel, err := filepath.Rel(wd, f); err == nil && !strings.HasPrefix(rel, "..") {
				f = rel
			}
		}
		out[r.Kind+"/"+r.Namespace+"/"+r.Name] = f
	}
	return out, nil
}

// kindOf is an object's kind.
func kindOf(o any) string {
	switch o.(type) {
	case *manifest.Pod:
		return manifest.KindPod
	case *manifest.Job:
		return manifest.KindJob
	case *manifest.CronJob:
		return manifest.KindCronJob
	}
	return ""
}
