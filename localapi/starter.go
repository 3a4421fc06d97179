package localapi

import (
	"context"
	"log/slog"
	"time"
)

// Starter starts daemons in the process of a client. main hands the
// daemon's Starter to the CLI, so the CLI never imports the daemon: it only
// ever talks to one through this package.
type Starter interface {
	// Start starts a daemon on a state dir and serves its socket: up, and
	// run or delete when no daemon runs.
	Start(ctx context.Context, o DaemonOptions) (Daemon, error)
	// OpenReadOnly serves a state dir read-only in this process, without
	// a socket: the read verbs when no daemon runs.
	OpenReadOnly(ctx context.Context, stateDir string) (View, error)
}

// DaemonOptions are the settings of a daemon a client starts.
type DaemonOptions struct {
	StateDir    string
	SocketGroup string
	// PodSecurity is "baseline" (the default) or "privileged";
	// AllowHostPath the dirs hostPath volumes may use under baseline
	// (--allow-host-path); when empty, the default is ManifestDirs (the
	// folders of the manifests named) and the user's home, never root's.
	PodSecurity   string
	AllowHostPath []string
	ManifestDirs  []string
	// MaxPods caps the pods that run at once (0 = the kubelet's 110).
	MaxPods int
	// KeepExited keeps exited containers in the engine (--keep-exited);
	// by default they are removed once their exit and logs are recorded.
	KeepExited bool
	// HistoryLimit and HistoryMaxAge bound the run history: per CronJob or
	// Job name the newest HistoryLimit runs, none older than HistoryMaxAge
	// (0 = the defaults, 100 and 30 days).
	HistoryLimit  int
	HistoryMaxAge time.Duration
	// MetricsAddr, if set, serves Prometheus metrics on /metrics there (a
	// bare ":PORT" means 127.0.0.1:PORT).
	MetricsAddr string
	// NotifyURL, NotifyFormat and NotifyOn are the global webhook (the
	// localjobs.io/notify-* annotations override them per object).
	NotifyURL, NotifyFormat, NotifyOn string
	// UIAddr, if set, is where the daemon serves its read-only dashboard
	// (up --ui-addr); empty: no TCP listener.
	UIAddr string
	// Log is the daemon's own log (--log-level, --log-format); nil: none.
	Log *slog.Logger
}

// View is a server of a state dir in the client's process.
type View interface {
	// Client is a client of it (in-process: it needs no Open).
	Client() *Client
	// Stop stops it and returns how many containers it left running.
	Stop() (int, error)
}

// Daemon is a daemon a client started.
type Daemon interface {
	View
	// SocketPath is where it listens.
	SocketPath() string
	// Summary is what up prints at start (what the restart found).
	Summary() []string
	// Open lets every client of the socket in: until then their requests
	// wait (up opens once it has applied its folders).
	Open()
	// StartCronJobs starts the CronJob scheduler: up, once it has applied
	// its folders (run's daemon schedules nothing).
	StartCronJobs()
}
