package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/localjobs/localjobs/apply"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/state"
)

// view is localapi.Reader over a store: the running daemon's, or a state
// opened read-only when no daemon runs (then cron and subscribe are nil:
// nothing changes, so nothing is followed).
type view struct {
	db        *state.DB
	cron      *cronJobs
	subscribe func(keep func(*runner.Change) bool) *runner.Subscription
}

var _ localapi.Reader = view{}

func (v view) Pods(ctx context.Context, ns string) ([]*runner.PodRecord, error) {
	return v.db.Pods(ctx, ns)
}

func (v view) Pod(ctx context.Context, ns, name string) (*runner.PodRecord, error) {
	return v.db.Pod(ctx, ns, name)
}

func (v view) PodsLabelled(ctx context.Context, ns, key string, values []string) ([]*runner.PodRecord, error) {
	return v.db.PodsLabelled(ctx, ns, key, values)
}

func (v view) PodsOfJob(ctx context.Context, jobUID string) ([]*runner.PodRecord, error) {
	return v.db.PodsOfJob(ctx, jobUID)
}

// Jobs and CronJobs answer shared records (state.DB.JobsShared): the API
// encodes them and the metrics read them; neither changes them.
func (v view) Jobs(ctx context.Context, ns string) ([]*manifest.Job, error) {
	return v.db.JobsShared(ctx, ns)
}

func (v view) Job(ctx context.Context, ns, name string) (*manifest.Job, error) {
	return v.db.Job(ctx, ns, name)
}

// CronJobs lists CronJobs; a running daemon fills status.active from the
// Jobs that run now.
func (v view) CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error) {
	cjs, err := v.db.CronJobsShared(ctx, ns)
	if err != nil || v.cron == nil || len(cjs) == 0 {
		return cjs, err
	}
	// The Jobs are read once and grouped by their CronJob, not once per
	// CronJob (1,000 CronJobs would read every Job 1,000 times).
	jobs, err := v.db.JobsShared(ctx, ns)
	if err != nil {
		return nil, err
	}
	byOwner := map[string][]*manifest.Job{}
	for _, j := range jobs {
		if o := cronJobOwner(j); o != nil {
			byOwner[o.UID] = append(byOwner[o.UID], j)
		}
	}
	for i, cj := range cjs {
		cjs[i] = withActive(cj, byOwner[cj.UID])
	}
	return cjs, nil
}

func (v view) CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error) {
	cj, err := v.db.CronJob(ctx, ns, name)
	if err != nil || v.cron == nil {
		return cj, err
	}
	return v.cron.withLiveActive(ctx, cj), nil
}

func (v view) Events(ctx context.Context, ns, uid string) ([]*manifest.Event, error) {
	return v.db.Events(ctx, ns, uid)
}

// History lists recorded runs, newest first.
func (v view) History(ctx context.Context, q localapi.HistoryQuery) ([]*localapi.HistoryRun, error) {
	return v.db.Runs(ctx, q)
}

func (v view) AppliedObjects(ctx context.Context) ([]*apply.Record, error) {
	return v.db.AppliedObjects(ctx)
}

// Logs writes a container's log as kubectl logs does. Following, it prints
// what the file holds, then the lines the daemon captures as they come,
// until that container instance has exited.
func (v view) Logs(ctx context.Context, w io.Writer, req localapi.LogRequest) error {
	rec, err := v.db.Pod(ctx, req.Namespace, req.Pod)
	if err != nil {
		return err
	}
	cr, err := pickContainer(rec, req.Container)
	if err != nil {
		return err
	}
	run := cr.Current
	if req.Previous {
		run = cr.Last
		if run == nil {
			return &localapi.BadRequestError{Msg: fmt.Sprintf("previous terminated container %q in pod %q not found", cr.Name, req.Pod)}
		}
	}
	if run == nil {
		reason := ""
		if cr.Waiting != nil {
			reason = ": " + cr.Waiting.Reason
		}
		return &localapi.BadRequestError{Msg: fmt.Sprintf("container %q in pod %q is waiting to start%s", cr.Name, req.Pod, reason)}
	}
	var sub *runner.Subscription
	if req.Follow && !req.Previous && v.subscribe != nil && run.Step != runner.StepExited {
		// Subscribe before reading the file, so no line falls between.
		uid, name := rec.Pod.UID, cr.Name
		sub = v.subscribe(func(ch *runner.Change) bool {
			return ch.Log != nil && ch.Log.PodUID == uid && ch.Log.Container == name ||
				ch.Record != nil && ch.Record.Pod.UID == uid ||
				ch.Pod != nil && ch.Deleted && ch.Pod.Namespace == req.Namespace && ch.Pod.Name == req.Pod
		})
		defer sub.Close()
	}
	path := v.db.LogPath(rec.Pod.Namespace, rec.Pod.Name, rec.Pod.UID, cr.Name, run.Restart)
	var last time.Time
	opts := state.ReadOptions{Timestamps: req.Timestamps, Tail: req.TailLines, Last: &last}
	if req.SinceSeconds > 0 {
		opts.Since = time.Now().Add(-time.Duration(req.SinceSeconds) * time.Second)
	}
	if err := state.ReadLog(path, w, opts); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if sub == nil {
		return nil
	}
	for {
		ch, err := sub.Next(ctx)
		if err != nil {
			return nil // the client went away, or the daemon stops
		}
		switch {
		case ch.Log != nil:
			if !ch.Log.Time.After(last) {
				continue // already in the file
			}
			last = ch.Log.Time
			if err := writeLogLine(w, ch.Log, req.Timestamps); err != nil {
				return err
			}
		case ch.Deleted:
			return nil
		case ch.Record != nil:
			c2, _ := pickContainer(ch.Record, cr.Name)
			if c2 == nil || c2.Current == nil || c2.Current.Restart != run.Restart || c2.Current.Step == runner.StepExited {
				return nil
			}
		}
	}
}

func writeLogLine(w io.Writer, l *runner.LogLine, timestamps bool) error {
	var b []byte
	if timestamps {
		b = l.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, ' ')
	}
	b = append(b, l.Line...)
	if !l.Partial {
		b = append(b, '\n')
	}
	_, err := w.Write(b)
	return err
}

// pickContainer is the container a log or exec request names, or the
// pod's default one: the kubectl.kubernetes.io/default-container
// annotation, else the first app container.
func pickContainer(rec *runner.PodRecord, name string) (*runner.ContainerRecord, error) {
	if name == "" {
		var apps []*runner.ContainerRecord
		for _, c := range rec.Containers {
			if !c.Init {
				apps = append(apps, c)
			}
		}
		if len(apps) >= 1 {
			def := rec.Pod.Annotations["kubectl.kubernetes.io/default-container"]
			for _, c := range apps {
				if c.Name == def {
					return c, nil
				}
			}
			return apps[0], nil
		}
	}
	for _, c := range rec.Containers {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, &localapi.BadRequestError{Msg: fmt.Sprintf("container %s is not valid for pod %s", name, rec.Pod.Name)}
}
