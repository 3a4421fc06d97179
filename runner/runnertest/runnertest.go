// Package runnertest has test doubles for package runner: a scripted fake
// Runtime whose containers "run" on timers (so tests drive them with
// testing/synctest's fake time) and an in-memory Store.
package runnertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
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
func (r *Runtime) Create(_ context.Context, spec runner.ContainerSpec) (string, error) {
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
func (r *Runtime) Start(_ context.Context, id string) error {
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
	return r.Inspect(ctx, id)
}

// Inspect implements runner.Runtime.
func (r *Runtime) Inspect(_ context.Context, id string) (runner.ContainerInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.containers[id]
	if c == nil {
		return runner.ContainerInfo{}, runner.ErrNotFound
	}
	return c.info, nil
}

// Stop implements runner.Runtime.
func (r *Runtime) Stop(_ context.Context, id string, grace time.Duration) error {
	r.mu.Lock()
	c := r.containers[id]
	r.mu.Unlock()
	if c == nil || !c.started {
		return nil
	}
	select {
	case c.stop <- grace:
	default:
	}
	return nil
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

// Remove implements runner.Runtime.
func (r *Runtime) Remove(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Removed = append(r.Removed, id)
	if c := r.containers[id]; c != nil {
		delete(r.byName, c.spec.Name)
		delete(r.containers, id)
	}
	return nil
}

// Logs implements runner.Runtime: the behaviour's lines, stamped with the
// start time, then (when following) waits for the exit.
func (r *Runtime) Logs(ctx context.Context, id string, since time.Time, follow bool, sink runner.LogSink) error {
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
func (r *Runtime) List(_ context.Context, labels map[string]string) ([]runner.ContainerInfo, error) {
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
		out = append(out, c.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ---- Store ----

// Store is an in-memory runner.Store.
type Store struct {
	// Dir, if set, is where PodDir puts pod directories (tests set it to
	// t.TempDir()); empty means pods have no host directory.
	Dir string

	mu      sync.Mutex
	pods    map[string][]byte
	jobs    map[string][]byte
	cms     map[string][]byte
	secrets map[string][]byte
	events  []*manifest.Event
	logs    map[string]*Log
	// logErr, while set, fails every log write (FailLogWrites).
	logErr error
}

// FailLogWrites makes every log write fail with err (such as
// syscall.ENOSPC, a full disk) until it is called with nil; the lines
// are not kept.
func (s *Store) FailLogWrites(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logErr = err
}

func (s *Store) logWriteErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logErr
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{pods: map[string][]byte{}, jobs: map[string][]byte{}, logs: map[string]*Log{},
		cms: map[string][]byte{}, secrets: map[string][]byte{}}
}

// SaveConfigMap implements runner.Store.
func (s *Store) SaveConfigMap(ctx context.Context, cm *manifest.ConfigMap) error {
	return put(ctx, s, s.cms, cm.Namespace, cm.Name, cm)
}

// SaveSecret implements runner.Store.
func (s *Store) SaveSecret(ctx context.Context, sec *manifest.Secret) error {
	return put(ctx, s, s.secrets, sec.Namespace, sec.Name, sec)
}

// ConfigMap implements runner.Store.
func (s *Store) ConfigMap(ctx context.Context, ns, name string) (*manifest.ConfigMap, error) {
	return get[manifest.ConfigMap](ctx, s, s.cms, "configmap", ns, name)
}

// Secret implements runner.Store.
func (s *Store) Secret(ctx context.Context, ns, name string) (*manifest.Secret, error) {
	return get[manifest.Secret](ctx, s, s.secrets, "secret", ns, name)
}

// PodDir implements runner.Store.
func (s *Store) PodDir(ns, pod, uid string) string {
	if s.Dir == "" {
		return ""
	}
	return filepath.Join(s.Dir, "volumes", ns+"_"+pod+"_"+uid)
}

var _ runner.Store = (*Store)(nil)

// InstanceID implements runner.Store.
func (s *Store) InstanceID() string { return "0123456789abcdef" }

func enc(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func dec[T any](b []byte) *T {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	return &v
}

// put, get, list and del are the Store's operations on one of its maps of
// encoded objects by ns/name. Like state.DB, each fails with ctx.Err() once
// ctx is done.

func put(ctx context.Context, s *Store, m map[string][]byte, ns, name string, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m[ns+"/"+name] = enc(v)
	return nil
}

func get[T any](ctx context.Context, s *Store, m map[string][]byte, kind, ns, name string) (*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := m[ns+"/"+name]
	if !ok {
		return nil, fmt.Errorf("%s %s/%s: %w", kind, ns, name, runner.ErrObjectNotFound)
	}
	return dec[T](b), nil
}

// list returns the objects of namespace ns ("" = all), in no order.
func list[T any](ctx context.Context, s *Store, m map[string][]byte, ns string) ([]*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*T
	for k, b := range m {
		if ns == "" || strings.HasPrefix(k, ns+"/") {
			out = append(out, dec[T](b))
		}
	}
	return out, nil
}

func del(ctx context.Context, s *Store, m map[string][]byte, ns, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(m, ns+"/"+name)
	return nil
}

// SavePod implements runner.Store.
func (s *Store) SavePod(ctx context.Context, p *runner.PodRecord) error {
	return put(ctx, s, s.pods, p.Pod.Namespace, p.Pod.Name, p)
}

// Pod implements runner.Store.
func (s *Store) Pod(ctx context.Context, ns, name string) (*runner.PodRecord, error) {
	return get[runner.PodRecord](ctx, s, s.pods, "pod", ns, name)
}

// Pods implements runner.Store.
func (s *Store) Pods(ctx context.Context, ns string) ([]*runner.PodRecord, error) {
	out, err := list[runner.PodRecord](ctx, s, s.pods, ns)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pod.CreationTimestamp.Time, out[j].Pod.CreationTimestamp.Time
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i].Pod.Name < out[j].Pod.Name
	})
	return out, nil
}

// PodsOfJob implements runner.Store.
func (s *Store) PodsOfJob(ctx context.Context, uid string) ([]*runner.PodRecord, error) {
	all, err := s.Pods(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []*runner.PodRecord
	for _, p := range all {
		for _, o := range p.Pod.OwnerReferences {
			if o.UID == uid {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// DeletePod implements runner.Store.
func (s *Store) DeletePod(ctx context.Context, ns, name string) error {
	return del(ctx, s, s.pods, ns, name)
}

// SaveJob implements runner.Store.
func (s *Store) SaveJob(ctx context.Context, j *manifest.Job) error {
	return put(ctx, s, s.jobs, j.Namespace, j.Name, j)
}

// Job implements runner.Store.
func (s *Store) Job(ctx context.Context, ns, name string) (*manifest.Job, error) {
	return get[manifest.Job](ctx, s, s.jobs, "job", ns, name)
}

// Jobs implements runner.Store.
func (s *Store) Jobs(ctx context.Context, ns string) ([]*manifest.Job, error) {
	out, err := list[manifest.Job](ctx, s, s.jobs, ns)
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteJob implements runner.Store.
func (s *Store) DeleteJob(ctx context.Context, ns, name string) error {
	return del(ctx, s, s.jobs, ns, name)
}

// AddEvent implements runner.Store.
func (s *Store) AddEvent(ctx context.Context, e *manifest.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.events) - 1; i >= 0; i-- {
		if old := s.events[i]; runner.SameEvent(old, e) {
			runner.FoldEvent(old, e)
			s.events[i] = dec[manifest.Event](enc(e))
			return nil
		}
	}
	s.events = append(s.events, dec[manifest.Event](enc(e)))
	return nil
}

// Events implements runner.Store.
func (s *Store) Events(ctx context.Context, ns, uid string) ([]*manifest.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*manifest.Event
	for _, e := range s.events {
		if (uid == "" && e.Namespace == ns) || (uid != "" && e.InvolvedObject.UID == uid) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Log is an in-memory log file.
type Log struct {
	store *Store
	mu    sync.Mutex
	buf   bytes.Buffer
	last  time.Time
	Lines []string
}

// WriteLine implements runner.LogSink.
func (l *Log) WriteLine(ts time.Time, stream string, line []byte, partial bool) error {
	if l.store != nil {
		if err := l.store.logWriteErr(); err != nil {
			return fmt.Errorf("write log: %w", err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = ts
	l.Lines = append(l.Lines, string(line))
	return nil
}

// LastTimestamp implements runner.LogFile.
func (l *Log) LastTimestamp() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Close implements runner.LogFile.
func (l *Log) Close() error { return nil }

// OpenLog implements runner.Store.
func (s *Store) OpenLog(ns, pod, uid, container string, restart int32) (runner.LogFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.LogPath(ns, pod, uid, container, restart)
	if s.logs[p] == nil {
		s.logs[p] = &Log{store: s}
	}
	return s.logs[p], nil
}

// LogPath implements runner.Store.
func (s *Store) LogPath(ns, pod, uid, container string, restart int32) string {
	return fmt.Sprintf("logs/%s_%s_%s/%s/%d.log", ns, pod, uid, container, restart)
}

// LogLines returns the lines logged by one container instance.
func (s *Store) LogLines(ns, pod, uid, container string, restart int32) []string {
	s.mu.Lock()
	l := s.logs[s.LogPath(ns, pod, uid, container, restart)]
	s.mu.Unlock()
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.Lines)
}
