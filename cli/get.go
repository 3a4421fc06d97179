package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

var resourceAliases = map[string]string{
	"pod": "pods", "pods": "pods", "po": "pods",
	"job": "jobs", "jobs": "jobs", "job.batch": "jobs", "jobs.batch": "jobs",
}

// get lists pods or jobs like kubectl get.
func (e *env) get(ctx context.Context, args []string) error {
	fs := e.flags("get", "get pods|jobs [NAME] [-o wide|json] [-n NS|-A]")
	output := fs.StringP("output", "o", "", "output format: wide, json or name")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	all := fs.BoolP("all-namespaces", "A", false, "all namespaces")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{msg: "get needs a resource type", hint: "localjobs get pods"}
	}
	kind, name := fs.Arg(0), fs.Arg(1)
	if k, n, ok := strings.Cut(kind, "/"); ok {
		kind, name = k, n
	}
	res, ok := resourceAliases[kind]
	if !ok {
		return &usageError{msg: fmt.Sprintf("the server doesn't have a resource type %q", kind), hint: "localjobs get pods|jobs"}
	}
	switch *output {
	case "", "wide", "json", "name":
	default:
		return &usageError{msg: fmt.Sprintf("unsupported output format %q", *output), hint: "-o wide|json|name"}
	}
	namespace := *ns
	if *all {
		namespace = ""
	}
	src, ok, err := e.openSource(ctx)
	if err != nil {
		return err
	}
	var objs []any
	var pods []*manifest.Pod
	var jobs []*manifest.Job
	if ok {
		defer src.Close()
		switch res {
		case "pods":
			if name != "" {
				r, err := src.PodRecord(ctx, *ns, name)
				if errors.Is(err, runner.ErrObjectNotFound) {
					return notFound("pods", name)
				} else if err != nil {
					return err
				}
				pods = append(pods, &r.Pod)
			} else if pods, err = src.Pods(ctx, namespace); err != nil {
				return err
			}
			for _, p := range pods {
				objs = append(objs, p)
			}
		case "jobs":
			if name != "" {
				j, err := src.Job(ctx, *ns, name)
				if errors.Is(err, runner.ErrObjectNotFound) {
					return notFound("jobs.batch", name)
				} else if err != nil {
					return err
				}
				jobs = append(jobs, j)
			} else if jobs, err = src.Jobs(ctx, namespace); err != nil {
				return err
			}
			for _, j := range jobs {
				objs = append(objs, j)
			}
		}
	} else if name != "" {
		return notFound(res, name)
	}
	switch *output {
	case "json":
		return printJSON(e.stdout, objs, name == "")
	case "name":
		prefix := map[string]string{"pods": "pod/", "jobs": "job.batch/"}[res]
		for _, p := range pods {
			fmt.Fprintln(e.stdout, prefix+p.Name)
		}
		for _, j := range jobs {
			fmt.Fprintln(e.stdout, prefix+j.Name)
		}
		return nil
	}
	if len(objs) == 0 {
		if *all {
			fmt.Fprintln(e.stderr, "No resources found")
		} else {
			fmt.Fprintf(e.stderr, "No resources found in %s namespace.\n", *ns)
		}
		return nil
	}
	now := time.Now()
	tw := newTable(e.stdout)
	nsCol := func(n string) string {
		if *all {
			return n + "\t"
		}
		return ""
	}
	nsHead := ""
	if *all {
		nsHead = "NAMESPACE\t"
	}
	wide := *output == "wide"
	switch res {
	case "pods":
		fmt.Fprintf(tw, "%sNAME\tREADY\tSTATUS\tRESTARTS\tAGE", nsHead)
		if wide {
			fmt.Fprint(tw, "\tIP\tNODE\tNOMINATED NODE\tREADINESS GATES")
		}
		fmt.Fprintln(tw)
		for _, p := range pods {
			r := podRow(p, now)
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s", nsCol(p.Namespace), r.Name, r.Ready, r.Status, r.Restarts, r.Age)
			if wide {
				fmt.Fprintf(tw, "\t%s\t%s\t<none>\t<none>", orNone(p.Status.PodIP), orNone(p.Spec.NodeName))
			}
			fmt.Fprintln(tw)
		}
	case "jobs":
		fmt.Fprintf(tw, "%sNAME\tSTATUS\tCOMPLETIONS\tDURATION\tAGE", nsHead)
		if wide {
			fmt.Fprint(tw, "\tCONTAINERS\tIMAGES\tSELECTOR")
		}
		fmt.Fprintln(tw)
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s", nsCol(j.Namespace), j.Name, jobStatus(j), jobCompletions(j), jobDuration(j, now), age(j.CreationTimestamp, now))
			if wide {
				var names, images []string
				for _, c := range j.Spec.Template.Spec.Containers {
					names = append(names, c.Name)
					images = append(images, c.Image)
				}
				sel := "<none>"
				if j.Spec.Selector != nil {
					var kv []string
					for k, v := range j.Spec.Selector.MatchLabels {
						kv = append(kv, k+"="+v)
					}
					sel = strings.Join(kv, ",")
				}
				fmt.Fprintf(tw, "\t%s\t%s\t%s", strings.Join(names, ","), strings.Join(images, ","), sel)
			}
			fmt.Fprintln(tw)
		}
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
