package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Runtime is what the pod controller needs from a container engine. Package
// runner/docker implements it over the Docker Engine API; runner/runnertest
// has a scripted fake. Every method must be safe for concurrent use.
type Runtime interface {
	// EnsureImage makes image available according to policy (Always,
	// IfNotPresent, Never). Failures are *ImageError values.
	EnsureImage(ctx context.Context, image, policy string) (ImageResult, error)
	// Create creates (does not start) one container. A container with the
	// same name that already exists is returned as *ExistsError carrying its
	// ID, so a restarted daemon can adopt it.
	Create(ctx context.Context, spec ContainerSpec) (id string, err error)
	// Start starts a created container. A start failure (for example an
	// executable that does not exist) is a *StartError with the engine's
	// message; the container then shows as ContainerCannotRun.
	Start(ctx context.Context, id string) error
	// Wait blocks until the container is no longer running and returns its
	// final state.
	Wait(ctx context.Context, id string) (ContainerInfo, error)
	// Inspect returns the container's current state; ErrNotFound if it does
	// not exist.
	Inspect(ctx context.Context, id string) (ContainerInfo, error)
	// Stop sends the stop signal and, after grace, SIGKILL. Stopping a
	// stopped or missing container is not an error.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Remove removes a container; a missing container is not an error.
	Remove(ctx context.Context, id string) error
	// Logs copies the container's stdout/stderr lines with timestamps
	// strictly after since into sink, following the output until the
	// container stops (follow) or until the present (!follow).
	Logs(ctx context.Context, id string, since time.Time, follow bool, sink LogSink) error
	// List returns the containers carrying all of the given labels.
	List(ctx context.Context, labels map[string]string) ([]ContainerInfo, error)
}

// LogSink receives container output one line at a time. stream is "stdout"
// or "stderr"; partial is true when the engine split a long line and more of
// it follows.
type LogSink interface {
	WriteLine(ts time.Time, stream string, line []byte, partial bool) error
}

// ContainerSpec is everything needed to create one container.
type ContainerSpec struct {
	Name       string            // engine-side name, see ContainerName
	Labels     map[string]string // identity labels plus the pod's labels
	Image      string
	Entrypoint []string // Kubernetes command; nil keeps the image's
	Cmd        []string // Kubernetes args; nil keeps the image's
	Env        []string // KEY=VALUE
	WorkingDir string
	Hostname   string
	// MemoryLimit in bytes (0 = none); MemorySwap is set equal to it.
	MemoryLimit int64
	// NanoCPUs is the CPU limit in billionths of a CPU (0 = none).
	NanoCPUs int64
	// Network is the network mode: "" for the default bridge, a network
	// name, or "container:<id>" to join a sandbox.
	Network    string
	ExtraHosts []string // host:ip
	DNS        []string
	DNSSearch  []string
	DNSOptions []string
	Mounts     []Mount
	User       string
	ReadOnly   bool
	Privileged bool
	CapAdd     []string
	CapDrop    []string
	StopSignal string
	TTY        bool
	Stdin      bool
}

// Mount is a bind or tmpfs mount into a container.
type Mount struct {
	Source   string // host path; empty for tmpfs
	Target   string
	ReadOnly bool
	Tmpfs    bool
}

// ContainerInfo is the engine's view of one container.
type ContainerInfo struct {
	ID        string
	Name      string
	Labels    map[string]string
	Image     string
	ImageID   string
	Status    string // created, running, exited, dead…
	Running   bool
	ExitCode  int
	OOMKilled bool
	// Error is the engine's start error (State.Error), e.g. `exec: "ecoh":
	// executable file not found in $PATH`.
	Error      string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
}

// ImageResult describes how EnsureImage satisfied a request.
type ImageResult struct {
	ImageID string
	Size    int64
	// Pulled is true if the image was pulled now; PullTime is how long it took.
	Pulled   bool
	PullTime time.Duration
	// Warning is set when the offline rule ran a local image after a pull
	// failed with a network error (DESIGN §3).
	Warning string
}

// Image error reasons, as the kubelet reports them in a waiting state.
const (
	ReasonErrImagePull      = "ErrImagePull"
	ReasonImagePullBackOff  = "ImagePullBackOff"
	ReasonErrImageNeverPull = "ErrImageNeverPull"
	ReasonInvalidImageName  = "InvalidImageName"
)

// ImageError is returned by EnsureImage. Reason is one of the Reason*
// constants above; Message is what the kubelet would show, e.g. `Failed to
// pull image "nope:1": …`.
type ImageError struct {
	Reason  string
	Message string
}

func (e *ImageError) Error() string { return e.Reason + ": " + e.Message }

// StartError is returned by Start when the engine could not start the
// container process.
type StartError struct{ Message string }

func (e *StartError) Error() string { return "start container: " + e.Message }

// ExistsError is returned by Create when a container of that name exists.
type ExistsError struct{ ID string }

func (e *ExistsError) Error() string { return fmt.Sprintf("container already exists: %s", e.ID) }

// ErrNotFound is returned by Inspect and Wait when the container does not exist.
var ErrNotFound = errors.New("container not found")
