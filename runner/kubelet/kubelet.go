package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Store is what the kubelet needs from persistence; runner.Store has it.
type Store interface {
	// InstanceID is part of every container's name and labels.
	InstanceID() string
	SavePod(ctx context.Context, p *runner.PodRecord) error
	// SavePodEvents stores events, then the pod record (nil: none), in
	// one write.
	SavePodEvents(ctx context.Context, p *runner.PodRecord, events []*manifest.Event) error
	// Pod and Pods read the records of containers the engine still has.
	runner.PodReader
	OpenLog(ns, pod, uid, container string, restart int32) (runner.LogFile, error)
	PodDir(ns, pod, uid string) string
	ConfigMap(ctx context.Context, ns, name string) (*manifest.ConfigMap, error)
	Secret(ctx context.Context, ns, name string) (*manifest.Secret, error)
}

// Host is what the kubelet needs from the controller that runs it.
type Host interface {
	// Publish delivers a change of a pod, or a line of its output, to
	// subscribers, and wakes whatever depends on the pod (its Job).
	Publish(ch runner.Change)
	// NewEvent returns an event about ref, named and timed, for the
	// caller to store (Store.SavePodEvents) and publish (Publish).
	NewEvent(ref manifest.ObjectReference, typ, reason, msg, component string) *manifest.Event
}

// Settings are the kubelet's settings that may change while it runs (the
// host's configuration): it asks for one each time it uses it.
type Settings interface {
	// Security is the Pod Security admission, which also confines
	// hostPath volumes when they are mounted.
	Security() Security
	// MountDir is a folder that only this process can reach where checked
	// subPaths and hostPaths are staged for the engine as bind mounts of
	// what was opened (hostpath.go). "" turns staging off: paths are then
	// refused if they pass through a symbolic link, and handed to the
	// engine as paths.
	MountDir() string
	// MaxPods caps the pods running at once (0 = DefaultMaxPods).
	MaxPods() int
}

// Kubelet runs the pods of this machine: it holds what their workers share
// (configuration, the --max-pods slots, the node's capacity) and waits for
// the goroutines they start. Fill the exported fields before the first
// worker starts and do not change them afterwards; what may change is in
// Settings.
type Kubelet struct {
	Store    Store
	Runtime  runner.Runtime
	Host     Host
	Settings Settings
	Clock    runner.Clock
	Log      *slog.Logger
	// NodeName is recorded as the pods' spec.nodeName (the host name).
	NodeName string
	// Failpoint, if set, is called at named steps ("after-intent",
	// "after-created"); tests use it to simulate a crash between recording
	// a step and taking it.
	Failpoint func(step string)
	// KeepExited keeps exited containers in the engine (--keep-exited);
	// by default they are removed once their exit is recorded (remove.go).
	KeepExited bool

	slots slots
	wg    sync.WaitGroup // the goroutines of watch and removeQueued

	rmMu      sync.Mutex
	rmQueue   []removal // engine clean-up not yet done
	rmRunning bool      // a removeQueued goroutine works on rmQueue

	engMu   sync.Mutex
	engDown int // watchers that cannot reach the engine (engine.go)

	nodeOnce sync.Once
	nodeInfo runner.NodeInfo
	nodeErr  error
}

// node returns the engine host's capacity, asked once.
func (k *Kubelet) node(ctx context.Context) (runner.NodeInfo, error) {
	k.nodeOnce.Do(func() { k.nodeInfo, k.nodeErr = k.Runtime.Node(ctx) })
	if k.nodeErr != nil {
		return runner.NodeInfo{}, fmt.Errorf("node capacity: %w", k.nodeErr)
	}
	return k.nodeInfo, nil
}

// Wait waits for the goroutines the workers started (log capture and exit
// watchers). Call it once no worker runs any more.
func (k *Kubelet) Wait() { k.wg.Wait() }

func (k *Kubelet) now() time.Time { return k.Clock.Now() }

// failpoint calls the test hook for a named step.
func (k *Kubelet) failpoint(name string) {
	if k.Failpoint != nil {
		k.Failpoint(name)
	}
}

// engineName is the container's name in the engine:
// lj_<inst8>_<ns>_<pod>_<uid8>_<container>_<restart>.
func (k *Kubelet) engineName(p *manifest.Pod, container string, restart int32) string {
	inst := k.Store.InstanceID()
	if len(inst) > 8 {
		inst = inst[:8]
	}
	uid := strings.ReplaceAll(p.UID, "-", "")
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return fmt.Sprintf("lj_%s_%s_%s_%s_%s_%d", inst, p.Namespace, p.Name, uid, container, restart)
}

// NewRecord returns the record of a pod about to be created: Pending, on
// nodeName unless the spec names a node, with an empty record per
// container. The caller has set the pod's identity (UID, timestamps).
func NewRecord(pod *manifest.Pod, nodeName string, now time.Time) *runner.PodRecord {
	if pod.Spec.NodeName == "" {
		pod.Spec.NodeName = nodeName
	}
	pod.Status = manifest.PodStatus{Phase: manifest.PodPending, StartTime: manifest.NewTime(now), QOSClass: qosClass(&pod.Spec)}
	return &runner.PodRecord{Pod: *pod, Containers: NewContainerRecords(&pod.Spec)}
}
