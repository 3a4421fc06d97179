package localapi

import (
	"context"
	"errors"
	"io"

	"github.com/localjobs/localjobs/apply"
	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Reader is a read-only view of a state dir: all the read verbs need. A
// running daemon serves one, and so does a state opened read-only when no
// daemon runs.
type Reader interface {
	Pods(ctx context.Context, ns string) ([]*runner.PodRecord, error)
	// Pod returns one pod, or an error matching runner.ErrObjectNotFound.
	Pod(ctx context.Context, ns, name string) (*runner.PodRecord, error)
	// PodsLabelled lists the pods of ns ("" = all) whose label key has
	// one of values, through the store's label index.
	PodsLabelled(ctx context.Context, ns, key string, values []string) ([]*runner.PodRecord, error)
	// PodsOfJob lists the pods whose controller is the Job with this UID.
	PodsOfJob(ctx context.Context, jobUID string) ([]*runner.PodRecord, error)
	Jobs(ctx context.Context, ns string) ([]*manifest.Job, error)
	Job(ctx context.Context, ns, name string) (*manifest.Job, error)
	CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error)
	CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error)
	// Events lists the events of the object with uid ("" = all of ns).
	Events(ctx context.Context, ns, uid string) ([]*manifest.Event, error)
	// AppliedObjects lists what apply remembers (sources of objects).
	AppliedObjects(ctx context.Context) ([]*apply.Record, error)
	// Logs writes a container's log to w as req asks, following it while
	// the container runs when req.Follow is set. Errors found before the
	// first byte is written get a status code.
	Logs(ctx context.Context, w io.Writer, req LogRequest) error
	// History lists recorded Job runs, newest first (package history):
	// kept after the Jobs and their pods are deleted.
	History(ctx context.Context, q HistoryQuery) ([]*HistoryRun, error)
}

// Controller is what the writing verbs need: a running daemon.
type Controller interface {
	// Apply applies manifests (package apply).
	Apply(ctx context.Context, req ApplyRequest) (ApplyResponse, error)
	// DeletePod, DeleteJob and DeleteCronJob are a user's deletes: the
	// object goes with what it owns, and its applied record with it.
	// grace (seconds; nil = the pod's own period, 0 = at once) is how long
	// a pod's containers get to stop.
	DeletePod(ctx context.Context, ns, name string, grace *int64) error
	DeleteJob(ctx context.Context, ns, name string) error
	DeleteCronJob(ctx context.Context, ns, name string) error
	SetSuspend(ctx context.Context, ns, name string, suspend bool) error
	SetCronJobSuspend(ctx context.Context, ns, name string, suspend bool) error
	// InstantiateCronJob creates Job job from the CronJob's jobTemplate
	// (`create job NAME --from=cronjob/CJ`); a *ConflictError when the
	// CronJob's Forbid policy refuses it and force is unset, or the name
	// is taken.
	InstantiateCronJob(ctx context.Context, ns, cronJob, job string, force bool) (*manifest.Job, error)
	// CreateJob creates a Job (`create job NAME --image`); a
	// *ConflictError when the name is taken.
	CreateJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error)
	// TerminatePod stops a pod's containers with its grace period, or at
	// once with kill; the pod ends Failed and stays recorded (run's stop).
	TerminatePod(ctx context.Context, ns, name string, kill bool) error
	// Exec runs a command in a running container, copying its output to
	// stdout and stderr, and returns its exit code.
	Exec(ctx context.Context, req ExecRequest, stdout, stderr io.Writer) (int, error)
	// Subscribe starts a subscription to the changes keep accepts.
	Subscribe(keep func(*runner.Change) bool) *runner.Subscription
}

// Types of the API that clients use without importing the packages that
// define them.
type (
	ApplyRequest  = apply.Request
	File          = apply.File
	ApplyResponse = apply.Response
	ApplyResult   = apply.Result
	AppliedRecord = apply.Record
	// PodRecord is a pod with localjobs' own record of its containers.
	PodRecord       = runner.PodRecord
	ContainerRecord = runner.ContainerRecord
	// LogLine is one line of container output in a watch with logs.
	LogLine = runner.LogLine
	// HistoryRun is the record of one Job run, HistoryAttempt of one of
	// its pods; HistoryQuery selects runs.
	HistoryRun     = history.Run
	HistoryAttempt = history.Attempt
	HistoryQuery   = history.Query
)

// ErrNotFound matches the error of a request for an object that does not
// exist (404).
var ErrNotFound = runner.ErrObjectNotFound

// ErrConflict is returned by a Controller for a request that conflicts
// with the current state.
var ErrConflict = errors.New("conflict")

// ErrNoDaemon is returned by Dial when no daemon answers on the socket,
// and by a read-only server (no daemon runs) for what needs one (503).
var ErrNoDaemon = errors.New("no localjobs daemon is running")

// BadRequestError is a request that cannot be served as asked.
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

// ConflictError is a request refused because of the current state (an
// existing name, a Forbid policy); it matches ErrConflict and is answered
// with 409.
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }

// Is makes a ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// LogRequest selects a container's log, as kubectl logs' flags do.
type LogRequest struct {
	Namespace, Pod, Container    string
	Previous, Follow, Timestamps bool
	TailLines                    int // -1 = all
	SinceSeconds                 int64
}

// ExecRequest asks to run a command in a pod's container, as kubectl exec
// does (no stdin, no TTY).
type ExecRequest struct {
	Namespace string   `json:"-"`
	Pod       string   `json:"-"`
	Container string   `json:"container,omitempty"`
	Command   []string `json:"command"`
}

// InstantiateRequest is the body of a create-job-from-cronjob request.
type InstantiateRequest struct {
	Name  string `json:"name"`
	Force bool   `json:"force,omitempty"`
}
