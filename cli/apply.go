package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// dryRun checks kubectl's --dry-run value: "none" (the default), "client"
// (also a bare --dry-run), or "server", which localjobs does not have; it
// reports whether to only validate and print.
func dryRun(v string) (bool, error) {
	switch v {
	case "none", "false", "":
		return false, nil
	case "client", "true":
		return true, nil
	case "server":
		return false, &usageError{msg: "localjobs has no server-side dry run: --dry-run=client validates exactly as the daemon does, except for pod security (checked when the pod is applied)", hint: "--dry-run=client"}
	}
	return false, &usageError{msg: fmt.Sprintf(`Invalid dry-run value (%v). Must be "none", "server", or "client".`, v)}
}

// apply sends manifests to the running daemon, like kubectl apply -f.
func (e *env) apply(ctx context.Context, args []string) error {
	fs := e.flags("apply", "apply -f FILE|DIR [-n NS] [--dry-run=client [-o yaml|json|name]]")
	files := fs.StringArrayP("filename", "f", nil, "file or directory of manifests (repeatable; - for stdin)")
	ns := fs.StringP("namespace", "n", "", "namespace of the objects that name none (default: default); an object naming another is refused")
	dry := fs.String("dry-run", "none", `"client": validate and print what would be applied, sending nothing to the daemon`)
	fs.Lookup("dry-run").NoOptDefVal = "client"
	output := fs.StringP("output", "o", "", "with --dry-run: print the objects as yaml, json or name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(*files) == 0 {
		return &usageError{msg: "must specify one of -f and -k", hint: "localjobs apply -f job.yaml"}
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q; apply takes its files with -f", fs.Arg(0)), hint: "localjobs apply -f " + fs.Arg(0)}
	}
	isDry, err := dryRun(*dry)
	if err != nil {
		return err
	}
	out, err := parseOutput(*output)
	if err != nil {
		return err
	}
	switch {
	case out.kind != "" && !isDry:
		return &usageError{msg: "apply prints objects (-o) only with --dry-run=client", hint: "localjobs apply -f job.yaml --dry-run=client -o yaml"}
	case out.kind == "wide" || out.kind == "custom-columns":
		return &usageError{msg: fmt.Sprintf("apply --dry-run does not print -o %s", out.kind), hint: "-o yaml|json|name"}
	}
	if isDry {
		return e.applyDryRun(ctx, *files, *ns, out)
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
	req := localapi.ApplyRequest{Namespace: *ns}
	for _, p := range paths {
		var data []byte
		name, abs := p, ""
		if p == "-" {
			name = "<stdin>"
			data, err = io.ReadAll(e.stdin)
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

// applyDryRun validates the files as the daemon would and prints what
// apply would do, as kubectl apply --dry-run=client: "job.batch/x created
// (dry run)" ("configured" when a running daemon has the object), or the
// objects with -o. Nothing is sent to a daemon.
func (e *env) applyDryRun(ctx context.Context, files []string, ns string, out outputFormat) error {
	objs, bad, err := loadManifests(files, ns, e.stdin, e.stderr)
	if err != nil {
		return err
	}
	if out.structured() {
		var all []any
		for _, o := range objs {
			all = append(all, o.Obj)
		}
		if err := printStructured(e.stdout, out, all, len(all) != 1, manifestName); err != nil {
			return err
		}
	} else {
		c, _ := e.dial(ctx) // only to say created or configured
		for _, o := range objs {
			action := "created"
			if c != nil && exists(ctx, c, o) {
				action = "configured"
			}
			fmt.Fprintf(e.stdout, "%s %s (dry run)\n", manifestName(o.Obj), action)
		}
	}
	if bad {
		return &exitError{code: exitFailed}
	}
	return nil
}

// exists reports whether the daemon has an object of o's kind and name.
func exists(ctx context.Context, c *localapi.Client, o manifest.Object) bool {
	m := o.Meta()
	var err error
	switch o.Kind {
	case manifest.KindPod:
		_, err = c.Pod(ctx, m.Namespace, m.Name)
	case manifest.KindJob:
		_, err = c.Job(ctx, m.Namespace, m.Name)
	case manifest.KindCronJob:
		_, err = c.CronJob(ctx, m.Namespace, m.Name)
	default:
		return false
	}
	return err == nil
}

// manifestName is an object as kubectl names it in -o name and in apply's
// output: pod/x, job.batch/x, configmap/x.
func manifestName(o any) string {
	switch v := o.(type) {
	case manifest.Object:
		return manifestName(v.Obj)
	case *manifest.ConfigMap:
		return "configmap/" + v.Name
	case *manifest.Secret:
		return "secret/" + v.Name
	}
	m := metaOf(o)
	name := m.Name
	if name == "" {
		name = m.GenerateName + "<generated>"
	}
	return resourceName(kindOf(o)) + "/" + name
}
