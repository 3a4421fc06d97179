package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/localjobs/localjobs/localapi"
)

// DaemonOptions are the settings of a daemon the CLI starts.
type DaemonOptions = localapi.DaemonOptions

// dial connects to the daemon of the state dir, or returns nil when none
// runs.
func (e *env) dial(ctx context.Context) (*localapi.Client, error) {
	dir, err := localapi.StateDir(e.stateDir)
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

// daemonFor returns a client of the running daemon, or starts one in this
// process for the verb's duration (run, delete with no daemon); stop ends
// it (a no-op for a daemon that was running).
func (e *env) daemonFor(ctx context.Context, o DaemonOptions) (c *localapi.Client, stop func() error, err error) {
	if c, err = e.dial(ctx); err != nil || c != nil {
		return c, func() error { return nil }, err
	}
	if e.starter == nil {
		return nil, nil, errors.New("no localjobs daemon is running")
	}
	if o.StateDir, err = localapi.StateDir(e.stateDir); err != nil {
		return nil, nil, err
	}
	d, err := e.starter.Start(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	d.Open()
	return d.Client(), func() error { _, err := d.Stop(); return err }, nil
}

// openSource returns a client of the running daemon or, when none runs,
// of the state opened read-only in this process.
func (e *env) openSource(ctx context.Context) (source, error) {
	c, err := e.dial(ctx)
	if err != nil {
		return source{}, err
	}
	if c != nil {
		return source{c, func() error { return nil }}, nil
	}
	if e.starter == nil {
		return source{}, errors.New("no localjobs daemon is running")
	}
	dir, err := localapi.StateDir(e.stateDir)
	if err != nil {
		return source{}, err
	}
	v, err := e.starter.OpenReadOnly(ctx, dir)
	if err != nil {
		return source{}, err
	}
	return source{v.Client(), func() error { _, err := v.Stop(); return err }}, nil
}

// source is where the read verbs read: a daemon's API, or the read-only
// view of the state; Close ends the view.
type source struct {
	*localapi.Client
	close func() error
}

func (s source) Close() error { return s.close() }
