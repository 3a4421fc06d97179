package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/localjobs/localjobs/localapi"
)

// apply sends manifests to the running daemon, like kubectl apply -f.
func (e *env) apply(ctx context.Context, args []string) error {
	fs := e.flags("apply", "apply -f FILE|DIR")
	files := fs.StringArrayP("filename", "f", nil, "file or directory of manifests (repeatable; - for stdin)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(*files) == 0 {
		return &usageError{msg: "apply needs -f FILE|DIR", hint: "localjobs apply -f job.yaml"}
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	if c == nil {
		return &exitError{code: exitFailed, err: errors.New("no localjobs daemon is running: start one with `localjobs up`, or use `localjobs run -f` to run once")}
	}
	paths, err := manifestFiles(*files)
	if err != nil {
		return err
	}
	var req localapi.ApplyRequest
	for _, p := range paths {
		var data []byte
		name, abs := p, ""
		if p == "-" {
			name = "<stdin>"
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(p)
			abs, _ = filepath.Abs(p)
		}
		if err != nil {
			return err
		}
		req.Files = append(req.Files, localapi.File{Name: name, Path: abs, Data: data})
	}
	resp, err := c.Apply(ctx, req)
	if err != nil {
		return err
	}
	printApply(e.stdout, e.stderr, resp, nil)
	if len(resp.Errors) > 0 {
		return &exitError{code: exitFailed}
	}
	return nil
}

// del deletes objects, like kubectl delete KIND NAME | -f FILE.
func (e *env) del(ctx context.Context, args []string) error {
	fs := e.flags("delete", "delete pod|job|cronjob NAME... | -f FILE")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	files := fs.StringArrayP("filename", "f", nil, "delete the objects of these manifests")
	grace := fs.Int64("grace-period", -1, "seconds to let containers stop (-1 = the pod's own)")
	force := fs.Bool("force", false, "stop containers immediately")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	if c == nil {
		return &exitError{code: exitFailed, err: errors.New("no localjobs daemon is running: start one with `localjobs up`")}
	}
	type target struct{ res, ns, name string }
	var targets []target
	if len(*files) > 0 {
		objs, bad, err := loadManifests(*files, os.Stdin, e.stderr)
		if err != nil {
			return err
		}
		if bad {
			return &exitError{code: exitFailed}
		}
		for _, o := range objs {
			targets = append(targets, target{resourceAliases[lower(o.Kind)], o.Meta().Namespace, o.Meta().Name})
		}
	} else {
		if fs.NArg() < 2 {
			return &usageError{msg: "delete needs KIND NAME or -f FILE", hint: "localjobs delete job hello"}
		}
		res, ok := resourceAliases[fs.Arg(0)]
		if !ok {
			return &usageError{msg: fmt.Sprintf("the server doesn't have a resource type %q", fs.Arg(0)), hint: "localjobs delete pod|job NAME"}
		}
		for _, n := range fs.Args()[1:] {
			targets = append(targets, target{res, *ns, n})
		}
	}
	// As kubectl: --grace-period=0 without --force means 1 (no accidental
	// SIGKILL); --force without a grace period means 0 (kill at once).
	var g *int64
	switch {
	case *grace == 0 && !*force:
		one := int64(1)
		g = &one
	case *grace >= 0:
		g = grace
	case *force:
		zero := int64(0)
		g = &zero
	}
	failed := false
	for _, t := range targets {
		var err error
		prefix := "pod"
		switch t.res {
		case "pods":
			err = c.DeletePod(ctx, t.ns, t.name, g)
		case "jobs":
			prefix = "job.batch"
			err = c.DeleteJob(ctx, t.ns, t.name)
		case "cronjobs":
			prefix = "cronjob.batch"
			err = c.DeleteCronJob(ctx, t.ns, t.name)
		default:
			continue
		}
		if errors.Is(err, localapi.ErrNotFound) {
			fmt.Fprintln(e.stderr, notFound(t.res, t.name))
			failed = true
			continue
		} else if err != nil {
			return err
		}
		if *force {
			fmt.Fprintf(e.stdout, "%s %q force deleted\n", prefix, t.name)
		} else {
			fmt.Fprintf(e.stdout, "%s %q deleted\n", prefix, t.name)
		}
	}
	if failed {
		return &exitError{code: exitFailed}
	}
	return nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
