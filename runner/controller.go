package runner

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// Controller runs pods and jobs: one worker goroutine per unfinished pod and
// per unfinished job. Fill the exported fields, then call Run; Apply* and
// Terminate talk to the running controller.
type Controller struct {
	Store   Store
	Runtime Runtime
	Clock   Clock        // nil = RealClock
	Log     *slog.Logger // nil = discard
	// NodeName is recorded as the pods' spec.nodeName (the host name).
	NodeName string
	// Failpoint, if set, is called at named steps ("after-intent"); tests
	// use it to simulate a crash between recording a step and taking it.
	Failpoint func(step string)
	// PodSecurity is the Pod Security Standards level pods are admitted at:
	// PodSecurityBaseline (the default when empty) or PodSecurityPrivileged.
	PodSecurity string
	// AllowHostPath lists the host directories hostPath volumes may use at
	// the baseline level; nil means the user's home directory.
	AllowHostPath []string
	// MountDir is a folder that only this process can reach (the daemon's
	// is in the state dir) where checked subPaths and hostPaths are staged
	// for the engine as bind mounts of what was opened (hostpath.go). ""
	// turns staging off: paths are then refused if they pass through a
	// symbolic link, and handed to the engine as paths.
	MountDir string
	// ProtectedPaths are folders that no hostPath volume may be in or hold
	// under baseline: the daemon's state dir, whose database a pod could
	// otherwise rewrite (a privileged pod restored at the next start).
	ProtectedPaths []string
	// MaxPods caps the pods running at once (0 = DefaultMaxPods); later
	// pods stay Pending/Unschedulable until one finishes.
	MaxPods int
	// OnJobChange, if set, is called with every published Job change (a
	// deleted Job carries only its namespace and name); the daemon tells
	// the CronJob controller through it. It must not block.
	OnJobChange func(j *manifest.Job, deleted bool)

	mu    sync.Mutex
	ctx   context.Context // Run's context; nil until Run starts
	ready chan struct{}
	pods  map[string]*podWorker // by ns/name
	jobs  map[string]*jobWorker // by ns/name
	subs  map[*Subscription]struct{}
	wg    sync.WaitGroup
	slots podSlots
}

// Change is one update of a pod or job, an event, or a line of container
// output, delivered to subscribers.
type Change struct {
	Pod    *manifest.Pod
	Record *PodRecord
	Job    *manifest.Job
	Event  *manifest.Event
	Log    *LogLine
	// Deleted is set when Pod or Job was deleted.
	Deleted bool
}

// LogLine is one line of a container's output as it was captured. The
// lines of an instance come before the pod change that records its exit.
type LogLine struct {
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	PodUID    string    `json:"podUID"`
	Container string    `json:"container"`
	Time      time.Time `json:"time"`
	Stream    string    `json:"stream"`
	Line      string    `json:"line"`
	// Partial is set when the engine split a long line and more follows.
	Partial bool `json:"partial,omitempty"`
}

func (c *Controller) clock() Clock {
	if c.Clock == nil {
		return RealClock{}
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

func (c *Controller) init() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready == nil {
		c.ready = make(chan struct{})
		c.pods = map[string]*podWorker{}
		c.jobs = map[string]*jobWorker{}
		c.subs = map[*Subscription]struct{}{}
	}
}

// Run runs the controller until ctx is done, then waits for its goroutines.
// Containers keep running when it returns; a later Run adopts nothing yet
// (that is the daemon's restart reconcile).
func (c *Controller) Run(ctx context.Context) error {
	c.init()
	c.mu.Lock()
	c.ctx = ctx
	close(c.ready)
	c.mu.Unlock()
	<-ctx.Done()
	c.wg.Wait()
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

func newUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randSuffix returns n characters of the apiserver's generateName alphabet.
func randSuffix(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func key(ns, name string) string { return ns + "/" + name }

// ApplyPod starts a fresh run of a bare pod: a previous pod of the same name
// is stopped and replaced. It returns the stored pod.
func (c *Controller) ApplyPod(ctx context.Context, p *manifest.Pod) (*manifest.Pod, error) {
	runCtx, err := c.runCtx(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.checkPodSecurity(&p.ObjectMeta, &p.Spec); err != nil {
		return nil, err
	}
	pod := clonePod(p)
	if pod.Name == "" && pod.GenerateName != "" {
		pod.Name = pod.GenerateName + randSuffix(5)
	}
	if err := c.replacePod(ctx, pod.Namespace, pod.Name); err != nil {
		return nil, err
	}
	rec := c.newPodRecord(pod)
	out := clonePod(&rec.Pod)
	if err := c.startPod(runCtx, rec); err != nil {
		return nil, err
	}
	return out, nil
}

// replacePod stops a running worker of ns/name and deletes its record.
func (c *Controller) replacePod(ctx context.Context, ns, name string) error {
	c.mu.Lock()
	w := c.pods[key(ns, name)]
	c.mu.Unlock()
	if w != nil {
		select {
		case w.terminate <- terminateReq{reason: "Replaced", message: "replaced by a new run"}:
		case <-w.done:
		}
		select {
		case <-w.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return c.deletePodRecord(ctx, ns, name)
}

// deletePodRecord deletes a finished pod's record (with its events and
// logs) and removes its containers from the engine, so deleted pods leave
// nothing behind. Only this instance's containers are touched.
func (c *Controller) deletePodRecord(ctx context.Context, ns, name string) error {
	rec, err := c.Store.Pod(ctx, ns, name)
	if errors.Is(err, ErrObjectNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if err := c.Store.DeletePod(ctx, ns, name); err != nil && !errors.Is(err, ErrObjectNotFound) {
		return err
	}
	cs, err := c.Runtime.List(ctx, map[string]string{LabelInstance: c.Store.InstanceID(), LabelPodUID: rec.Pod.UID})
	if err != nil {
		c.logger().Warn("list containers of deleted pod", "pod", ns+"/"+name, "error", err)
		return nil
	}
	for _, ci := range cs {
		if err := c.Runtime.Remove(ctx, ci.ID); err != nil {
			c.logger().Warn("remove container of deleted pod", "container", ci.Name, "error", err)
		}
	}
	return nil
}

func (c *Controller) newPodRecord(pod *manifest.Pod) *PodRecord {
	now := c.now()
	pod.APIVersion, pod.Kind = "v1", "Pod"
	pod.UID = newUID()
	pod.CreationTimestamp = manifest.Time{Time: now.Truncate(time.Second)}
	pod.ResourceVersion = "1"
	if pod.Spec.NodeName == "" {
		pod.Spec.NodeName = c.NodeName
	}
	pod.Status = manifest.PodStatus{Phase: manifest.PodPending, StartTime: manifest.NewTime(now), QOSClass: qosClass(&pod.Spec)}
	return &PodRecord{Pod: *pod, Containers: NewContainerRecords(&pod.Spec)}
}

// startPod stores a new pod and starts its worker.
func (c *Controller) startPod(ctx context.Context, rec *PodRecord) error {
	if err := c.Store.SavePod(ctx, rec); err != nil {
		return fmt.Errorf("save pod: %w", err)
	}
	c.publish(Change{Pod: clonePod(&rec.Pod), Record: cloneRecord(rec)})
	// The worker records Scheduled (or FailedScheduling) under MaxPods.
	c.runPodWorker(ctx, newPodWorker(c, rec))
	return nil
}

// TerminatePod asks the worker of a running pod to stop its containers with
// the grace period; the pod ends Failed (or Succeeded if everything had
// succeeded). reason becomes the pod's status reason for DeadlineExceeded.
func (c *Controller) TerminatePod(ns, name, reason, message string) bool {
	c.mu.Lock()
	w := c.pods[key(ns, name)]
	c.mu.Unlock()
	if w == nil {
		return false
	}
	select {
	case w.terminate <- terminateReq{reason: reason, message: message}:
	case <-w.done:
	}
	return true
}

// TerminateAll stops every job (no more pods are created) and every pod,
// with their grace periods (run's SIGINT and timeout).
func (c *Controller) TerminateAll(reason, message string) {
	c.mu.Lock()
	var ws []*podWorker
	for _, w := range c.pods {
		ws = append(ws, w)
	}
	var js []*jobWorker
	for _, j := range c.jobs {
		js = append(js, j)
	}
	c.mu.Unlock()
	for _, j := range js {
		j.halt()
		<-j.done
	}
	for _, w := range ws {
		select {
		case w.terminate <- terminateReq{reason: reason, message: message}:
		case <-w.done:
		}
	}
}

// KillAll stops every running container at once (grace 0), whatever
// happens to the controller's context: a second Ctrl-C.
func (c *Controller) KillAll(ctx context.Context) int {
	recs, err := c.Store.Pods(ctx, "")
	if err != nil {
		return 0
	}
	n := 0
	for _, r := range recs {
		k, _ := c.killRuns(ctx, r)
		n += k
	}
	return n
}

// KillPod stops the pod's running containers (and sandbox) at once,
// without waiting for its worker; the worker records the exits.
func (c *Controller) KillPod(ctx context.Context, ns, name string) error {
	r, err := c.Store.Pod(ctx, ns, name)
	if err != nil {
		return err
	}
	_, err = c.killRuns(ctx, r)
	return err
}

// killRuns stops every live instance of a pod with grace 0 and counts them.
func (c *Controller) killRuns(ctx context.Context, r *PodRecord) (int, error) {
	runs := []*Run{r.Sandbox}
	for _, cr := range r.Containers {
		runs = append(runs, cr.Current)
	}
	n := 0
	var firstErr error
	for _, run := range runs {
		if run == nil || run.ID == "" || run.Step == StepExited {
			continue
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := c.Runtime.Stop(sctx, run.ID, 0)
		cancel()
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		n++
	}
	return n, firstErr
}

// podFinished is called by a pod worker once its pod is terminal.
func (c *Controller) podFinished(rec *PodRecord) {
	if uid := controllerUID(&rec.Pod.ObjectMeta, "Job"); uid != "" {
		c.kickJob(rec.Pod.Namespace, uid)
	}
}

func controllerUID(m *manifest.ObjectMeta, kind string) string {
	for _, o := range m.OwnerReferences {
		if o.Kind == kind && o.Controller != nil && *o.Controller {
			return o.UID
		}
	}
	return ""
}

// engineName is the container's name in the engine:
// lj_<inst8>_<ns>_<pod>_<uid8>_<container>_<restart>.
func (c *Controller) engineName(p *manifest.Pod, container string, restart int32) string {
	inst := c.Store.InstanceID()
	if len(inst) > 8 {
		inst = inst[:8]
	}
	uid := strings.ReplaceAll(p.UID, "-", "")
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return fmt.Sprintf("lj_%s_%s_%s_%s_%s_%d", inst, p.Namespace, p.Name, uid, container, restart)
}

// RecordEvent stores an event about ref, from component, and publishes it.
func (c *Controller) RecordEvent(ctx context.Context, ref manifest.ObjectReference, typ, reason, msg, component string) {
	c.recordEvent(ctx, ref, typ, reason, msg, component)
}

// recordEvent stores an event about ref and publishes it.
func (c *Controller) recordEvent(ctx context.Context, ref manifest.ObjectReference, typ, reason, msg, component string) {
	now := c.now()
	e := &manifest.Event{
		TypeMeta: manifest.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta: manifest.ObjectMeta{
			Name:              fmt.Sprintf("%s.%x", ref.Name, now.UnixNano()),
			Namespace:         ref.Namespace,
			UID:               newUID(),
			CreationTimestamp: manifest.Time{Time: now.Truncate(time.Second)},
		},
		InvolvedObject: ref,
		Reason:         reason,
		Message:        msg,
		Source:         manifest.EventSource{Component: component, Host: c.NodeName},
		FirstTimestamp: manifest.Time{Time: now.Truncate(time.Second)},
		LastTimestamp:  manifest.Time{Time: now.Truncate(time.Second)},
		Count:          1,
		Type:           typ,
		EventTime:      manifest.MicroTime{Time: now},
	}
	if err := c.Store.AddEvent(ctx, e); err != nil {
		c.logger().Error("record event", "error", err)
	}
	c.publish(Change{Event: e})
}

func objectRef(tm *manifest.TypeMeta, m *manifest.ObjectMeta, fieldPath string) manifest.ObjectReference {
	return manifest.ObjectReference{
		Kind: tm.Kind, APIVersion: tm.APIVersion, Namespace: m.Namespace, Name: m.Name, UID: m.UID,
		FieldPath: fieldPath,
	}
}

// ---- subscriptions ----

// MaxQueue is how many changes a subscription holds for a reader that does
// not keep up; past it the subscription is cut off (ErrSlowSubscriber)
// rather than holding every change in memory.
const MaxQueue = 65536

// ErrSlowSubscriber ends a subscription whose reader fell MaxQueue changes
// behind: it must list again and subscribe anew.
var ErrSlowSubscriber = errors.New("the watch fell too far behind and was cut off; list again")

// Subscription receives every Change published after it was made that its
// filter keeps, in order and without loss, or is cut off.
type Subscription struct {
	c      *Controller
	filter func(*Change) bool
	mu     sync.Mutex
	queue  []Change
	cut    bool
	signal chan struct{}
}

// Subscribe starts a subscription to every change; Close ends it.
func (c *Controller) Subscribe() *Subscription { return c.SubscribeFilter(nil) }

// SubscribeFilter starts a subscription to the changes keep accepts (nil =
// all); keep runs in the publisher and must be quick.
func (c *Controller) SubscribeFilter(keep func(*Change) bool) *Subscription {
	c.init()
	s := &Subscription{c: c, filter: keep, signal: make(chan struct{}, 1)}
	c.mu.Lock()
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	return s
}

// Next returns the next change, waiting for one until ctx is done; it
// returns ErrSlowSubscriber once the subscription was cut off and its
// queue is drained.
func (s *Subscription) Next(ctx context.Context) (Change, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ch := s.queue[0]
			s.queue[0] = Change{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return ch, nil
		}
		cut := s.cut
		s.mu.Unlock()
		if cut {
			return Change{}, ErrSlowSubscriber
		}
		select {
		case <-s.signal:
		case <-ctx.Done():
			return Change{}, ctx.Err()
		}
	}
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.c.mu.Lock()
	delete(s.c.subs, s)
	s.c.mu.Unlock()
}

func (c *Controller) publish(ch Change) {
	c.init()
	c.mu.Lock()
	subs := make([]*Subscription, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		if s.filter != nil && !s.filter(&ch) {
			continue
		}
		s.mu.Lock()
		switch {
		case s.cut:
		case len(s.queue) >= MaxQueue:
			s.cut, s.queue = true, nil
		default:
			s.queue = append(s.queue, ch)
		}
		s.mu.Unlock()
		select {
		case s.signal <- struct{}{}:
		default:
		}
	}
	if ch.Job != nil && c.OnJobChange != nil {
		c.OnJobChange(ch.Job, ch.Deleted)
	}
	if ch.Record != nil {
		// Any change of a Job's pod (a container restart under OnFailure,
		// a pod being stopped…) may change the Job's status.
		if uid := controllerUID(&ch.Record.Pod.ObjectMeta, "Job"); uid != "" {
			c.kickJob(ch.Record.Pod.Namespace, uid)
		}
	}
}

// ---- copies ----

func clonePod(p *manifest.Pod) *manifest.Pod {
	var out manifest.Pod
	deepCopy(p, &out)
	return &out
}

func cloneJob(j *manifest.Job) *manifest.Job {
	var out manifest.Job
	deepCopy(j, &out)
	return &out
}

func cloneRecord(r *PodRecord) *PodRecord {
	var out PodRecord
	deepCopy(r, &out)
	return &out
}

func deepCopy(in, out any) {
	b, err := json.Marshal(in)
	if err != nil {
		panic(fmt.Sprintf("deep copy: %v", err))
	}
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("deep copy: %v", err))
	}
}
