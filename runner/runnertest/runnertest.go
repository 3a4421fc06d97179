// Package runnertest has test doubles for package runner: a scripted fake
// Runtime whose containers "run" on timers (so tests drive them with
// testing/synctest's fake time) and an in-memory Store. Both inject faults
// on demand (Faults): errors per method, lost replies and latency.
package runnertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Behavior is what a fake container does.
type Behavior struct {
	StartErr   string        // Start fails with this engine message
	ExitCode   int           // exit code after RunFor
	OOM        bool          // reported as OOM-killed
	RunFor     time.Duration // how long it runs
	IgnoreTerm bool          // SIGTERM is ignored: Stop waits for the grace period
	Lines      []string      // stdout lines written at start
	// BreakFollow breaks the log stream: each of the first BreakFollow
	// following Logs calls delivers at most one line, then fails as a
	// stream cut by an engine restart does.
	BreakFollow int
}

// PauseImage is the image reference the fake's PauseImage returns.
const PauseImage = "localjobs/pause:fake"

// Runtime is a fake runner.Runtime. Images lists the images present; Script
// decides each container's behaviour (nil = exit 0 at once). Sandbox
// (pause) containers run until stopped, whatever Script says.
type Runtime struct {
	Script func(spec runner.ContainerSpec) Behavior
	// NodeInfo is what Node returns.
	NodeInfo runner.NodeInfo
	// RemovedVolumes lists the names given to RemoveVolume.
	RemovedVolumes []string
	// Removed lists the IDs given to Remove.
	Removed []string
	// Faults injects engine errors, lost replies and latency per method
	// (default error ErrTransport).
	Faults Faults
	// PullDelay, if set, is how long each EnsureImage takes (a slow pull,
	// in fake time); it returns ctx.Err() if ctx ends first.
	PullDelay time.Duration

	mu         sync.Mutex
	images     map[string]bool
	containers map[string]*container
	byName     map[string]string
	seq        int
	// Created records every container spec in creation order.
	Created []runner.ContainerSpec
	// Pulls counts EnsureImage calls per image.
	Pulls map[string]int
	// Auths records, per image, the credentials of the last EnsureImageAuth
	// call.
	Auths map[string][]runner.RegistryAuth
}

type container struct {
	spec    runner.ContainerSpec
	beh     Behavior
	breaks  int // following Logs calls broken so far
	info    runner.ContainerInfo
	started bool
	exited  chan struct{}
	stop    chan time.Duration
}

// NewRuntime returns a fake runtime with the given images present.
func NewRuntime(images ...string) *Runtime {
	r := &Runtime{images: map[string]bool{}, containers: map[string]*container{}, byName: map[string]string{}, Pulls: map[string]int{}}
	for _, i := range images {
		r.images[i] = true
	}
	return r
}

var (
	_ runner.Runtime    = (*Runtime)(nil)
	_ runner.AuthPuller = (*Runtime)(nil)
)

// EnsureImageAuth implements runner.AuthPuller: it records auths and
// behaves as EnsureImage.
func (r *Runtime) EnsureImageAuth(ctx context.Context, image, policy string, auths []runner.RegistryAuth) (runner.ImageResult, error) {
	r.mu.Lock()
	if r.Auths == nil {
		r.Auths = map[string][]runner.RegistryAuth{}
	}
	r.Auths[image] = slices.Clone(auths)
	r.mu.Unlock()
	return r.EnsureImage(ctx, image, policy)
}

// EnsureImage implements runner.Runtime: present images succeed, others fail
// like an offline pull, each after PullDelay.
func (r *Runtime) EnsureImage(ctx context.Context, image, policy string) (runner.ImageResult, error) {
	if err, _ := r.Faults.take(ctx, "EnsureImage", ErrTransport); err != nil {
		return runner.ImageResult{}, err
	}
	if r.PullDelay > 0 {
		t := time.NewTimer(r.PullDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return runner.ImageResult{}, ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Pulls[image]++
	if r.images[image] {
		return runner.ImageResult{ImageID: "sha256:" + image}, nil
	}
	if policy == manifest.PullNever {
		return runner.ImageResult{}, &runner.ImageError{Reason: runner.ReasonErrImageNeverPull,
			Message: fmt.Sprintf("Container image %q is not present with pull policy of Never", image)}
	}
	return runner.ImageResult{}, &runner.ImageError{Reason: runner.ReasonErrImagePull,
		Message: fmt.Sprintf("Failed to pull image %q: no registry reachable", image)}
}

// Create implements runner.Runtime.
func (r *Runtime) Create(ctx context.Context, spec runner.ContainerSpec) (string, error) {
	fail, lost := r.Faults.before(ctx, "Create", ErrTransport)
	if fail != nil {
		return "", fail
	}
	id, err := r.create(spec)
	if err == nil && lost != nil {
		return "", lost
	}
	return id, err
}

func (r *Runtime) create(spec runner.ContainerSpec) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.byName[spec.Name]; ok {
		return "", &runner.ExistsError{ID: id}
	}
	r.seq++
	id := fmt.Sprintf("c%04d", r.seq)
	beh := Behavior{}
	switch {
	case spec.Image == PauseImage:
		beh = Behavior{RunFor: 1<<63 - 1}
	case r.Script != nil:
		beh = r.Script(spec)
	}
	r.containers[id] = &container{
		spec: spec, beh: beh,
		info:   runner.ContainerInfo{ID: id, Name: spec.Name, Labels: spec.Labels, Image: spec.Image, Status: "created", CreatedAt: time.Now()},
		exited: make(chan struct{}),
		stop:   make(chan time.Duration, 1),
	}
	r.byName[spec.Name] = id
	r.Created = append(r.Created, spec)
	return id, nil
}

// Start implements runner.Runtime.
func (r *Runtime) Start(ctx context.Context, id string) error {
	fail, lost := r.Faults.before(ctx, "Start", ErrTransport)
	if fail != nil {
		return fail
	}
	if err := r.start(id); err != nil {
		return err
	}
	return lost
}

func (r *Runtime) start(id string) error {
	r.mu.Lock()
	c := r.containers[id]
	if c == nil {
		r.mu.Unlock()
		return runner.ErrNotFound
	}
	if c.beh.StartErr != "" {
		c.info.ExitCode = 127
		c.info.Error = c.beh.StartErr
		c.info.Status = "created"
		close(c.exited)
		r.mu.Unlock()
		return &runner.StartError{Message: c.beh.StartErr}
	}
	c.started = true
	c.info.Running = true
	c.info.Status = "running"
	c.info.StartedAt = time.Now()
	r.mu.Unlock()
	go r.live(c)
	return nil
}

func (r *Runtime) live(c *container) {
	t := time.NewTimer(c.beh.RunFor)
	defer t.Stop()
	code, oom := c.beh.ExitCode, c.beh.OOM
	select {
	case <-t.C:
	case grace := <-c.stop:
		code, oom = 143, false
		if grace < 0 {
			code = 137
		} else if c.beh.IgnoreTerm {
			g := time.NewTimer(grace)
			select {
			case <-t.C:
				code, oom = c.beh.ExitCode, c.beh.OOM
			case <-g.C:
				code = 137
			}
			g.Stop()
		}
	}
	r.mu.Lock()
	c.info.Running = false
	c.info.Status = "exited"
	c.info.ExitCode = code
	c.info.OOMKilled = oom
	c.info.FinishedAt = time.Now()
	r.mu.Unlock()
	close(c.exited)
}

// Wait implements runner.Runtime.
func (r *Runtime) Wait(ctx context.Context, id string) (runner.ContainerInfo, error) {
	if err, _ := r.Faults.take(ctx, "Wait", ErrTransport); err != nil {
		return runner.ContainerInfo{}, err
	}
	r.mu.Lock()
	c := r.containers[id]
	r.mu.Unlock()
	if c == nil {
		return runner.ContainerInfo{}, runner.ErrNotFound
	}
	select {
	case <-c.exited:
	case <-ctx.Done():
		return runner.ContainerInfo{}, ctx.Err()
	}
	return r.inspect(id)
}

// Inspect implements runner.Runtime.
func (r *Runtime) Inspect(ctx context.Context, id string) (runner.ContainerInfo, error) {
	if err, _ := r.Faults.take(ctx, "Inspect", ErrTransport); err != nil {
		return runner.ContainerInfo{}, err
	}
	return r.inspect(id)
}

func (r *Runtime) inspect(id string) (runner.ContainerInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.containers[id]
	if c == nil {
		return runner.ContainerInfo{}, runner.ErrNotFound
	}
	return c.info, nil
}

// Stop implements runner.Runtime.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	fail, lost := r.Faults.before(ctx, "Stop", ErrTransport)
	if fail != nil {
		return fail
	}
	r.mu.Lock()
	c := r.containers[id]
	r.mu.Unlock()
	if c == nil || !c.started {
		return lost
	}
	select {
	case c.stop <- grace:
	default:
	}
	return lost
}

// KillAll stops every running container at once and waits until they have
// exited, so a synctest bubble can end.
func (r *Runtime) KillAll() {
	r.mu.Lock()
	var cs []*container
	for _, c := range r.containers {
		if c.started {
			cs = append(cs, c)
		}
	}
	r.mu.Unlock()
	for _, c := range cs {
		select {
		case c.stop <- -1: // kill: SIGKILL at once, even if SIGTERM is ignored
		default:
		}
		<-c.exited
	}
}

// PauseImage implements runner.Runtime.
func (r *Runtime) PauseImage(context.Context) (string, error) { return PauseImage, nil }

// RemoveVolume implements runner.Runtime.
func (r *Runtime) RemoveVolume(_ context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.RemovedVolumes = append(r.RemovedVolumes, name)
	return nil
}

// Node implements runner.Runtime.
func (r *Runtime) Node(context.Context) (runner.NodeInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.NodeInfo, nil
}

// Running returns the specs of the containers running now.
func (r *Runtime) Running() []runner.ContainerSpec {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runner.ContainerSpec
	for _, c := range r.containers {
		if c.info.Running {
			out = append(out, c.spec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RemovedIDs returns a copy of Removed, safe to call while the runtime is
// in use.
func (r *Runtime) RemovedIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.Removed)
}

// Remove implements runner.Runtime. Like runner/docker's, it removes a
// running container too, killing it.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	fail, lost := r.Faults.before(ctx, "Remove", ErrTransport)
	if fail != nil {
		return fail
	}
	r.mu.Lock()
	r.Removed = append(r.Removed, id)
	c := r.containers[id]
	if c != nil {
		delete(r.byName, c.spec.Name)
		delete(r.containers, id)
	}
	r.mu.Unlock()
	if c != nil && c.started {
		// Removal is forced, as runner/docker's: a running container
		// is killed.
		select {
		case c.stop <- -1:
		default:
		}
	}
	return lost
}

// Logs implements runner.Runtime: the behaviour's lines, stamped with the
// start time, then (when following) waits for the exit.
func (r *Runtime) Logs(ctx context.Context, id string, since time.Time, follow bool, sink runner.LogSink) error {
	if err, _ := r.Faults.take(ctx, "Logs", ErrTransport); err != nil {
		return err
	}
	r.mu.Lock()
	c := r.containers[id]
	r.mu.Unlock()
	if c == nil {
		return runner.ErrNotFound
	}
	r.mu.Lock()
	started := c.info.StartedAt
	broken := follow && c.breaks < c.beh.BreakFollow
	if broken {
		c.breaks++
	}
	r.mu.Unlock()
	for i, l := range c.beh.Lines {
		ts := started.Add(time.Duration(i) * time.Microsecond)
		if ts.After(since) {
			if err := sink.WriteLine(ts, "stdout", []byte(l), false); err != nil {
				return err
			}
			if broken {
				return ErrStreamBroken
			}
		}
	}
	if broken {
		return ErrStreamBroken
	}
	if follow {
		select {
		case <-c.exited:
		case <-ctx.Done():
		}
	}
	return nil
}

// ErrStreamBroken is the error of a log follow broken by BreakFollow.
var ErrStreamBroken = errors.New("log stream: unexpected EOF")

// List implements runner.Runtime.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runner.ContainerInfo, error) {
	if err, _ := r.Faults.take(ctx, "List", ErrTransport); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runner.ContainerInfo
outer:
	for _, c := range r.containers {
		for k, v := range labels {
			if c.spec.Labels[k] != v {
				continue outer
			}
		}
		i := c.info // only what the engine's list gives (see runner.Runtime)
		out = append(out, runner.ContainerInfo{ID: i.ID, Name: i.Name, Image: i.Image, ImageID: i.ImageID,
			Labels: i.Labels, Status: i.Status, Running: i.Running, CreatedAt: i.CreatedAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// SyncBuffer is a bytes.Buffer safe for a writer (a daemon's log handler,
// a child process's output) and a test reading it at the same time.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
