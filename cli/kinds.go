package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// The resource kinds the verbs take — pods, jobs, cronjobs — and what get,
// describe, delete, wait and completion know of each.

// resourceAliases maps every name kubectl accepts for a kind to the kind.
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
	// list reads the objects of ns ("" = all) that the label selector sel
	// selects (the daemon filters, through an index where it has one).
	list func(ctx context.Context, src source, ns, sel string) ([]any, error)
	get  func(ctx context.Context, src source, ns, name string) (any, error)
	// decode reads one object of a watch event.
	decode func([]byte) (any, error)
	// fields are the field selector labels the apiserver supports for
	// this resource, with the object's values.
	fields func(o any) fields.Set
	// table returns the column headers and one row per object.
	table func(objs []any, now time.Time, wide bool) ([]string, [][]string)
}

var kinds = map[string]*resourceKind{
	"pods": {
		resource: "pods", prefix: "pod", notFound: "pods",
		list: func(ctx context.Context, src source, ns, sel string) ([]any, error) {
			pods, err := src.ListPods(ctx, ns, localapi.ListOptions{LabelSelector: sel})
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
		list: func(ctx context.Context, src source, ns, sel string) ([]any, error) {
			jobs, err := src.ListJobs(ctx, ns, localapi.ListOptions{LabelSelector: sel})
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
		list: func(ctx context.Context, src source, ns, sel string) ([]any, error) {
			cjs, err := src.ListCronJobs(ctx, ns, localapi.ListOptions{LabelSelector: sel})
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

func zeroOf(k *resourceKind) any {
	switch k.resource {
	case "pods":
		return &manifest.Pod{}
	case "jobs":
		return &manifest.Job{}
	}
	return &manifest.CronJob{}
}

// kindNamed is the kind a command-line word names (pod, jobs, cj, …), or
// nil.
func kindNamed(s string) *resourceKind { return kinds[resourceAliases[strings.ToLower(s)]] }

// parseSelector parses a -l label selector.
func parseSelector(s string) (labels.Selector, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("invalid label selector %q: %v", s, err), hint: "-l app=web"}
	}
	return sel, nil
}

// namedObject is an object the command line names.
type namedObject struct {
	kind *resourceKind
	name string
}

// objectArgs are the objects a verb's arguments name, as kubectl's delete
// and wait take them: KIND/NAME..., KIND NAME..., or KIND alone with -l or
// --all, which stands for every object of query that matches.
type objectArgs struct {
	named []namedObject
	query *resourceKind
}

// objectArgSyntax is what differs between the verbs that take objectArgs:
// the kinds they take and their messages.
type objectArgSyntax struct {
	kind func(string) *resourceKind // nil: not a kind of this verb
	// badSlash is the error for a KIND/NAME argument of no such kind or
	// without a name; badKind for a KIND argument of no such kind.
	badSlash func(arg, kind string) error
	badKind  func(kind string) error
	// queryHint and nameHint are the hints of the errors for names with
	// -l or --all, and for a kind without names.
	queryHint, nameHint string
}

// parseObjectArgs reads a verb's arguments (at least one); byQuery is -l
// or --all.
func parseObjectArgs(args []string, byQuery bool, syn objectArgSyntax) (objectArgs, error) {
	var out objectArgs
	if strings.Contains(args[0], "/") {
		if byQuery {
			return out, &usageError{msg: "name cannot be provided when a selector or --all is specified", hint: syn.queryHint}
		}
		for _, a := range args {
			k, n, _ := strings.Cut(a, "/")
			rk := syn.kind(k)
			if rk == nil || n == "" {
				return out, syn.badSlash(a, k)
			}
			out.named = append(out.named, namedObject{rk, n})
		}
		return out, nil
	}
	k := syn.kind(args[0])
	switch {
	case k == nil:
		return out, syn.badKind(args[0])
	case byQuery && len(args) > 1:
		return out, &usageError{msg: "name cannot be provided when a selector or --all is specified", hint: syn.queryHint}
	case !byQuery && len(args) == 1:
		return out, &usageError{msg: "resource(s) were provided, but no name was specified", hint: syn.nameHint}
	case byQuery:
		out.query = k
	}
	for _, n := range args[1:] {
		out.named = append(out.named, namedObject{k, n})
	}
	return out, nil
}

// matching lists the objects of kind k in ns that match selector, sorted
// by name.
func matching(ctx context.Context, src source, k *resourceKind, ns string, selector labels.Selector) ([]*manifest.ObjectMeta, error) {
	list, err := k.list(ctx, src, ns, selector.String())
	if err != nil {
		return nil, err
	}
	sortByName(list)
	var out []*manifest.ObjectMeta
	for _, o := range list {
		if m := metaOf(o); selector.Matches(labels.Set(m.Labels)) {
			out = append(out, m)
		}
	}
	return out, nil
}
