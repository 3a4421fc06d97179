package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/state"
)

// source is where the read verbs read: the running daemon over its socket,
// or, when none runs, the state opened read-only.
type source interface {
	Pods(ctx context.Context, ns string) ([]*manifest.Pod, error)
	PodRecord(ctx context.Context, ns, name string) (*runner.PodRecord, error)
	Jobs(ctx context.Context, ns string) ([]*manifest.Job, error)
	Job(ctx context.Context, ns, name string) (*manifest.Job, error)
	CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error)
	CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error)
	Events(ctx context.Context, ns, uid string) ([]*manifest.Event, error)
	Logs(ctx context.Context, w io.Writer, req localapi.LogRequest) error
	Close() error
}

// dial connects to the daemon of the state dir, or returns nil when none
// runs.
func (e *env) dial(ctx context.Context) (*localapi.Client, error) {
	dir, err := daemon.StateDir(e.stateDir)
	if err != nil {
		return nil, err
	}
	c, err := localapi.Dial(ctx, localapi.SocketPath(dir), Version)
	var vm *localapi.VersionMismatchError
	switch {
	case errors.Is(err, localapi.ErrNoDaemon):
		return nil, nil
	case errors.As(err, &vm):
		fmt.Fprintf(e.stderr, "Warning: %v\n", err)
		return c, nil
	case err != nil:
		return nil, err
	}
	return c, nil
}

// openSource returns the daemon or the read-only store; ok is false when
// there is neither (nothing ever ran with this state dir).
func (e *env) openSource(ctx context.Context) (src source, ok bool, err error) {
	c, err := e.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	if c != nil {
		return clientSource{c}, true, nil
	}
	db, ok, err := e.openStore()
	if err != nil || !ok {
		return nil, ok, err
	}
	return storeSource{db}, true, nil
}

type clientSource struct{ *localapi.Client }

func (clientSource) Close() error { return nil }

type storeSource struct{ db *state.DB }

func (s storeSource) Close() error { return s.db.Close() }

func (s storeSource) Pods(ctx context.Context, ns string) ([]*manifest.Pod, error) {
	recs, err := s.db.Pods(ctx, ns)
	if err != nil {
		return nil, err
	}
	out := make([]*manifest.Pod, len(recs))
	for i, r := range recs {
		out[i] = &r.Pod
	}
	return out, nil
}

func (s storeSource) PodRecord(ctx context.Context, ns, name string) (*runner.PodRecord, error) {
	return s.db.Pod(ctx, ns, name)
}

func (s storeSource) Jobs(ctx context.Context, ns string) ([]*manifest.Job, error) {
	return s.db.Jobs(ctx, ns)
}

func (s storeSource) Job(ctx context.Context, ns, name string) (*manifest.Job, error) {
	return s.db.Job(ctx, ns, name)
}

func (s storeSource) CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error) {
	return s.db.CronJobs(ctx, ns)
}

func (s storeSource) CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error) {
	return s.db.CronJob(ctx, ns, name)
}

func (s storeSource) Events(ctx context.Context, ns, uid string) ([]*manifest.Event, error) {
	return s.db.Events(ctx, ns, uid)
}

func (s storeSource) Logs(ctx context.Context, w io.Writer, req localapi.LogRequest) error {
	rec, err := s.db.Pod(ctx, req.Namespace, req.Pod)
	if err != nil {
		return err
	}
	var cr *runner.ContainerRecord
	for _, c := range rec.Containers {
		if c.Name == req.Container {
			cr = c
		}
	}
	if cr == nil {
		return fmt.Errorf("container %s is not valid for pod %s", req.Container, req.Pod)
	}
	run := cr.Current
	if req.Previous {
		run = cr.Last
		if run == nil {
			return fmt.Errorf("previous terminated container %q in pod %q not found", cr.Name, req.Pod)
		}
	}
	if run == nil {
		return fmt.Errorf("container %q in pod %q is waiting to start: %s", cr.Name, req.Pod, waitingReason(cr))
	}
	opts := state.ReadOptions{Timestamps: req.Timestamps, Tail: req.TailLines}
	if req.SinceSeconds > 0 {
		opts.Since = time.Now().Add(-time.Duration(req.SinceSeconds) * time.Second)
	}
	err = state.ReadLog(s.db.LogPath(rec.Pod.Namespace, rec.Pod.Name, rec.Pod.UID, cr.Name, run.Restart), w, opts)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil
	}
	return err
}

// PodsOfJob lists a job's pods through the store's index.
func (s storeSource) PodsOfJob(ctx context.Context, j *manifest.Job) ([]*manifest.Pod, error) {
	recs, err := s.db.PodsOfJob(ctx, j.UID)
	if err != nil {
		return nil, err
	}
	out := make([]*manifest.Pod, len(recs))
	for i, r := range recs {
		out[i] = &r.Pod
	}
	return out, nil
}

// podsOfJob lists a job's pods from any source (by index when the source
// has one).
func podsOfJob(ctx context.Context, src source, j *manifest.Job) ([]*manifest.Pod, error) {
	if ix, ok := src.(interface {
		PodsOfJob(context.Context, *manifest.Job) ([]*manifest.Pod, error)
	}); ok {
		return ix.PodsOfJob(ctx, j)
	}
	all, err := src.Pods(ctx, j.Namespace)
	if err != nil {
		return nil, err
	}
	var out []*manifest.Pod
	for _, p := range all {
		for _, o := range p.OwnerReferences {
			if o.UID == j.UID && o.Controller != nil && *o.Controller {
				out = append(out, p)
			}
		}
	}
	return out, nil
}
