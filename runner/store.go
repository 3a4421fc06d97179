package runner

import (
	"context"
	"errors"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// ErrObjectNotFound is returned by Store lookups of a pod, job or other
// object that does not exist.
var ErrObjectNotFound = errors.New("not found")

// Store is what the controllers need from persistence. state.DB implements
// it; runnertest.Store is an in-memory fake. Every method is safe for
// concurrent use, and every Save is durable when it returns: the controllers
// record each step before taking it.
type Store interface {
	// InstanceID identifies this state dir; it is part of every container's
	// name and labels so two localjobs never touch each other's containers.
	InstanceID() string

	SavePod(ctx context.Context, p *PodRecord) error
	// Pod returns the pod ns/name or ErrObjectNotFound.
	Pod(ctx context.Context, ns, name string) (*PodRecord, error)
	// Pods lists pods of namespace ns ("" = all namespaces), in creation order.
	Pods(ctx context.Context, ns string) ([]*PodRecord, error)
	// LivePods lists the pods not in a terminal phase, in creation order,
	// without reading the finished ones (a restart resumes these among
	// any number of finished pods).
	LivePods(ctx context.Context) ([]*PodRecord, error)
	// PodsOfJob lists the pods whose controller is the Job with this UID.
	// Its records may be shared with other callers (a Job's worker lists
	// its pods after every change of one): they must not be modified.
	PodsOfJob(ctx context.Context, jobUID string) ([]*PodRecord, error)
	DeletePod(ctx context.Context, ns, name string) error

	SaveJob(ctx context.Context, j *manifest.Job) error
	// Job returns the job ns/name or ErrObjectNotFound.
	Job(ctx context.Context, ns, name string) (*manifest.Job, error)
	Jobs(ctx context.Context, ns string) ([]*manifest.Job, error)
	DeleteJob(ctx context.Context, ns, name string) error

	// AddEvent records an event; events of one object are capped. A repeat
	// of an event of the same object (same type, reason, message and
	// source) within EventFoldWindow of its last occurrence is folded into
	// it, as Kubernetes' event correlator does: its count rises and its
	// lastTimestamp moves, and e is updated to the stored event (name, uid,
	// firstTimestamp, count).
	AddEvent(ctx context.Context, e *manifest.Event) error
	// SavePodEvents stores the events, each as AddEvent does, and then the
	// pod record (nil: none), in one write: all of it, or none.
	SavePodEvents(ctx context.Context, p *PodRecord, events []*manifest.Event) error
	// Events returns the events whose involved object has this UID
	// ("" = all events of namespace ns), oldest first.
	Events(ctx context.Context, ns, uid string) ([]*manifest.Event, error)

	// OpenLog opens (creating or appending) the CRI-format log file of one
	// container instance: logs/<ns>_<pod>_<uid>/<container>/<restart>.log.
	OpenLog(ns, pod, uid, container string, restart int32) (LogFile, error)
	// LogPath is the path OpenLog uses.
	LogPath(ns, pod, uid, container string, restart int32) string

	// SaveConfigMap and SaveSecret store (replace) the objects pods
	// reference from env and volumes.
	SaveConfigMap(ctx context.Context, cm *manifest.ConfigMap) error
	SaveSecret(ctx context.Context, s *manifest.Secret) error
	// ConfigMap and Secret return ns/name or ErrObjectNotFound.
	ConfigMap(ctx context.Context, ns, name string) (*manifest.ConfigMap, error)
	Secret(ctx context.Context, ns, name string) (*manifest.Secret, error)
	// PodDir is the host directory for one pod's volumes and termination
	// message files: volumes/<ns>_<pod>_<uid> under the state dir. It is
	// not created; "" means the store has no such directory.
	PodDir(ns, pod, uid string) string
}

// LogFile is one open container log. WriteLine appends in CRI format
// (`<RFC3339Nano> <stream> <P|F> <text>`); LastTimestamp is the time of the
// last line written, used to resume capture without doubling lines.
type LogFile interface {
	LogSink
	LastTimestamp() time.Time
	Close() error
}

// Steps a container instance goes through. Each is recorded before the
// matching engine call, so a restarted daemon knows what may have happened.
const (
	StepIntent  = "intent"  // about to create
	StepCreated = "created" // created, about to start
	StepStarted = "started" // start returned without error
	StepExited  = "exited"  // terminal state recorded
)

// PodRecord is the durable state of one pod: the Kubernetes object (spec and
// the status derived from Runs) plus what localjobs needs to drive it.
type PodRecord struct {
	Pod manifest.Pod `json:"pod"`
	// Containers has one entry per init container then per app container,
	// in spec order.
	Containers []*ContainerRecord `json:"containers"`
	// Deadline handling and termination.
	TerminateReason  string    `json:"terminateReason,omitempty"`  // why localjobs is stopping the pod
	TerminateMessage string    `json:"terminateMessage,omitempty"` //
	TerminateAt      time.Time `json:"terminateAt,omitempty"`      // when the stop was requested
	// Sandbox is the pause container holding a multi-container pod's
	// namespaces (DESIGN §2); nil for single-container pods.
	Sandbox *Run `json:"sandbox,omitempty"`
	// Scheduled is set once the pod got a slot under --max-pods.
	Scheduled bool `json:"scheduled,omitempty"`
}

// ContainerRecord is the durable state of one container of a pod.
type ContainerRecord struct {
	Name         string `json:"name"`
	Init         bool   `json:"init,omitempty"`
	RestartCount int32  `json:"restartCount"`
	// Current is the newest instance, Last the one before it (lastState).
	Current *Run `json:"current,omitempty"`
	Last    *Run `json:"last,omitempty"`
	// Waiting is set while no instance runs: ContainerCreating,
	// PodInitializing, ErrImagePull, ImagePullBackOff, CrashLoopBackOff…
	Waiting *manifest.StateWaiting `json:"waiting,omitempty"`
	// BackoffUntil delays the next pull or restart; Backoff is the period
	// in force (0, 10 s, 20 s … 300 s).
	BackoffUntil time.Time     `json:"backoffUntil,omitempty"`
	Backoff      time.Duration `json:"backoff,omitempty"`
	ImageID      string        `json:"imageID,omitempty"`
}

// Run is one container instance (one engine container).
type Run struct {
	Restart    int32     `json:"restart"`
	EngineName string    `json:"engineName"`
	ID         string    `json:"id,omitempty"`
	Step       string    `json:"step"`
	ImageID    string    `json:"imageID,omitempty"`
	ExitCode   int32     `json:"exitCode"`
	Signal     int32     `json:"signal,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
	CreatedAt  time.Time `json:"createdAt,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitempty"`
	FinishedAt time.Time `json:"finishedAt,omitempty"`
}

// EventFoldWindow is how long after an event's last occurrence a repeat is
// folded into it (Kubernetes' event aggregation window).
const EventFoldWindow = 10 * time.Minute

// SameEvent reports whether e repeats old (same object, type, reason,
// message and source) within EventFoldWindow of old's last occurrence.
func SameEvent(old, e *manifest.Event) bool {
	return old.InvolvedObject.UID == e.InvolvedObject.UID && old.InvolvedObject.FieldPath == e.InvolvedObject.FieldPath &&
		old.Type == e.Type && old.Reason == e.Reason && old.Message == e.Message && old.Source == e.Source &&
		e.LastTimestamp.Sub(old.LastTimestamp.Time) <= EventFoldWindow
}

// FoldEvent folds e into old (see SameEvent): old's count rises, its
// lastTimestamp and eventTime move to e's; e becomes the folded event.
func FoldEvent(old, e *manifest.Event) {
	old.Count++
	old.LastTimestamp, old.EventTime = e.LastTimestamp, e.EventTime
	*e = *old
}
