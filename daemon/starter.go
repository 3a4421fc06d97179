package daemon

import (
	"context"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/kubelet"
)

// Starter is localapi.Starter: what main hands the CLI so that it can start
// a daemon, or open a state read-only, in its own process.
type Starter struct {
	Version string
	// Runtime overrides the Docker runtime (tests use runnertest's fake).
	Runtime runner.Runtime
}

var _ localapi.Starter = Starter{}

// Start implements localapi.Starter.
func (s Starter) Start(ctx context.Context, o localapi.DaemonOptions) (localapi.Daemon, error) {
	allow := o.AllowHostPath
	if len(allow) == 0 {
		allow = kubelet.DefaultAllowHostPath(o.ManifestDirs...)
	}
	d, err := Start(ctx, Config{
		StateDir: o.StateDir, SocketGroup: o.SocketGroup, Version: s.Version, Log: o.Log, Runtime: s.Runtime,
		PodSecurity: o.PodSecurity, AllowHostPath: allow, MaxPods: o.MaxPods, UIAddr: o.UIAddr,
		KeepExited:  o.KeepExited,
		History:     history.Retention{Limit: o.HistoryLimit, MaxAge: o.HistoryMaxAge},
		MetricsAddr: o.MetricsAddr,
		Notify:      history.Target{URL: o.NotifyURL, Format: o.NotifyFormat, On: o.NotifyOn},
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// OpenReadOnly implements localapi.Starter.
func (s Starter) OpenReadOnly(ctx context.Context, stateDir string) (localapi.View, error) {
	ro, err := OpenReadOnly(ctx, stateDir, s.Version)
	if err != nil {
		return nil, err
	}
	return ro, nil
}
