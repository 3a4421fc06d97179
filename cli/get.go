package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/jsonpath"

	"github.com/localjobs/localjobs/localapi"
)

// getOptions are get's flags after parsing.
type getOptions struct {
	out           outputFormat
	namespace     string // "" with allNamespaces
	allNamespaces bool
	// nsFlag is -n as given: the namespace of objects named on the command
	// line, even with -A.
	nsFlag string
	labels labels.Selector
	fields fields.Selector
	// labelExpr and fieldExpr are -l and --field-selector as given.
	labelExpr, fieldExpr string
	watch                bool
	watchOnly            bool
	showKind             bool // name prefixes, as get all prints them
	noHeaders            bool
	showLabels           bool
	// sortBy is --sort-by's parsed path (nil: by namespace and name).
	sortBy   *jsonpath.JSONPath
	sortExpr string
	// sources maps kind/namespace/name to the file an object was applied
	// from (-o wide's SOURCE column).
	sources map[string]string
}

// getRequest is one resource type of a get and the names asked for (none:
// every object of the type).
type getRequest struct {
	kind  *resourceKind
	names []string
}

// getResult is what a getRequest found, filtered and sorted.
type getResult struct {
	kind *resourceKind
	objs []any
}

// get lists pods, jobs and cronjobs like kubectl get: it parses the flags,
// turns the arguments into requests (one per resource type), reads the
// objects, and prints them, or watches them with -w.
func (e *env) get(ctx context.Context, args []string) error {
	opts, args, err := e.parseGetFlags(args)
	if err != nil {
		return err
	}
	if eventAliases[strings.ToLower(args[0])] {
		return e.getEvents(ctx, opts, args)
	}
	reqs, err := parseGetRequests(args)
	if err != nil {
		return err
	}
	opts.showKind = len(reqs) > 1
	if err := checkGetRequests(reqs, opts); err != nil {
		return err
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
	results, notFounds, err := gatherGet(ctx, src, reqs, opts)
	if err != nil {
		return err
	}
	if opts.watch {
		if len(notFounds) > 0 && !opts.watchOnly {
			return notFounds[0]
		}
		return e.watchKind(ctx, src, reqs[0].kind, results[0].objs, reqs[0].names, opts)
	}
	asList := len(reqs) != 1 || len(reqs[0].names) != 1
	return e.printGet(results, notFounds, asList, opts)
}

// parseGetFlags parses get's flags; it returns the arguments, at least one.
func (e *env) parseGetFlags(args []string) (getOptions, []string, error) {
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
		return getOptions{}, nil, err
	}
	if fs.NArg() == 0 {
		return getOptions{}, nil, &usageError{msg: "get needs a resource type", hint: "localjobs get pods|jobs|cronjobs|events|all"}
	}
	opts := getOptions{allNamespaces: *all, namespace: *ns, nsFlag: *ns, watch: *watch || *watchOnly, watchOnly: *watchOnly,
		noHeaders: *noHeaders, showLabels: *showLabels, labelExpr: *sel, fieldExpr: *fieldSel}
	if *all {
		opts.namespace = ""
	}
	var err error
	if opts.out, err = parseOutput(*output); err != nil {
		return opts, nil, err
	}
	if opts.labels, err = labels.Parse(*sel); err != nil {
		return opts, nil, &usageError{msg: fmt.Sprintf("invalid label selector %q: %v", *sel, err), hint: "-l app=web or -l 'env in (a,b)'"}
	}
	if opts.fields, err = fields.ParseSelector(*fieldSel); err != nil {
		return opts, nil, &usageError{msg: fmt.Sprintf("invalid field selector %q: %v", *fieldSel, err), hint: "--field-selector status.phase=Running"}
	}
	if *sortBy != "" {
		expr, err := relaxedJSONPath(*sortBy)
		if err == nil {
			opts.sortBy, opts.sortExpr = jsonpath.New("sort-by").AllowMissingKeys(true), expr
			err = opts.sortBy.Parse(expr)
		}
		if err != nil {
			return opts, nil, &usageError{msg: fmt.Sprintf("--sort-by %q: %v", *sortBy, err), hint: "--sort-by=.metadata.creationTimestamp"}
		}
	}
	return opts, fs.Args(), nil
}

// getEvents is kubectl get events: the events verb's listing, in get's
// columns.
func (e *env) getEvents(ctx context.Context, opts getOptions, args []string) error {
	if len(args) > 1 {
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
	return e.listEvents(ctx, eventOptions{namespace: opts.namespace, allNS: opts.allNamespaces, watch: opts.watch, watchOnly: opts.watchOnly,
		noHeaders: opts.noHeaders, out: opts.out, getStyle: true}, opts.nsFlag)
}

// parseGetRequests turns get's arguments into requests: "pods", "pods a
// b", "pod/a job/b", "all", "pods,jobs". Consecutive names of one type
// make one request.
func parseGetRequests(args []string) ([]getRequest, error) {
	var reqs []getRequest
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
				reqs = append(reqs, getRequest{kind: kinds[k]})
				i++
			}
			if name != "" {
				reqs[i].names = append(reqs[i].names, name)
			}
		}
		return nil
	}
	if strings.Contains(args[0], "/") {
		for _, a := range args {
			res, name, ok := strings.Cut(a, "/")
			if !ok || name == "" {
				return nil, &usageError{msg: fmt.Sprintf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got %q)", a), hint: "localjobs get pod/a job/b"}
			}
			if res == "all" {
				return nil, &usageError{msg: "all/NAME is not a resource", hint: "localjobs get all"}
			}
			if err := add(res, name); err != nil {
				return nil, err
			}
		}
		return reqs, nil
	}
	if err := add(args[0], ""); err != nil {
		return nil, err
	}
	if len(reqs) > 1 && len(args) > 1 {
		return nil, &usageError{msg: "names can only be given with a single resource type", hint: "localjobs get pods a b"}
	}
	reqs[0].names = append(reqs[0].names, args[1:]...)
	return reqs, nil
}

// checkGetRequests refuses what the apiserver would: a field selector on a
// field the resource does not support, and a watch of several types or of
// cronjobs.
func checkGetRequests(reqs []getRequest, opts getOptions) error {
	for _, r := range opts.fields.Requirements() {
		for _, q := range reqs {
			if _, ok := q.kind.fields(zeroOf(q.kind))[r.Field]; !ok {
				return &apiError{reason: "BadRequest", msg: fmt.Sprintf("Unable to find %q that match label selector %q, field selector %q: field label not supported: %s",
					q.kind.resource, opts.labelExpr, opts.fieldExpr, r.Field)}
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
	return nil
}

// gatherGet reads the objects of each request: the named ones (a missing
// one is a NotFound error to print, not a failure), or the list of the
// type; then filters them by the selectors and sorts them.
func gatherGet(ctx context.Context, src source, reqs []getRequest, opts getOptions) ([]getResult, []error, error) {
	var results []getResult
	var notFounds []error
	for _, q := range reqs {
		var objs []any
		switch {
		case len(q.names) > 0:
			for _, n := range q.names {
				o, err := q.kind.get(ctx, src, opts.nsFlag, n)
				if errors.Is(err, localapi.ErrNotFound) {
					notFounds = append(notFounds, notFound(q.kind.notFound, n))
					continue
				} else if err != nil {
					return nil, nil, err
				}
				objs = append(objs, o)
			}
		default:
			all, err := q.kind.list(ctx, src, opts.namespace, opts.labels.String())
			if err != nil {
				return nil, nil, err
			}
			objs = all
			sortByName(objs)
		}
		objs = filterObjects(q.kind, objs, opts)
		if opts.sortBy != nil {
			if err := sortByPath(objs, opts.sortBy, opts.sortExpr); err != nil {
				return nil, nil, err
			}
		}
		results = append(results, getResult{kind: q.kind, objs: objs})
	}
	return results, notFounds, nil
}

// printGet prints the results — one table per type, or the structured
// output of all of them — then the NotFound errors; any of those makes get
// fail.
func (e *env) printGet(results []getResult, notFounds []error, asList bool, opts getOptions) error {
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
			e.noResources(opts.allNamespaces, opts.nsFlag)
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

// noResources says on stderr that nothing matched, as kubectl does.
func (e *env) noResources(allNamespaces bool, ns string) {
	if allNamespaces {
		fmt.Fprintln(e.stderr, "No resources found")
	} else {
		fmt.Fprintf(e.stderr, "No resources found in %s namespace.\n", ns)
	}
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
