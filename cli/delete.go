package cli

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// deleteTarget is one object delete removes.
type deleteTarget struct {
	kind            *resourceKind
	namespace, name string
}

// deleteRequest is a delete's command line, checked.
type deleteRequest struct {
	ns       string
	args     objectArgs        // KIND NAME..., KIND/NAME... or KIND -l/--all
	selector labels.Selector   // with args.query
	files    []manifest.Object // -f
	grace    *int64            // nil: each pod's own
	force    bool
}

// del deletes objects, like kubectl delete KIND NAME... | KIND/NAME... |
// KIND -l SEL | KIND --all | -f FILE. With no daemon running it starts one
// in this process for the delete (taking the state's lock), so records
// and containers left by run -f can be removed too.
func (e *env) del(ctx context.Context, args []string) error {
	req, err := e.parseDelete(args)
	if err != nil {
		return err
	}
	c, stop, err := e.daemonFor(ctx, DaemonOptions{PodSecurity: podSecurityBaseline, MaxPods: defaultMaxPods})
	if err != nil {
		return err
	}
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintf(e.stderr, "error: %v\n", err)
		}
	}()
	targets, err := deleteTargets(ctx, source{c, func() error { return nil }}, req)
	if err != nil {
		return err
	}
	if req.args.query != nil && len(targets) == 0 {
		e.noResources(false, req.ns)
		return nil
	}
	var missing []error
	for _, t := range targets {
		var err error
		switch t.kind.resource {
		case "pods":
			err = c.DeletePod(ctx, t.namespace, t.name, req.grace)
		case "jobs":
			err = c.DeleteJob(ctx, t.namespace, t.name)
		case "cronjobs":
			err = c.DeleteCronJob(ctx, t.namespace, t.name)
		}
		if errors.Is(err, localapi.ErrNotFound) {
			missing = append(missing, notFound(t.kind.notFound, t.name))
			continue
		} else if err != nil {
			return err
		}
		verb := "deleted"
		if req.force {
			verb = "force deleted"
		}
		fmt.Fprintf(e.stdout, "%s %q %s\n", t.kind.prefix, t.name, verb)
	}
	return e.lastError(missing)
}

// parseDelete parses and checks delete's flags and arguments before
// anything touches the state, and reads the -f files.
func (e *env) parseDelete(args []string) (deleteRequest, error) {
	fs := e.flags("delete", "delete pod|job|cronjob NAME... | KIND/NAME... | KIND -l SEL | KIND --all | -f FILE [-n NS] [--grace-period N] [--force]")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	files := fs.StringArrayP("filename", "f", nil, "delete the objects of these manifests")
	sel := fs.StringP("selector", "l", "", "delete the objects of the kind matching this label selector")
	all := fs.Bool("all", false, "delete every object of the kind in the namespace")
	grace := fs.Int64("grace-period", -1, "seconds to let containers stop (-1 = the pod's own)")
	force := fs.Bool("force", false, "stop containers immediately")
	if err := parse(fs, args); err != nil {
		return deleteRequest{}, err
	}
	req := deleteRequest{ns: *ns, grace: gracePeriod(*grace, *force), force: *force}
	var err error
	if req.selector, err = parseSelector(*sel); err != nil {
		return req, err
	}
	byQuery := *sel != "" || *all
	switch {
	case len(*files) > 0:
		if fs.NArg() > 0 || byQuery {
			return req, &usageError{msg: "cannot delete by -f together with names, -l or --all", hint: "localjobs delete -f job.yaml"}
		}
		nsFlag := ""
		if fs.Changed("namespace") {
			nsFlag = *ns
		}
		objs, bad, err := loadManifests(*files, nsFlag, e.stdin, e.stderr)
		if err != nil {
			return req, err
		}
		if bad {
			return req, &exitError{code: exitFailed}
		}
		req.files = objs
	case fs.NArg() == 0:
		return req, &usageError{msg: "you must provide one or more resources by argument or filename", hint: "localjobs delete job hello, localjobs delete pods -l app=web, localjobs delete -f job.yaml"}
	case *sel != "" && *all:
		return req, &usageError{msg: "cannot set --all and --selector at the same time", hint: "localjobs delete pods --all"}
	default:
		req.args, err = parseObjectArgs(fs.Args(), byQuery, objectArgSyntax{
			kind: kindNamed,
			badSlash: func(_, kind string) error {
				return &usageError{msg: fmt.Sprintf("the server doesn't have a resource type %q", kind), hint: "localjobs delete pod|job|cronjob NAME"}
			},
			badKind: func(kind string) error {
				return &usageError{msg: fmt.Sprintf("the server doesn't have a resource type %q", kind), hint: "localjobs delete pod|job|cronjob NAME"}
			},
			queryHint: "localjobs delete pods -l app=web",
			nameHint:  "localjobs delete " + fs.Arg(0) + " NAME, or -l SELECTOR, or --all",
		})
	}
	return req, err
}

// gracePeriod is delete's grace period as kubectl computes it:
// --grace-period=0 without --force means 1 (no accidental SIGKILL);
// --force without a grace period means 0 (kill at once); nil leaves each
// pod its own.
func gracePeriod(grace int64, force bool) *int64 {
	switch {
	case grace == 0 && !force:
		one := int64(1)
		return &one
	case grace >= 0:
		return &grace
	case force:
		zero := int64(0)
		return &zero
	}
	return nil
}

// deleteTargets are the objects a delete removes, in order: those named,
// those of the -f files, and those matching -l or --all.
func deleteTargets(ctx context.Context, src source, req deleteRequest) ([]deleteTarget, error) {
	var targets []deleteTarget
	for _, o := range req.args.named {
		targets = append(targets, deleteTarget{o.kind, req.ns, o.name})
	}
	for _, o := range req.files {
		if k := kindNamed(o.Kind); k != nil {
			targets = append(targets, deleteTarget{k, o.Meta().Namespace, o.Meta().Name})
		}
	}
	if k := req.args.query; k != nil {
		ms, err := matching(ctx, src, k, req.ns, req.selector)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			targets = append(targets, deleteTarget{k, m.Namespace, m.Name})
		}
	}
	return targets, nil
}
