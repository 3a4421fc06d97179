package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/localjobs/localjobs/localapi"
)

// suspendResume sets spec.suspend of a CronJob or a Job: `suspend|resume
// cronjob|job NAME`. A suspended CronJob starts no Jobs (on resume, the
// newest missed slot runs, as Kubernetes does); a suspended Job's pods are
// stopped without counting as failures.
func (e *env) suspendResume(ctx context.Context, verb string, args []string) error {
	use := verb + " cronjob|job NAME..."
	fs := e.flags(verb, use)
	ns := fs.StringP("namespace", "n", "default", "namespace")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{msg: verb + " needs cronjob|job NAME", hint: "localjobs " + verb + " cronjob nightly-backup"}
	}
	kind, names := fs.Arg(0), fs.Args()[1:]
	if k, n, ok := strings.Cut(kind, "/"); ok {
		kind, names = k, append([]string{n}, names...)
	}
	res := resourceAliases[kind]
	if res != "cronjobs" && res != "jobs" {
		return &usageError{msg: fmt.Sprintf("%s supports cronjob and job, not %q", verb, kind), hint: "localjobs " + verb + " cronjob nightly-backup"}
	}
	if len(names) == 0 {
		return &usageError{msg: verb + " needs a NAME", hint: "localjobs " + verb + " " + kind + " NAME"}
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	if c == nil {
		return &exitError{code: exitFailed, err: errors.New("no localjobs daemon is running: start one with `localjobs up`")}
	}
	suspend := verb == "suspend"
	past := map[bool]string{true: "suspended", false: "resumed"}[suspend]
	failed := false
	for _, name := range names {
		prefix := "job.batch/"
		if res == "cronjobs" {
			prefix = "cronjob.batch/"
			err = c.SetCronJobSuspend(ctx, *ns, name, suspend)
		} else {
			err = c.SetSuspend(ctx, *ns, name, suspend)
		}
		if errors.Is(err, localapi.ErrNotFound) {
			fmt.Fprintln(e.stderr, notFound(res+".batch", name))
			failed = true
			continue
		} else if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s%s %s\n", prefix, name, past)
	}
	if failed {
		return &exitError{code: exitFailed}
	}
	return nil
}
