package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/localjobs/localjobs/apply"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/state"
)

// ReadOnly is the state of a dir opened read-only when no daemon runs,
// served in-process (no socket) to the CLI's read verbs: the same API as a
// daemon's, where what needs a daemon fails with localapi.ErrNoDaemon.
type ReadOnly struct {
	db     *state.DB // nil when nothing ever ran with the state dir
	ln     *localapi.PipeListener
	client *localapi.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// OpenReadOnly opens stateDir read-only and serves it in-process. A state
// dir where nothing ever ran reads as empty.
func OpenReadOnly(ctx context.Context, stateDir, version string) (*ReadOnly, error) {
	db, err := state.Open(stateDir, state.Options{ReadOnly: true})
	var r localapi.Reader
	switch {
	case errors.Is(err, state.ErrNoState):
		r = emptyState{}
	case errors.Is(err, state.ErrLocked):
		return nil, fmt.Errorf("state dir %s is held by a localjobs that does not answer on its socket (starting, or stopping); try again: %w", stateDir, err)
	case err != nil:
		return nil, err
	default:
		r = view{db: db}
	}
	ro := &ReadOnly{db: db, ln: localapi.NewPipeListener(), done: make(chan struct{})}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ro.cancel = cancel
	srv := &localapi.Server{Read: r, Version: version}
	go func() { defer close(ro.done); srv.Serve(sctx, ro.ln) }()
	ro.client, err = localapi.DialFunc(ctx, ro.ln.Dial, version)
	if err != nil {
		ro.Stop()
		return nil, err
	}
	return ro, nil
}

// Client is a client of the read-only view.
func (ro *ReadOnly) Client() *localapi.Client { return ro.client }

// Stop closes the view and the state.
func (ro *ReadOnly) Stop() (int, error) {
	ro.cancel()
	ro.ln.Close()
	<-ro.done
	if ro.db != nil {
		return 0, ro.db.Close()
	}
	return 0, nil
}

// emptyState reads a state dir where nothing ever ran.
type emptyState struct{}

var _ localapi.Reader = emptyState{}

func (emptyState) Pods(context.Context, string) ([]*runner.PodRecord, error) { return nil, nil }
func (emptyState) Pod(_ context.Context, ns, name string) (*runner.PodRecord, error) {
	return nil, fmt.Errorf("pod %s/%s: %w", ns, name, runner.ErrObjectNotFound)
}
func (emptyState) PodsLabelled(context.Context, string, string, []string) ([]*runner.PodRecord, error) {
	return nil, nil
}
func (emptyState) PodsOfJob(context.Context, string) ([]*runner.PodRecord, error) { return nil, nil }
func (emptyState) Jobs(context.Context, string) ([]*manifest.Job, error)          { return nil, nil }
func (emptyState) Job(_ context.Context, ns, name string) (*manifest.Job, error) {
	return nil, fmt.Errorf("job %s/%s: %w", ns, name, runner.ErrObjectNotFound)
}
func (emptyState) CronJobs(context.Context, string) ([]*manifest.CronJob, error) { return nil, nil }
func (emptyState) CronJob(_ context.Context, ns, name string) (*manifest.CronJob, error) {
	return nil, fmt.Errorf("cronjob %s/%s: %w", ns, name, runner.ErrObjectNotFound)
}
func (emptyState) Events(context.Context, string, string) ([]*manifest.Event, error) { return nil, nil }
func (emptyState) AppliedObjects(context.Context) ([]*apply.Record, error)           { return nil, nil }
func (emptyState) History(context.Context, localapi.HistoryQuery) ([]*localapi.HistoryRun, error) {
	return nil, nil
}
func (emptyState) Logs(_ context.Context, _ io.Writer, req localapi.LogRequest) error {
	return fmt.Errorf("pod %s/%s: %w", req.Namespace, req.Pod, runner.ErrObjectNotFound)
}
