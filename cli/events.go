package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// events lists events like kubectl events: LAST SEEN TYPE REASON OBJECT MESSAGE.
func (e *env) events(ctx context.Context, args []string) error {
	fs := e.flags("events", "events [--for KIND/NAME] [-n NS|-A]")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	all := fs.BoolP("all-namespaces", "A", false, "all namespaces")
	forObj := fs.String("for", "", "only events of this object, e.g. pod/simple-task")
	if err := parse(fs, args); err != nil {
		return err
	}
	src, err := e.openSource(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	uid := ""
	if *forObj != "" {
		kind, name, found := strings.Cut(*forObj, "/")
		res := resourceAliases[kind]
		if !found || res == "" {
			return &usageError{msg: fmt.Sprintf("--for %q: want pod/NAME or job/NAME", *forObj), hint: "localjobs events --for pod/simple-task"}
		}
		switch res {
		case "pods":
			r, err := src.PodRecord(ctx, *ns, name)
			if err != nil {
				return lookupErr(err, "pods", name)
			}
			uid = r.Pod.UID
		case "jobs":
			j, err := src.Job(ctx, *ns, name)
			if err != nil {
				return lookupErr(err, "jobs.batch", name)
			}
			uid = j.UID
		case "cronjobs":
			cj, err := src.CronJob(ctx, *ns, name)
			if err != nil {
				return lookupErr(err, "cronjobs.batch", name)
			}
			uid = cj.UID
		}
	}
	namespace := *ns
	if *all {
		namespace = ""
	}
	var evs []*manifest.Event
	if *all && uid == "" {
		// Events are listed per namespace; gather the namespaces in use.
		pods, err := src.Pods(ctx, "")
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, p := range pods {
			if !seen[p.Namespace] {
				seen[p.Namespace] = true
				more, err := src.Events(ctx, p.Namespace, "")
				if err != nil {
					return err
				}
				evs = append(evs, more...)
			}
		}
	} else if evs, err = src.Events(ctx, namespace, uid); err != nil {
		return err
	}
	if len(evs) == 0 {
		fmt.Fprintf(e.stderr, "No events found in %s namespace.\n", *ns)
		return nil
	}
	sort.SliceStable(evs, func(i, j int) bool { return evTime(evs[i]).Before(evTime(evs[j])) })
	now := time.Now()
	tw := newTable(e.stdout)
	if *all {
		fmt.Fprint(tw, "NAMESPACE\t")
	}
	fmt.Fprintln(tw, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
	for _, ev := range evs {
		if *all {
			fmt.Fprintf(tw, "%s\t", ev.Namespace)
		}
		obj := strings.ToLower(ev.InvolvedObject.Kind) + "/" + ev.InvolvedObject.Name
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", HumanDuration(now.Sub(evTime(ev))), ev.Type, ev.Reason, obj, ev.Message)
	}
	return tw.Flush()
}

func evTime(e *manifest.Event) time.Time {
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.LastTimestamp.Time
}

func isNotFound(err error) bool { return errors.Is(err, localapi.ErrNotFound) }
