package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/schedule"
)

// The daemon is the API's Controller.
var _ localapi.Controller = (*Daemon)(nil)

// Apply applies manifests with the semantics of package apply (DESIGN §6).
func (d *Daemon) Apply(ctx context.Context, req localapi.ApplyRequest) (localapi.ApplyResponse, error) {
	return d.applier.Apply(ctx, req)
}

// DeletePod is a user's delete, which also forgets the pod's applied
// record (package apply). grace (seconds; nil = the pod's own period, 0 =
// at once) is how long its containers get to stop.
func (d *Daemon) DeletePod(ctx context.Context, ns, name string, grace *int64) error {
	var g *time.Duration
	if grace != nil {
		dur := time.Duration(*grace) * time.Second
		g = &dur
	}
	return d.applier.Delete(ctx, manifest.KindPod, ns, name, g)
}

// DeleteJob is a user's delete of a Job with its pods.
func (d *Daemon) DeleteJob(ctx context.Context, ns, name string) error {
	return d.applier.Delete(ctx, manifest.KindJob, ns, name, nil)
}

// DeleteCronJob is a user's delete of a CronJob and the Jobs it controls.
func (d *Daemon) DeleteCronJob(ctx context.Context, ns, name string) error {
	return d.applier.Delete(ctx, manifest.KindCronJob, ns, name, nil)
}

// SetSuspend sets spec.suspend of a Job through the Job controller, which
// stops its pods (suspend) or starts them again (resume).
func (d *Daemon) SetSuspend(ctx context.Context, ns, name string, suspend bool) error {
	j, err := d.DB.Job(ctx, ns, name)
	if err != nil {
		return err
	}
	upd := *j
	upd.Spec.Suspend = &suspend
	return d.Controller.UpdateJob(ctx, &upd)
}

// SetCronJobSuspend suspends or resumes a CronJob's schedule.
func (d *Daemon) SetCronJobSuspend(ctx context.Context, ns, name string, suspend bool) error {
	return d.cron.setCronJobSuspend(ctx, ns, name, suspend)
}

// InstantiateCronJob is `create job NAME --from=cronjob/CJ`. Under
// concurrencyPolicy Forbid it is refused while a Job of the CronJob is
// active, unless force.
func (d *Daemon) InstantiateCronJob(ctx context.Context, ns, cronJob, job string, force bool) (*manifest.Job, error) {
	cj, err := d.DB.CronJob(ctx, ns, cronJob)
	if errors.Is(err, runner.ErrObjectNotFound) {
		return nil, &localapi.BadRequestError{Msg: fmt.Sprintf("from must be an existing cronjob: cronjobs.batch %q not found", cronJob)}
	} else if err != nil {
		return nil, err
	}
	if !force {
		jobs, err := d.cron.JobsOf(ctx, cj)
		if err != nil {
			return nil, err
		}
		if err := schedule.ManualForbidden(cj, jobs); err != nil {
			return nil, &localapi.ConflictError{Msg: err.Error() + "; add --force to start it anyway"}
		}
	}
	return d.createJob(ctx, schedule.NewManualJob(cj, job))
}

// CreateJob is `create job NAME --image`.
func (d *Daemon) CreateJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error) {
	manifest.Default(j)
	if probs := manifest.Validate(j); len(probs) > 0 {
		var errs []error
		for _, p := range probs {
			errs = append(errs, p)
		}
		return nil, &localapi.BadRequestError{Msg: errors.Join(errs...).Error()}
	}
	return d.createJob(ctx, j)
}

func (d *Daemon) createJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error) {
	got, err := d.cron.createJob(ctx, j)
	if errors.Is(err, schedule.ErrAlreadyExists) {
		return nil, &localapi.ConflictError{Msg: fmt.Sprintf("jobs.batch %q already exists", j.Name)}
	}
	return got, err
}

// TerminatePod stops a pod's containers (kill: at once) and keeps its
// record: run's stop on a timeout or a signal.
func (d *Daemon) TerminatePod(ctx context.Context, ns, name string, kill bool) error {
	if !kill {
		if _, err := d.DB.Pod(ctx, ns, name); err != nil {
			return err
		}
		d.Controller.TerminatePod(ns, name, "", "")
		return nil
	}
	return d.Controller.KillPod(ctx, ns, name)
}

// Exec runs a command in the running instance of a pod's container, as
// kubectl exec does.
func (d *Daemon) Exec(ctx context.Context, req localapi.ExecRequest, stdout, stderr io.Writer) (int, error) {
	ex, ok := d.Runtime.(runner.Execer)
	if !ok {
		return 0, &localapi.BadRequestError{Msg: "this container runtime cannot exec"}
	}
	rec, err := d.DB.Pod(ctx, req.Namespace, req.Pod)
	if err != nil {
		return 0, err
	}
	if p := rec.Pod.Status.Phase; p == manifest.PodSucceeded || p == manifest.PodFailed {
		return 0, &localapi.BadRequestError{Msg: fmt.Sprintf("cannot exec into a container in a completed pod; current phase is %s", p)}
	}
	cr, err := pickContainer(rec, req.Container)
	if err != nil {
		return 0, err
	}
	if cr.Current == nil || cr.Current.ID == "" || cr.Current.Step != runner.StepStarted {
		return 0, &localapi.BadRequestError{Msg: fmt.Sprintf("unable to upgrade connection: container not found (%q)", cr.Name)}
	}
	return ex.Exec(ctx, cr.Current.ID, req.Command, stdout, stderr)
}

// Subscribe starts a subscription to the controllers' changes that keep
// accepts.
func (d *Daemon) Subscribe(keep func(*runner.Change) bool) *runner.Subscription {
	return d.Controller.SubscribeFilter(keep)
}
