package metrics

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/localjobs/localjobs/runner"
)

// Runtime wraps rt so that its failed calls count in
// localjobs_engine_errors_total{call}. Answers that are not failures of the
// engine do not count: a container that does not exist (ErrNotFound), one
// that already exists (ExistsError, how a restart adopts), a program that
// cannot start (StartError: the user's command), and a cancelled call (the
// daemon stopping). Image errors do count: a pull that fails is the
// engine's or the registry's.
//
// The optional interfaces the controllers look for are kept:
// runner.AuthPuller, runner.HostMounts and runner.Execer behave as rt's, or
// as their absence does when rt lacks them.
func (m *Metrics) Runtime(rt runner.Runtime) runner.Runtime {
	return &instrumented{rt: rt, m: m}
}

type instrumented struct {
	rt runner.Runtime
	m  *Metrics
}

var (
	_ runner.Runtime    = (*instrumented)(nil)
	_ runner.AuthPuller = (*instrumented)(nil)
	_ runner.HostMounts = (*instrumented)(nil)
	_ runner.Execer     = (*instrumented)(nil)
)

func (r *instrumented) count(call string, err error) {
	var ee *runner.ExistsError
	var se *runner.StartError
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, runner.ErrNotFound),
		errors.As(err, &ee), errors.As(err, &se):
		return
	}
	r.m.engineErrors.WithLabelValues(call).Inc()
}

func (r *instrumented) EnsureImage(ctx context.Context, image, policy string) (runner.ImageResult, error) {
	res, err := r.rt.EnsureImage(ctx, image, policy)
	r.count("ensure_image", err)
	return res, err
}

func (r *instrumented) EnsureImageAuth(ctx context.Context, image, policy string, auths []runner.RegistryAuth) (runner.ImageResult, error) {
	ap, ok := r.rt.(runner.AuthPuller)
	if !ok {
		return r.EnsureImage(ctx, image, policy)
	}
	res, err := ap.EnsureImageAuth(ctx, image, policy, auths)
	r.count("ensure_image", err)
	return res, err
}

func (r *instrumented) Create(ctx context.Context, spec runner.ContainerSpec) (string, error) {
	id, err := r.rt.Create(ctx, spec)
	r.count("create", err)
	return id, err
}

func (r *instrumented) Start(ctx context.Context, id string) error {
	err := r.rt.Start(ctx, id)
	r.count("start", err)
	return err
}

func (r *instrumented) Wait(ctx context.Context, id string) (runner.ContainerInfo, error) {
	info, err := r.rt.Wait(ctx, id)
	r.count("wait", err)
	return info, err
}

func (r *instrumented) Inspect(ctx context.Context, id string) (runner.ContainerInfo, error) {
	info, err := r.rt.Inspect(ctx, id)
	r.count("inspect", err)
	return info, err
}

func (r *instrumented) Stop(ctx context.Context, id string, grace time.Duration) error {
	err := r.rt.Stop(ctx, id, grace)
	r.count("stop", err)
	return err
}

func (r *instrumented) Remove(ctx context.Context, id string) error {
	err := r.rt.Remove(ctx, id)
	r.count("remove", err)
	return err
}

func (r *instrumented) Logs(ctx context.Context, id string, since time.Time, follow bool, sink runner.LogSink) error {
	err := r.rt.Logs(ctx, id, since, follow, sink)
	r.count("logs", err)
	return err
}

func (r *instrumented) List(ctx context.Context, labels map[string]string) ([]runner.ContainerInfo, error) {
	cs, err := r.rt.List(ctx, labels)
	r.count("list", err)
	return cs, err
}

func (r *instrumented) PauseImage(ctx context.Context) (string, error) {
	ref, err := r.rt.PauseImage(ctx)
	r.count("pause_image", err)
	return ref, err
}

func (r *instrumented) RemoveVolume(ctx context.Context, name string) error {
	err := r.rt.RemoveVolume(ctx, name)
	r.count("remove_volume", err)
	return err
}

func (r *instrumented) Node(ctx context.Context) (runner.NodeInfo, error) {
	n, err := r.rt.Node(ctx)
	r.count("node", err)
	return n, err
}

// SharesMountNamespace is rt's answer, false when rt cannot tell (as
// runner.Controller treats a runtime without runner.HostMounts).
func (r *instrumented) SharesMountNamespace() bool {
	hm, ok := r.rt.(runner.HostMounts)
	return ok && hm.SharesMountNamespace()
}

// Exec is rt's, or the error the daemon gives a runtime that cannot exec.
func (r *instrumented) Exec(ctx context.Context, id string, cmd []string, stdout, stderr io.Writer) (int, error) {
	ex, ok := r.rt.(runner.Execer)
	if !ok {
		return 0, errors.New("this container runtime cannot exec")
	}
	code, err := ex.Exec(ctx, id, cmd, stdout, stderr)
	r.count("exec", err)
	return code, err
}
