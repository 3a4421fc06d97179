package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/util/jsonpath"

	"github.com/localjobs/localjobs/kubectl"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// waitCondition is a parsed --for.
type waitCondition struct {
	// kind is "condition", "jsonpath", "delete" or "create".
	kind string
	// condition: its type and wanted status (True by default).
	condType, condStatus string
	// jsonpath: the path and the wanted value; hasValue false means the
	// path only has to exist.
	path     *jsonpath.JSONPath
	pathExpr string
	value    string
	hasValue bool
	text     string // as given, for messages
}

// parseWaitFor parses --for as kubectl wait does: condition=NAME[=VALUE]
// (case-insensitive), jsonpath='{PATH}'[=VALUE], delete or create.
func parseWaitFor(s string) (waitCondition, error) {
	c := waitCondition{text: s}
	lower := strings.ToLower(s)
	switch {
	case lower == "delete" || lower == "create":
		c.kind = lower
		return c, nil
	case strings.HasPrefix(lower, "condition="):
		rest := s[len("condition="):]
		c.kind = "condition"
		c.condType, c.condStatus, _ = strings.Cut(rest, "=")
		if c.condStatus == "" {
			c.condStatus = "True"
		}
		if c.condType == "" {
			return c, &usageError{msg: "--for=condition needs a condition type, e.g. --for=condition=Ready", hint: "--for=condition=complete"}
		}
		return c, nil
	case strings.HasPrefix(lower, "jsonpath="):
		rest := strings.TrimSpace(s[len("jsonpath="):])
		expr, tail := rest, ""
		if i := strings.LastIndex(rest, "}"); i >= 0 {
			expr, tail = rest[:i+1], rest[i+1:]
		} else if j := strings.Index(rest, "="); j >= 0 {
			expr, tail = rest[:j], rest[j:]
		}
		tail = strings.TrimLeft(tail, `'"`)
		c.hasValue = strings.HasPrefix(tail, "=")
		c.value = strings.Trim(strings.TrimPrefix(tail, "="), `'"`)
		expr = strings.Trim(expr, `'"`)
		rel, err := relaxedJSONPath(expr)
		if err == nil {
			c.path = jsonpath.New("wait").AllowMissingKeys(true)
			err = c.path.Parse(rel)
		}
		if err != nil || expr == "" {
			return c, &usageError{msg: fmt.Sprintf("unrecognized JSONPath expression %q: %v", expr, err), hint: "--for=jsonpath='{.status.phase}'=Succeeded"}
		}
		c.kind, c.pathExpr = "jsonpath", expr
		return c, nil
	}
	return c, &usageError{msg: fmt.Sprintf("unrecognized condition: %q", s), hint: "--for=condition=complete, --for=condition=Ready, --for=jsonpath='{.status.phase}'=Succeeded, --for=delete or --for=create"}
}

// wait blocks until objects meet a condition, like kubectl wait: pods and
// Jobs, by condition, JSONPath value, deletion or creation. Unlike
// kubectl, a finished object (a Failed or Complete Job, a Succeeded or
// Failed pod) that does not meet the condition fails at once (exit 1): its
// status will not change, so the wait could only time out.
func (e *env) wait(ctx context.Context, args []string) error {
	fs := e.flags("wait", "wait --for=condition=C[=V]|jsonpath='{PATH}'[=V]|delete|create (pod|job)/NAME... | pod|job NAME... | pod|job -l SEL|--all [--timeout D]")
	forCond := fs.String("for", "", "condition=NAME[=VALUE], jsonpath='{PATH}'=VALUE, delete or create")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long (per object); 0 checks once, a negative value waits a week")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	sel := fs.StringP("selector", "l", "", "wait for every object of the kind matching this label selector")
	all := fs.Bool("all", false, "wait for every object of the kind in the namespace")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *forCond == "" {
		return &usageError{msg: "--for must be specified", hint: "localjobs wait --for=condition=complete job/hello"}
	}
	cond, err := parseWaitFor(*forCond)
	if err != nil {
		return err
	}
	selector, err := parseSelector(*sel)
	if err != nil {
		return err
	}
	byQuery := *sel != "" || *all
	if fs.NArg() == 0 {
		return &usageError{msg: "you must provide one or more resources by argument", hint: "localjobs wait --for=condition=complete job/hello"}
	}
	objs, err := parseObjectArgs(fs.Args(), byQuery, objectArgSyntax{
		kind: waitKind,
		badSlash: func(arg, _ string) error {
			return &usageError{msg: fmt.Sprintf("wait supports pod/NAME and job/NAME, not %q", arg), hint: "localjobs wait --for=condition=complete job/hello"}
		},
		badKind: func(kind string) error {
			return &usageError{msg: fmt.Sprintf("wait supports pods and jobs, not %q", kind), hint: "localjobs wait --for=condition=complete job/hello"}
		},
		queryHint: "localjobs wait --for=condition=Ready pods -l app=web",
		nameHint:  "localjobs wait --for=condition=Ready pod NAME",
	})
	if err != nil {
		return err
	}
	targets := objs.named
	if *timeout < 0 {
		*timeout = 7 * 24 * time.Hour
	}
	src, err := e.openSource(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	if k := objs.query; k != nil {
		ms, err := matching(ctx, src, k, *ns, selector)
		if err != nil {
			return err
		}
		for _, m := range ms {
			targets = append(targets, namedObject{k, m.Name})
		}
		if len(targets) == 0 {
			return errors.New("no matching resources found")
		}
	}
	var errs []error
	for _, t := range targets {
		if err := e.waitOne(ctx, src, t, *ns, cond, *timeout); err != nil {
			errs = append(errs, err)
		}
	}
	return e.lastError(errs)
}

// waitKind is the kind of a wait argument: pods or jobs.
func waitKind(s string) *resourceKind {
	switch res := resourceAliases[strings.ToLower(s)]; res {
	case "pods", "jobs":
		return kinds[res]
	}
	return nil
}

// waitOne waits for one object; it prints "pod/x condition met" or
// returns why not.
func (e *env) waitOne(ctx context.Context, src source, t namedObject, ns string, cond waitCondition, timeout time.Duration) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := t.kind.prefix + "/" + t.name
	met := func() error {
		fmt.Fprintf(e.stdout, "%s condition met\n", name)
		return nil
	}
	// settled judges an object's state: done when it meets the condition
	// (err nil) or never will (or the test fails; err says which).
	settled := func(obj any) (done bool, err error) {
		ok, err := cond.met(obj)
		switch {
		case err != nil:
			return true, err
		case ok:
			return true, met()
		}
		if why := never(obj, cond); why != "" {
			return true, &exitError{code: exitFailed, err: fmt.Errorf("%s %s", name, why)}
		}
		return false, nil
	}
	// Watch first (with a daemon), then read, so no change is missed.
	var events chan localapi.WatchEvent
	watchErr := make(chan error, 1)
	if !src.ReadOnly && timeout > 0 {
		stream, err := src.OpenWatch(ctx, t.kind.resource, ns)
		if err != nil {
			return err
		}
		defer stream.Close()
		events = make(chan localapi.WatchEvent, 64)
		go func() {
			for {
				ev, err := stream.Next()
				if err != nil {
					watchErr <- err
					return
				}
				select {
				case events <- ev:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	obj, err := t.kind.get(parent, src, ns, t.name)
	switch {
	case errors.Is(err, localapi.ErrNotFound):
		if cond.kind == "delete" {
			return met()
		}
		if cond.kind != "create" {
			return notFound(t.kind.notFound, t.name)
		}
	case err != nil:
		return err
	default:
		if cond.kind == "create" {
			return met()
		}
		if done, err := settled(obj); done {
			return err
		}
	}
	notMet := func() error {
		if timeout == 0 {
			return &exitError{code: exitFailed, err: fmt.Errorf("condition not met for %s/%s", t.kind.resource, t.name)}
		}
		return &exitError{code: exitFailed, err: fmt.Errorf("timed out waiting for the condition on %s/%s", t.kind.resource, t.name)}
	}
	if events == nil {
		if timeout > 0 {
			return &exitError{code: exitFailed, err: fmt.Errorf("no localjobs daemon is running, so %s will not change: condition not met", name)}
		}
		return notMet()
	}
	for {
		select {
		case ev := <-events:
			o, err := t.kind.decode(ev.Object)
			if err != nil || metaOf(o).Name != t.name {
				continue
			}
			switch {
			case ev.Type == localapi.WatchDeleted && cond.kind == "delete":
				return met()
			case ev.Type == localapi.WatchDeleted:
				if cond.kind != "create" {
					return notFound(t.kind.notFound, t.name)
				}
				continue
			case cond.kind == "create":
				return met()
			case cond.kind == "delete":
				continue
			}
			if done, err := settled(o); done {
				return err
			}
		case err := <-watchErr:
			if ctx.Err() == nil && err != nil {
				return err
			}
			return notMet()
		case <-ctx.Done():
			return notMet()
		}
	}
}

// met reports whether an object meets a condition or JSONPath test.
func (c waitCondition) met(obj any) (bool, error) {
	g, err := generic(obj)
	if err != nil {
		return false, err
	}
	switch c.kind {
	case "condition":
		st, _ := g.(map[string]any)["status"].(map[string]any)
		conds, _ := st["conditions"].([]any)
		for _, x := range conds {
			m, _ := x.(map[string]any)
			if t, _ := m["type"].(string); strings.EqualFold(t, c.condType) {
				s, _ := m["status"].(string)
				return strings.EqualFold(s, c.condStatus), nil
			}
		}
		return false, nil
	case "jsonpath":
		res, err := c.path.FindResults(g)
		if err != nil {
			return false, nil
		}
		var vals []any
		for _, r := range res {
			for _, v := range r {
				vals = append(vals, v.Interface())
			}
		}
		switch {
		case len(vals) == 0:
			return false, nil
		case len(vals) > 1:
			return false, fmt.Errorf("given jsonpath expression matches more than one value: %s", c.pathExpr)
		case !c.hasValue:
			return true, nil
		}
		if _, isMap := vals[0].(map[string]any); isMap {
			return false, fmt.Errorf("jsonpath leads to a nested object or list which is not supported: %s", c.pathExpr)
		}
		return fmt.Sprint(vals[0]) == c.value, nil
	}
	return false, nil
}

// never says why a finished object will never meet cond, or "" when it
// still may: a finished Job's or pod's status does not change any more.
func never(obj any, cond waitCondition) string {
	if cond.kind != "condition" && cond.kind != "jsonpath" {
		return ""
	}
	switch o := obj.(type) {
	case *manifest.Job:
		s := kubectl.JobStatus(o)
		if s != "Complete" && s != "Failed" {
			return ""
		}
		reason := ""
		for _, c := range o.Status.Conditions {
			if (c.Type == manifest.JobFailed || c.Type == manifest.JobComplete) && c.Status == "True" && c.Reason != "" {
				reason = " (" + c.Reason
				if c.Message != "" {
					reason += ": " + c.Message
				}
				reason += ")"
			}
		}
		switch {
		case s == "Failed" && cond.kind == "condition" && strings.EqualFold(cond.condType, manifest.JobComplete):
			return "has failed" + reason + " and will never complete"
		case s == "Complete" && cond.kind == "condition" && strings.EqualFold(cond.condType, manifest.JobFailed):
			return "has completed" + reason + " and will never fail"
		case s == "Failed":
			return "has failed" + reason + "; its status will not change"
		}
		return "has completed" + reason + "; its status will not change"
	case *manifest.Pod:
		if !podTerminal(o) {
			return ""
		}
		row := podRow(o, time.Now())
		if cond.kind == "condition" && strings.EqualFold(cond.condType, "Ready") {
			return fmt.Sprintf("has finished (%s, phase %s) and will never be Ready", row.Status, o.Status.Phase)
		}
		return fmt.Sprintf("has finished (%s, phase %s); its status will not change", row.Status, o.Status.Phase)
	}
	return ""
}
