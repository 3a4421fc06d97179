package controller

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/jobcontroller"
	"github.com/localjobs/localjobs/runner/kubelet"
)

// Controller runs pods and jobs: one worker goroutine per unfinished pod
// (runner/kubelet) and per unfinished Job (runner/jobcontroller). Fill the
// exported fields, then call Run; the other methods talk to the running
// controller.
type Controller struct {
	Store   runner.Store
	Runtime runner.Runtime
	Clock   runner.Clock // nil = runner.RealClock
	Log     *slog.Logger // nil = discard
	// NodeName is recorded as the pods' spec.nodeName (the host name).
	NodeName string
	// Failpoint, if set, is called at named steps ("after-intent"); tests
	// use it to simulate a crash between recording a step and taking it.
	Failpoint func(step string)
	// PodSecurity is the Pod Security Standards level pods are admitted at:
	// kubelet.PodSecurityBaseline (the default when empty) or
	// kubelet.PodSecurityPrivileged.
	PodSecurity string
	// AllowHostPath lists the host directories hostPath volumes may use at
	// the baseline level; nil means the user's home directory.
	AllowHostPath []string
	// MountDir is a folder that only this process can reach (the daemon's
	// is in the state dir) where checked subPaths and hostPaths are staged
	// for the engine as bind mounts of what was opened. "" turns staging
	// off: paths are then refused if they pass through a symbolic link,
	// and handed to the engine as paths.
	MountDir string
	// ProtectedPaths are folders that no hostPath volume may be in or hold
	// under baseline: the daemon's state dir, whose database a pod could
	// otherwise rewrite (a privileged pod restored at the next start).
	ProtectedPaths []string
	// MaxPods caps the pods running at once (0 = kubelet.DefaultMaxPods);
	// later pods stay Pending/Unschedulable until one finishes.
	MaxPods int
	// KeepExited keeps exited containers in the engine (up and run
	// --keep-exited, for debugging). By default a container is removed once
	// its exit and logs are recorded (DESIGN §5, engine hygiene).
	KeepExited bool
	// OnJobChange, if set, is called with every published Job change (a
	// deleted Job carries only its namespace and name); the daemon tells
	// the CronJob controller through it. It must not block.
	OnJobChange func(j *manifest.Job, deleted bool)
	// OrphanSweep is how often Run stops and removes the containers of
	// this instance that no pod record explains (SweepOrphans): 0 means
	// DefaultOrphanSweep, a negative value never.
	OrphanSweep time.Duration
	// WatchQueue is how many changes a subscription holds for a reader
	// that does not keep up before it is cut off (0 = runner.MaxQueue).
	WatchQueue int

	hub runner.Hub

	mu      sync.Mutex
	ctx     context.Context // Run's context; nil until Run starts
	ready   chan struct{}
	kubelet *kubelet.Kubelet
	jobctl  *jobcontroller.Controller
	pods    map[string]*kubelet.Worker // by ns/name
	// podWorkers counts the pod workers ever started: the orphan sweep
	// skips a period in which none ran (an idle daemon makes no orphans).
	podWorkers atomic.Uint64
	jobs       map[string]*jobcontroller.Worker // by ns/name
	wg         sync.WaitGroup
}

// hooks is what the Controller gives the kubelet and the Job controller to
// call back: publishing, events, and creating, stopping and deleting pods.
type hooks struct{ *Controller }

var (
	_ kubelet.Host       = hooks{}
	_ kubelet.Settings   = hooks{}
	_ jobcontroller.Host = hooks{}
)

func (c *Controller) clock() runner.Clock {
	if c.Clock == nil {
		return runner.RealClock{}
	}
	return c.Clock
}

func (c *Controller) now() time.Time { return c.clock().Now() }

func (c *Controller) logger() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// security is the Pod Security admission the fields describe.
func (c *Controller) security() kubelet.Security {
	return kubelet.Security{Level: c.PodSecurity, AllowHostPath: c.AllowHostPath, ProtectedPaths: c.ProtectedPaths}
}

// The kubelet's settings are the fields as they are when it uses them
// (kubelet.Settings), as admission reads them.

func (h hooks) Security() kubelet.Security { return h.security() }
func (h hooks) MountDir() string           { return h.Controller.MountDir }
func (h hooks) MaxPods() int               { return h.Controller.MaxPods }

func (c *Controller) init() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready == nil {
		c.ready = make(chan struct{})
		c.pods = map[string]*kubelet.Worker{}
		c.jobs = map[string]*jobcontroller.Worker{}
	}
}

// Run runs the controller until ctx is done, then waits for its goroutines.
// Containers keep running when it returns; a later Run adopts nothing yet
// (that is the daemon's restart reconcile).
func (c *Controller) Run(ctx context.Context) error {
	c.init()
	c.mu.Lock()
	c.ctx = ctx
	c.kubelet = &kubelet.Kubelet{
		Store: c.Store, Runtime: c.Runtime, Host: hooks{c}, Settings: hooks{c}, Clock: c.clock(), Log: c.logger(),
		NodeName: c.NodeName, Failpoint: c.Failpoint, KeepExited: c.KeepExited,
	}
	c.jobctl = &jobcontroller.Controller{Store: c.Store, Host: hooks{c}, Clock: c.clock(), Log: c.logger()}
	close(c.ready)
	c.mu.Unlock()
	if period := c.orphanSweep(); period > 0 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.sweepLoop(ctx, period)
		}()
	}
	<-ctx.Done()
	c.wg.Wait()
	c.kubelet.Wait()
	return nil
}

// Busy names the pod and job workers still running (the daemon reports
// them when a shutdown takes longer than it should).
func (c *Controller) Busy() []string {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.jobs {
		out = append(out, "job/"+k)
	}
	for k := range c.pods {
		out = append(out, "pod/"+k)
	}
	slices.Sort(out)
	return out
}

// runCtx waits until Run has started and returns its context.
func (c *Controller) runCtx(ctx context.Context) (context.Context, error) {
	c.init()
	select {
	case <-c.ready:
		return c.ctx, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// podWorker returns the worker of pod ns/name, or nil if none runs.
func (c *Controller) podWorker(ns, name string) *kubelet.Worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pods[key(ns, name)]
}

// jobWorker returns the worker of Job ns/name, or nil if none runs.
func (c *Controller) jobWorker(ns, name string) *jobcontroller.Worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jobs[key(ns, name)]
}

// runPodWorker registers a pod's worker and starts its goroutine.
func (c *Controller) runPodWorker(ctx context.Context, ns, name string, w *kubelet.Worker) {
	c.podWorkers.Add(1)
	startWorker(ctx, c, c.pods, key(ns, name), w)
}

// runJobWorker registers a worker for a Job and starts its goroutine.
func (c *Controller) runJobWorker(ctx context.Context, job *manifest.Job) {
	startWorker(ctx, c, c.jobs, key(job.Namespace, job.Name), c.jobctl.NewWorker(job))
}

// startWorker registers w under k in registry (c.pods or c.jobs) and runs
// it in a goroutine that deregisters it when it returns, unless a newer
// worker took its place.
func startWorker[W interface {
	comparable
	Run(context.Context)
}](ctx context.Context, c *Controller, registry map[string]W, k string, w W) {
	c.mu.Lock()
	registry[k] = w
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		w.Run(ctx)
		c.mu.Lock()
		if registry[k] == w {
			delete(registry, k)
		}
		c.mu.Unlock()
	}()
}

func newUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func key(ns, name string) string { return ns + "/" + name }
