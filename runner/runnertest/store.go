package runnertest

import (
	"bytes"
	"context"
	"encoding/json"
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

// Store is an in-memory runner.Store.
type Store struct {
	// Dir, if set, is where PodDir puts pod directories (tests set it to
	// t.TempDir()); empty means pods have no host directory.
	Dir string
	// Faults injects store errors, lost replies (a write done, then an
	// error) and latency per method (default error ErrStore).
	Faults Faults

	mu      sync.Mutex
	pods    map[string][]byte
	jobs    map[string][]byte
	cms     map[string][]byte
	secrets map[string][]byte
	events  []*manifest.Event
	logs    map[string]*Log
	// logErr, while set, fails every log write (FailLogWrites).
	logErr error
	// handedOut holds the records the last PodsOfJob call returned, as
	// they were: the state's are shared between callers, so a caller that
	// changes one is a bug the next call reports (panic).
	handedOut map[*runner.PodRecord][]byte
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
	return put(ctx, "SaveConfigMap", s, s.cms, cm.Namespace, cm.Name, cm)
}

// SaveSecret implements runner.Store.
func (s *Store) SaveSecret(ctx context.Context, sec *manifest.Secret) error {
	return put(ctx, "SaveSecret", s, s.secrets, sec.Namespace, sec.Name, sec)
}

// ConfigMap implements runner.Store.
func (s *Store) ConfigMap(ctx context.Context, ns, name string) (*manifest.ConfigMap, error) {
	return get[manifest.ConfigMap](ctx, "ConfigMap", s, s.cms, "configmap", ns, name)
}

// Secret implements runner.Store.
func (s *Store) Secret(ctx context.Context, ns, name string) (*manifest.Secret, error) {
	return get[manifest.Secret](ctx, "Secret", s, s.secrets, "secret", ns, name)
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
// ctx is done. Each injects the faults of the Store method op, so a fault set
// on "SavePod" hits SavePod only.

func put(ctx context.Context, op string, s *Store, m map[string][]byte, ns, name string, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fail, lost := s.Faults.before(ctx, op, ErrStore)
	if fail != nil {
		return fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m[ns+"/"+name] = enc(v)
	return lost
}

func get[T any](ctx context.Context, op string, s *Store, m map[string][]byte, kind, ns, name string) (*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err, _ := s.Faults.take(ctx, op, ErrStore); err != nil {
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
func list[T any](ctx context.Context, op string, s *Store, m map[string][]byte, ns string) ([]*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err, _ := s.Faults.take(ctx, op, ErrStore); err != nil {
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

func del(ctx context.Context, op string, s *Store, m map[string][]byte, ns, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fail, lost := s.Faults.before(ctx, op, ErrStore)
	if fail != nil {
		return fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(m, ns+"/"+name)
	return lost
}

// SavePod implements runner.Store.
func (s *Store) SavePod(ctx context.Context, p *runner.PodRecord) error {
	return put(ctx, "SavePod", s, s.pods, p.Pod.Namespace, p.Pod.Name, p)
}

// Pod implements runner.Store.
func (s *Store) Pod(ctx context.Context, ns, name string) (*runner.PodRecord, error) {
	return get[runner.PodRecord](ctx, "Pod", s, s.pods, "pod", ns, name)
}

// Pods implements runner.Store.
func (s *Store) Pods(ctx context.Context, ns string) ([]*runner.PodRecord, error) {
	return s.listPods(ctx, "Pods", ns)
}

// listPods is Pods, with the faults of the Store method op.
func (s *Store) listPods(ctx context.Context, op, ns string) ([]*runner.PodRecord, error) {
	out, err := list[runner.PodRecord](ctx, op, s, s.pods, ns)
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

// LivePods implements runner.Store.
func (s *Store) LivePods(ctx context.Context) ([]*runner.PodRecord, error) {
	all, err := s.listPods(ctx, "LivePods", "")
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(p *runner.PodRecord) bool { return runner.IsTerminalPhase(p.Pod.Status.Phase) }), nil
}

// PodsOfJob implements runner.Store.
func (s *Store) PodsOfJob(ctx context.Context, uid string) ([]*runner.PodRecord, error) {
	all, err := s.listPods(ctx, "PodsOfJob", "")
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
	s.mu.Lock()
	defer s.mu.Unlock()
	for rec, was := range s.handedOut {
		if !bytes.Equal(enc(rec), was) {
			panic(fmt.Sprintf("runnertest: a record PodsOfJob returned (pod %s) was modified by its caller; they are shared and read-only", rec.Pod.Name))
		}
	}
	s.handedOut = make(map[*runner.PodRecord][]byte, len(out)) // the last call's: checked at the next
	for _, p := range out {
		s.handedOut[p] = enc(p)
	}
	return out, nil
}

// DeletePod implements runner.Store.
func (s *Store) DeletePod(ctx context.Context, ns, name string) error {
	return del(ctx, "DeletePod", s, s.pods, ns, name)
}

// SaveJob implements runner.Store.
func (s *Store) SaveJob(ctx context.Context, j *manifest.Job) error {
	return put(ctx, "SaveJob", s, s.jobs, j.Namespace, j.Name, j)
}

// Job implements runner.Store.
func (s *Store) Job(ctx context.Context, ns, name string) (*manifest.Job, error) {
	return get[manifest.Job](ctx, "Job", s, s.jobs, "job", ns, name)
}

// Jobs implements runner.Store.
func (s *Store) Jobs(ctx context.Context, ns string) ([]*manifest.Job, error) {
	out, err := list[manifest.Job](ctx, "Jobs", s, s.jobs, ns)
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteJob implements runner.Store.
func (s *Store) DeleteJob(ctx context.Context, ns, name string) error {
	return del(ctx, "DeleteJob", s, s.jobs, ns, name)
}

// AddEvent implements runner.Store.
func (s *Store) AddEvent(ctx context.Context, e *manifest.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err, _ := s.Faults.take(ctx, "AddEvent", ErrStore); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addEvent(e)
	return nil
}

// addEvent stores e, folded into an event it repeats; s.mu is held.
func (s *Store) addEvent(e *manifest.Event) {
	for i := len(s.events) - 1; i >= 0; i-- {
		if old := s.events[i]; runner.SameEvent(old, e) {
			runner.FoldEvent(old, e)
			s.events[i] = dec[manifest.Event](enc(e))
			return
		}
	}
	s.events = append(s.events, dec[manifest.Event](enc(e)))
}

// SavePodEvents implements runner.Store: its faults are SavePod's, or
// AddEvent's when it stores no pod.
func (s *Store) SavePodEvents(ctx context.Context, p *runner.PodRecord, events []*manifest.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := "SavePod"
	if p == nil {
		op = "AddEvent"
	}
	fail, lost := s.Faults.before(ctx, op, ErrStore)
	if fail != nil {
		return fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		s.addEvent(e)
	}
	if p != nil {
		s.pods[p.Pod.Namespace+"/"+p.Pod.Name] = enc(p)
	}
	return lost
}

// Events implements runner.Store.
func (s *Store) Events(ctx context.Context, ns, uid string) ([]*manifest.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err, _ := s.Faults.take(ctx, "Events", ErrStore); err != nil {
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
