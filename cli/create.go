package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// create makes a Job, like kubectl create job: from a CronJob's
// jobTemplate (--from=cronjob/CJ, refused while a Job of a Forbid CronJob
// is active unless --force), or with one container named NAME running
// IMAGE (--image IMG [-- CMD...], restartPolicy Never).
func (e *env) create(ctx context.Context, args []string) error {
	const use = "create job NAME --from=cronjob/CJ [--force] | --image IMG [-- CMD...]"
	fs := e.flags("create", use)
	ns := fs.StringP("namespace", "n", "default", "namespace")
	from := fs.String("from", "", "cronjob/NAME: make the Job from this CronJob's jobTemplate")
	image := fs.String("image", "", "image of the Job's one container")
	force := fs.Bool("force", false, "with --from: create the Job even while the CronJob's concurrencyPolicy Forbid has a Job active")
	if err := parse(fs, args); err != nil {
		return err
	}
	pos, cmd := fs.Args(), []string(nil)
	if n := fs.ArgsLenAtDash(); n >= 0 {
		pos, cmd = fs.Args()[:n], fs.Args()[n:]
	}
	if len(pos) == 0 || (pos[0] != "job" && pos[0] != "jobs" && pos[0] != "job.batch") {
		return &usageError{msg: "create supports only: create job NAME", hint: "localjobs " + use}
	}
	if len(pos) != 2 {
		return &usageError{msg: "create job needs exactly one NAME", hint: "localjobs " + use}
	}
	name := pos[1]
	switch {
	case *from == "" && *image == "":
		return &usageError{msg: "either --image or --from must be specified", hint: "localjobs " + use}
	case *from != "" && *image != "":
		return &usageError{msg: "cannot specify both --from and --image", hint: "localjobs " + use}
	case *from != "" && len(cmd) > 0:
		return &usageError{msg: "cannot specify --from and command", hint: "localjobs " + use}
	case *force && *from == "":
		return &usageError{msg: "--force only applies to --from", hint: "localjobs " + use}
	}
	var cronJob string
	if *from != "" {
		kind, n, ok := strings.Cut(*from, "/")
		if !ok || n == "" || resourceAliases[kind] != "cronjobs" {
			return &usageError{msg: fmt.Sprintf("from must be an existing cronjob, given as cronjob/NAME, not %q", *from), hint: "localjobs create job backup-now --from=cronjob/nightly-backup"}
		}
		cronJob = n
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	if c == nil {
		return &exitError{code: exitFailed, err: errors.New("no localjobs daemon is running: start one with `localjobs up`")}
	}
	if cronJob != "" {
		_, err = c.InstantiateCronJob(ctx, *ns, cronJob, name, *force)
	} else {
		_, err = c.CreateJob(ctx, imageJob(*ns, name, *image, cmd))
	}
	if err != nil {
		var se *localapi.StatusError
		if errors.As(err, &se) && se.Status.Reason == "Conflict" {
			return &apiError{reason: "Conflict", msg: se.Status.Message}
		}
		return err
	}
	fmt.Fprintf(e.stdout, "job.batch/%s created\n", name)
	return nil
}

// imageJob is kubectl create job NAME --image IMG -- CMD...: one container
// named NAME, restartPolicy Never.
func imageJob(ns, name, image string, cmd []string) *manifest.Job {
	return &manifest.Job{
		TypeMeta:   manifest.TypeMeta{APIVersion: "batch/v1", Kind: manifest.KindJob},
		ObjectMeta: manifest.ObjectMeta{Name: name, Namespace: ns},
		Spec: manifest.JobSpec{Template: manifest.PodTemplateSpec{Spec: manifest.PodSpec{
			RestartPolicy: manifest.RestartPolicyNever,
			Containers:    []manifest.Container{{Name: name, Image: image, Command: cmd}},
		}}},
	}
}
