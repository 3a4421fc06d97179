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
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/localjobs/localjobs/apply"
	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/docker"
	"github.com/localjobs/localjobs/runner/kubelet"
	"github.com/localjobs/localjobs/state"
	"github.com/localjobs/localjobs/ui"
)

// Config is the daemon's configuration.
type Config struct {
	// StateDir holds localjobs.db, lock, logs/ and the socket; see
	// localapi.StateDir.
	StateDir string
	// SocketGroup, if set, makes the socket 0660 owned by this group, and
	// the state dir 0750 with this group, so its members can reach it.
	SocketGroup string
	Version     string
	Log         *slog.Logger
	// Runtime overrides the Docker runtime (tests use runnertest's fake).
	Runtime runner.Runtime
	// PodSecurity is the Pod Security level: "baseline" (default) or
	// "privileged"; AllowHostPath lists the dirs hostPath volumes may use
	// under baseline (nil = the user's home).
	PodSecurity   string
	AllowHostPath []string
	// MaxPods caps the pods that run at once (0 = the kubelet's 110).
	MaxPods int
	// KeepExited keeps exited containers in the engine for debugging
	// (--keep-exited); by default they are removed once their exit and
	// logs are recorded (DESIGN §5).
	KeepExited bool
	// History bounds the run history (zero fields: history.DefaultLimit
	// runs per owner, history.DefaultMaxAge).
	History history.Retention
	// MetricsAddr, if set, serves Prometheus metrics there (":PORT" means
	// 127.0.0.1:PORT); nothing listens on TCP otherwise (DESIGN §9).
	MetricsAddr string
	// Notify is the global webhook (--notify-url, --notify-format,
	// --notify-on); per-object annotations override it.
	Notify history.Target
	// NotifyBackoff is the notifier's first retry delay (0 =
	// notify.DefaultBackoff; tests shorten it).
	NotifyBackoff time.Duration
	// UIAddr, if set, serves the read-only dashboard (package ui) on this
	// TCP address (--ui-addr; ":8089" = 127.0.0.1:8089). Empty: no TCP
	// listener at all.
	UIAddr string
}

// StateDir resolves the state dir (DESIGN §5); see localapi.StateDir.
func StateDir(flag string) (string, error) { return localapi.StateDir(flag) }

// Daemon is a running localjobs: the state dir locked and open, the
// runtime connected, the controller running and the socket served.
type Daemon struct {
	cfg        Config
	DB         *state.DB
	Runtime    runner.Runtime
	Controller *controller.Controller
	Socket     string
	// SocketGroup is the group whose members may use the socket ("" = only
	// this user); they reach it through the state dir (mode 0750).
	SocketGroup string
	// Restored is what the restart reconcile found.
	Restored controller.RestoreStats
	// RestoreTime is how long the restart reconcile took.
	RestoreTime time.Duration

	lock     *lockFile
	applier  *apply.Applier
	client   *localapi.Client
	runCtx   context.Context // the controllers' context, for StartCronJobs
	cronOnce sync.Once
	ready    chan struct{} // closed by Open
	openOnce sync.Once
	stop     context.CancelFunc
	done     chan struct{}
	uiAddr   net.Addr      // where the dashboard listens (nil: off)
	uiDone   chan struct{} // closed when the dashboard has stopped
	ctrlDone chan struct{}
	cron     *cronJobs // the CronJob controller and its JobStore
	obs      observers // run history, notifications, metrics
}

// Start locks and opens the state dir, connects the runtime, resumes
// unfinished pods and jobs, and serves the socket. It returns once all of
// that is up; Stop ends it. A second daemon on the same state dir fails at
// once naming the holder's PID.
func Start(ctx context.Context, cfg Config) (*Daemon, error) {
	var err error
	if cfg.Notify, err = checkNotify(cfg.Notify); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	lock, err := acquireLock(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, lock: lock, done: make(chan struct{}), ctrlDone: make(chan struct{}), uiDone: make(chan struct{})}
	// undo holds what a failed start must release, in reverse order.
	var undo []func()
	ok := false
	defer func() {
		for i := len(undo) - 1; !ok && i >= 0; i-- {
			undo[i]()
		}
	}()
	undo = append(undo, d.closeStore)
	if err := d.connect(ctx); err != nil {
		return nil, err
	}
	undo = append(undo, func() {
		if d.obs.metricsLn != nil {
			d.obs.metricsLn.Close()
		}
	})
	d.wire()
	ln, uiLn, err := d.takeListeners()
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() {
		ln.Close()
		if uiLn != nil {
			uiLn.Close()
		}
	})
	if err := d.resume(ctx); err != nil {
		return nil, err
	}
	ok = true
	if err := d.serve(ctx, ln); err != nil {
		if uiLn != nil {
			uiLn.Close()
		}
		close(d.uiDone)
		d.Stop()
		return nil, err
	}
	d.serveUI(d.runCtx, uiLn)
	cfg.Log.Info("daemon started", "stateDir", cfg.StateDir, "socket", d.Socket, "version", cfg.Version, "pid", os.Getpid(),
		"resumedPods", d.Restored.Pods, "resumedJobs", d.Restored.Jobs, "restore", d.RestoreTime.Round(time.Millisecond))
	return d, nil
}

// connect opens the state and the runtime (Docker unless Config.Runtime),
// and takes the metrics address if one is asked for.
func (d *Daemon) connect(ctx context.Context) error {
	var err error
	if d.DB, err = state.Open(d.cfg.StateDir, state.Options{}); err != nil {
		return err
	}
	d.Runtime = d.cfg.Runtime
	if d.Runtime == nil {
		rt, err := docker.New(ctx)
		if err != nil {
			return err // "docker engine not answering (…)", "docker client: …"
		}
		d.Runtime = rt
	}
	return d.prepareMetrics()
}

// wire builds the controllers on the state and the runtime.
func (d *Daemon) wire() {
	cfg := d.cfg
	rt := d.Runtime
	if m := d.obs.metrics; m != nil {
		rt = m.Runtime(rt) // engine errors by call
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	d.Controller = &controller.Controller{
		Store: d.DB, Runtime: rt, Log: cfg.Log, NodeName: host,
		PodSecurity: cfg.PodSecurity, AllowHostPath: cfg.AllowHostPath, MaxPods: cfg.MaxPods, KeepExited: cfg.KeepExited,
		MountDir: filepath.Join(cfg.StateDir, "mounts"), ProtectedPaths: []string{cfg.StateDir},
	}
	d.cron = newCronJobs(d, cfg.Log)
	d.Controller.OnJobChange = d.cron.jobChanged
	d.applier = &apply.Applier{Target: target{d}, Records: d.DB}
}

// takeListeners creates the control socket and takes the dashboard's
// address (nil when off), so a bad or busy --ui-addr fails the start
// before anything runs.
func (d *Daemon) takeListeners() (ln, uiLn net.Listener, err error) {
	if ln, err = d.listen(); err != nil {
		return nil, nil, err
	}
	if d.cfg.UIAddr != "" {
		if uiLn, err = ui.Listen(d.cfg.UIAddr); err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("--ui-addr %s: %w", d.cfg.UIAddr, err)
		}
		d.uiAddr = uiLn.Addr()
	}
	return ln, uiLn, nil
}

// resume starts the observers and the controllers, restores what the last
// run left (timed: Summary reports it) and loads the stored CronJobs. On
// error everything it started has stopped again.
func (d *Daemon) resume(ctx context.Context) error {
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stop = stop
	// The history, notifications and metrics follow the controllers from
	// before their first step (and record what a crash left unrecorded).
	if err := d.startObservers(runCtx); err != nil {
		stop()
		d.obs.wg.Wait()
		return err
	}
	go func() { d.Controller.Run(runCtx); close(d.ctrlDone) }()
	fail := func(what string, err error) error {
		stop()
		<-d.ctrlDone
		d.obs.wg.Wait()
		return fmt.Errorf("%s: %w", what, err)
	}
	t0 := time.Now()
	var err error
	d.Restored, err = d.Controller.Restore(ctx)
	d.RestoreTime = time.Since(t0)
	if err != nil {
		return fail("restore", err)
	}
	// Stored CronJobs reach the scheduler before it runs, so their
	// localjobs.io/run-on-start runs happen; StartCronJobs runs it (up,
	// once it has applied its folders; run's daemon schedules nothing).
	if err := d.cron.load(ctx); err != nil {
		return fail("load cronjobs", err)
	}
	d.runCtx = runCtx
	// Start-up may still decode much of the state (the metrics seed reads
	// every pod with --metrics-addr; the history reconcile every pod of a
	// finished Job it has no run of): with 100,000 pods the heap peaked at
	// hundreds of MB of which a few stay live, and the runtime hands the
	// rest back to the system only over minutes (make bench's footprint
	// row: RSS 780 MB while idle, before restore read only live pods).
	// Hand it back now, off the start's path.
	go debug.FreeOSMemory()
	return nil
}

// serve serves the socket on ln, and the same API in-process to the
// daemon's own client. The public socket holds its clients until Open; the
// daemon's own client (up's, run's) talks to it at once.
func (d *Daemon) serve(ctx context.Context, ln net.Listener) error {
	d.ready = make(chan struct{})
	public := &localapi.Server{Read: view{db: d.DB, cron: d.cron, subscribe: d.Subscribe}, Control: d, Version: d.cfg.Version, Log: d.cfg.Log, Ready: d.ready}
	own := *public
	own.Ready = nil
	pipe := localapi.NewPipeListener()
	served := make(chan struct{}, 2)
	go func() { public.Serve(d.runCtx, ln); served <- struct{}{} }()
	go func() { own.Serve(d.runCtx, pipe); served <- struct{}{} }()
	go func() {
		defer close(d.done)
		<-served
		<-served
		<-d.ctrlDone
		d.cron.wait()
		d.stopObservers()
		<-d.uiDone
	}()
	var err error
	if d.client, err = localapi.DialFunc(ctx, pipe.Dial, d.cfg.Version); err != nil {
		return fmt.Errorf("dial the daemon in-process: %w", err)
	}
	return nil
}

// serveUI serves the dashboard on ln (nil: none) until ctx ends. It reads
// through the daemon's own client, as any client of the API would.
func (d *Daemon) serveUI(ctx context.Context, ln net.Listener) {
	if ln == nil {
		close(d.uiDone)
		return
	}
	h := ui.New(ui.RecordedHistory{Client: d.client}, ui.Options{Version: d.cfg.Version, Log: d.cfg.Log})
	go func() {
		defer close(d.uiDone)
		if err := ui.Serve(ctx, ln, h); err != nil {
			d.cfg.Log.Error("dashboard stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
}

// UIURL is the address of the dashboard, or "" when it is off.
func (d *Daemon) UIURL() string {
	if d.uiAddr == nil {
		return ""
	}
	return ui.URL(d.uiAddr)
}

// Open lets every client of the socket in; until then their requests
// (but /version) wait.
func (d *Daemon) Open() { d.openOnce.Do(func() { close(d.ready) }) }

// StartCronJobs starts the CronJob scheduler (once; later calls do
// nothing). CronJobs stored or applied before it get their
// localjobs.io/run-on-start run.
func (d *Daemon) StartCronJobs() {
	d.cronOnce.Do(func() { d.cron.start(d.runCtx) })
}

// Client is the daemon's own client (in-process, no socket).
func (d *Daemon) Client() *localapi.Client { return d.client }

// SocketPath is where the daemon listens.
func (d *Daemon) SocketPath() string { return d.Socket }

// Summary is what up prints at start: who may use the socket (DESIGN §9b:
// whoever may use it controls the daemon), which host paths pods may
// mount, and what the restart found.
func (d *Daemon) Summary() []string {
	out := append([]string{d.socketBanner(), d.hostPathBanner()}, d.observersBanner()...)
	if d.uiAddr != nil {
		out = append(out, ui.Banner(d.uiAddr))
	}
	if st := d.Restored; st.Pods+st.Jobs > 0 {
		out = append(out, fmt.Sprintf("resumed %s and %s in %s (%s adopted, %d started, %d created, %d exited while down, %d vanished)",
			count(st.Pods, "pod"), count(st.Jobs, "job"), d.RestoreTime.Round(time.Millisecond), count(st.Adopted, "container"),
			st.Started, st.Recreated, st.ExitedWhileDown, st.Vanished))
	}
	if st := d.Restored; st.Unresolved+st.Orphans > 0 {
		out = append(out, fmt.Sprintf("%s the engine did not answer about (their pods ask again); %s no record explains stopped and removed",
			count(st.Unresolved, "container"), count(st.Orphans, "container")))
	}
	return out
}

// count is "1 pod", "2 pods".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
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

// ShutdownGrace bounds how long Stop waits for the controllers to finish
// what they are doing (an engine call in flight, a record being written).
// Stopping normally takes milliseconds; past the grace Stop gives up and
// says what was still busy. Nothing is lost either way: every step is
// recorded before it is taken, and the next start resumes from the records.
const ShutdownGrace = 10 * time.Second

// Stop stops serving and the controllers, leaving containers running (the
// next Start adopts them), and closes the state. It returns how many
// containers were left running, and an error naming what was still busy if
// the controllers did not stop within ShutdownGrace.
func (d *Daemon) Stop() (int, error) {
	n := d.Controller.RunningContainers(context.Background())
	d.stop()
	var err error
	select {
	case <-d.done:
	case <-time.After(ShutdownGrace):
		err = fmt.Errorf("shutdown: still busy after %v: %s; stopping anyway (the next start resumes from the records)",
			ShutdownGrace, strings.Join(d.Controller.Busy(), ", "))
	}
	os.Remove(d.Socket)
	d.closeStore()
	if err != nil {
		d.cfg.Log.Error("daemon stopped", "containersLeftRunning", n, "error", err)
	} else {
		d.cfg.Log.Info("daemon stopped", "containersLeftRunning", n)
	}
	return n, err
}

func (d *Daemon) closeStore() {
	if d.DB != nil {
		d.DB.Close()
	}
	if d.lock != nil {
		d.lock.release()
	}
}

func (d *Daemon) socketBanner() string {
	if d.SocketGroup != "" {
		return fmt.Sprintf("socket access: you, root and members of group %s (socket 0660; they reach it through %s, mode 0750)", d.SocketGroup, filepath.Dir(d.Socket))
	}
	where := "the state dir, mode 0700"
	if !localapi.InStateDir(d.cfg.StateDir) {
		where = filepath.Dir(d.Socket) + ", mode 0700 (the state dir's path is too long for a socket)"
	}
	return fmt.Sprintf("socket access: you and root only (socket 0600 in %s)", where)
}

func (d *Daemon) hostPathBanner() string {
	switch {
	case d.cfg.PodSecurity == kubelet.PodSecurityPrivileged:
		return "host paths pods may mount: any (--pod-security=privileged)"
	case len(d.cfg.AllowHostPath) == 0:
		return "host paths pods may mount: none (allow a folder with --allow-host-path DIR)"
	}
	return "host paths pods may mount: " + strings.Join(d.cfg.AllowHostPath, ", ") + " and below (--allow-host-path)"
}
