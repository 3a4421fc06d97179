// Package daemon wires localjobs together: the state dir and its store, the
// Docker runtime, the controllers and the control socket. It is the only
// package that knows every other one; `localjobs up` runs it in the
// foreground and `localjobs run` starts it in-process for its duration.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker"
	"github.com/localjobs/localjobs/state"
)

// Config is the daemon's configuration.
type Config struct {
	// StateDir holds localjobs.db, lock, logs/ and the socket; see StateDir.
	StateDir string
	// SocketGroup, if set, makes the socket 0660 owned by this group, and
	// the state dir 0750 with this group, so its members can reach it.
	SocketGroup string
	Version     string
	Log         *slog.Logger
	// Runtime overrides the Docker runtime (tests use runnertest's fake).
	Runtime runner.Runtime
	// OnLog receives container output as it is captured (the printers of
	// run and up).
	OnLog func(pod *manifest.Pod, container string, ts time.Time, stream string, line []byte, partial bool)
	// PodSecurity is the Pod Security level: "baseline" (default) or
	// "privileged"; AllowHostPath lists the dirs hostPath volumes may use
	// under baseline (nil = the user's home).
	PodSecurity   string
	AllowHostPath []string
	// MaxPods caps the pods that run at once (0 = the kubelet's 110).
	MaxPods int
	// NoCronJobs keeps stored CronJobs from firing (run's in-process
	// daemon: a one-shot run schedules nothing).
	NoCronJobs bool
	// BeforeServe, if set, runs after the restore and before the socket
	// answers (up applies its folders there, so clients see them).
	BeforeServe func(*Daemon)
}

// StateDir resolves the state dir (DESIGN §5): the flag, else
// $LOCALJOBS_STATE_DIR, else $XDG_STATE_HOME/localjobs, else
// ~/.local/state/localjobs.
func StateDir(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if d := os.Getenv("LOCALJOBS_STATE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "localjobs"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state dir: set --state-dir or LOCALJOBS_STATE_DIR: %w", err)
	}
	return filepath.Join(home, ".local", "state", "localjobs"), nil
}

// Daemon is a running localjobs: the state dir locked and open, the
// runtime connected, the controller running and the socket served.
type Daemon struct {
	cfg        Config
	DB         *state.DB
	Runtime    runner.Runtime
	Controller *runner.Controller
	Socket     string
	// SocketGroup is the group whose members may use the socket ("" = only
	// this user); they reach it through the state dir (mode 0750).
	SocketGroup string
	// Restored is what the restart reconcile found.
	Restored runner.RestoreStats
	// RestoreTime is how long the restart reconcile took.
	RestoreTime time.Duration

	lock     *lockFile
	applyMu  sync.Mutex // one apply at a time
	stop     context.CancelFunc
	done     chan struct{}
	ctrlDone chan struct{}
	cron     *cronJobs // the CronJob controller and its JobStore
}

// Start locks and opens the state dir, connects the runtime, resumes
// unfinished pods and jobs, and serves the socket. It returns once all of
// that is up; Stop ends it. A second daemon on the same state dir fails at
// once naming the holder's PID.
func Start(ctx context.Context, cfg Config) (*Daemon, error) {
	lock, err := acquireLock(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, lock: lock, done: make(chan struct{}), ctrlDone: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			d.closeStore()
		}
	}()
	d.DB, err = state.Open(cfg.StateDir, state.Options{})
	if err != nil {
		return nil, err
	}
	d.Runtime = cfg.Runtime
	if d.Runtime == nil {
		rt, err := docker.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("docker engine: %w", err)
		}
		d.Runtime = rt
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	d.Controller = &runner.Controller{
		Store: d.DB, Runtime: d.Runtime, Log: cfg.Log, NodeName: host, OnLog: cfg.OnLog,
		PodSecurity: cfg.PodSecurity, AllowHostPath: cfg.AllowHostPath, MaxPods: cfg.MaxPods,
		MountDir: filepath.Join(cfg.StateDir, "mounts"), ProtectedPaths: []string{cfg.StateDir},
	}
	d.cron = newCronJobs(d, cfg.Log)
	d.Controller.OnJobChange = d.cron.jobChanged

	ln, err := d.listen()
	if err != nil {
		return nil, err
	}

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stop = stop
	go func() { d.Controller.Run(runCtx); close(d.ctrlDone) }()
	t0 := time.Now()
	d.Restored, err = d.Controller.Restore(ctx)
	d.RestoreTime = time.Since(t0)
	if err != nil {
		stop()
		<-d.ctrlDone
		ln.Close()
		return nil, fmt.Errorf("restore: %w", err)
	}
	// Stored CronJobs reach the scheduler before it runs, so their
	// localjobs.io/run-on-start runs happen; it runs once up has applied.
	if err := d.cron.load(ctx); err != nil {
		stop()
		<-d.ctrlDone
		ln.Close()
		return nil, fmt.Errorf("load cronjobs: %w", err)
	}
	if cfg.BeforeServe != nil {
		cfg.BeforeServe(d)
	}
	if !cfg.NoCronJobs {
		d.cron.start(runCtx)
	}
	srv := &localapi.Server{Backend: d, Version: cfg.Version, Log: cfg.Log}
	go func() {
		defer close(d.done)
		srv.Serve(runCtx, ln)
		<-d.ctrlDone
		d.cron.wait()
	}()
	ok = true
	return d, nil
}

// listen creates the control socket in a folder only this user controls
// (DESIGN §9b): the state dir, tightened to 0700 (0750 and the group with
// --socket-group, whose members must then be able to reach it), or the
// fallback folder for a state dir whose path is too long, which must be
// created now or already be exactly ours.
func (d *Daemon) listen() (net.Listener, error) {
	cfg := d.cfg
	d.Socket = localapi.SocketPath(cfg.StateDir)
	dir := filepath.Dir(d.Socket)
	inState := localapi.InStateDir(cfg.StateDir)
	gid := -1
	if cfg.SocketGroup != "" {
		g, err := user.LookupGroup(cfg.SocketGroup)
		if err != nil {
			return nil, fmt.Errorf("--socket-group: %w", err)
		}
		gid, _ = strconv.Atoi(g.Gid)
		if !inState {
			return nil, fmt.Errorf("--socket-group %s: the socket must be in the state dir for the group to find it, and %s is too long a path for a unix socket (%d bytes; at most %d): use a shorter --state-dir",
				cfg.SocketGroup, filepath.Join(cfg.StateDir, localapi.SocketName), len(filepath.Join(cfg.StateDir, localapi.SocketName)), 107)
		}
	}
	if gid >= 0 {
		// The folders above; the socket's own folder is made 0750 below.
		if err := localapi.CheckGroupReach(filepath.Dir(dir), gid); err != nil {
			return nil, fmt.Errorf("--socket-group %s: %w", cfg.SocketGroup, err)
		}
		d.SocketGroup = cfg.SocketGroup
	}
	if err := localapi.PrepareSocketDir(dir, gid, !inState); err != nil {
		return nil, err
	}
	return localapi.Listen(d.Socket, gid)
}

// Stop stops serving and the controller, leaving containers running (the
// next Start adopts them), and closes the state. It returns how many
// containers were left running.
func (d *Daemon) Stop() int {
	n := d.Controller.RunningContainers(context.Background())
	d.stop()
	<-d.done
	os.Remove(d.Socket)
	d.closeStore()
	return n
}

func (d *Daemon) closeStore() {
	if d.DB != nil {
		d.DB.Close()
	}
	if d.lock != nil {
		d.lock.release()
	}
}

// Store implements localapi.Backend.
func (d *Daemon) Store() runner.Store { return d.DB }

// Subscribe implements localapi.Backend.
func (d *Daemon) Subscribe() *runner.Subscription { return d.Controller.Subscribe() }

// DeletePod implements localapi.Backend: grace (seconds; nil = the pod's
// own period, 0 = at once) is how long its containers get to stop.
func (d *Daemon) DeletePod(ctx context.Context, ns, name string, grace *int64) error {
	var g *time.Duration
	if grace != nil {
		dur := time.Duration(*grace) * time.Second
		g = &dur
	}
	return d.Controller.DeletePodWithGrace(ctx, ns, name, g)
}

// DeleteJob implements localapi.Backend.
func (d *Daemon) DeleteJob(ctx context.Context, ns, name string) error {
	return d.Controller.DeleteJob(ctx, ns, name)
}

// SetSuspend implements localapi.Backend.
func (d *Daemon) SetSuspend(ctx context.Context, ns, name string, suspend bool) error {
	return d.setJobSuspend(ctx, ns, name, suspend)
}
