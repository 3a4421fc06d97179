package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Runtime is what runner/kubelet needs from a container engine. Package
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
	// List returns the containers carrying all of the given labels, each
	// with its ID, Name, Image, Labels, Status, Running and CreatedAt (one
	// engine call; Inspect gives the rest).
	List(ctx context.Context, labels map[string]string) ([]ContainerInfo, error)
	// PauseImage makes the pod sandbox image available (DESIGN §2: the
	// embedded pause program, imported without a registry) and returns its
	// reference. The image's entrypoint holds the sandbox's namespaces.
	PauseImage(ctx context.Context) (string, error)
	// RemoveVolume removes a named engine volume (the memory-backed emptyDirs
	// of sandboxed pods); a missing volume is not an error.
	RemoveVolume(ctx context.Context, name string) error
	// Node describes the machine containers run on: its CPUs and memory are
	// the node allocatable that resourceFieldRef reports for unset limits.
	Node(ctx context.Context) (NodeInfo, error)
}

// AuthPuller is implemented by runtimes that can pull with the credentials
// of a pod's imagePullSecrets. It is optional: the pod worker checks for it
// by type assertion and otherwise calls EnsureImage.
type AuthPuller interface {
	// EnsureImageAuth is EnsureImage with credentials: the entry whose
	// Server matches the image's registry is used, in preference to the
	// engine's own configuration (as the kubelet puts pull secrets before
	// the node's credentials).
	EnsureImageAuth(ctx context.Context, image, policy string, auths []RegistryAuth) (ImageResult, error)
}

// HostMounts is implemented by runtimes that can tell whether their engine
// resolves bind-mount sources in this process's mount namespace (a local
// engine on Linux), so that a path staged with a bind mount here is the
// path the engine mounts (runner/kubelet's hostpath.go). It is optional:
// without it paths are checked, not staged.
type HostMounts interface {
	SharesMountNamespace() bool
}

// RegistryAuth is one entry of a docker config from an imagePullSecret.
type RegistryAuth struct {
	// Server is the entry's key: a registry host, host/path, or URL such as
	// https://index.docker.io/v1/.
	Server   string
	Username string
	Password string
	// Auth is the entry's base64 "user:password" as given; Username and
	// Password are filled from it when the entry has no separate ones.
	Auth          string
	IdentityToken string
}

// NodeInfo is the engine host's capacity.
type NodeInfo struct {
	CPUs   int
	Memory int64 // bytes
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
	// name, "host", or "container:<id>" to join a sandbox (which also
	// shares the sandbox's hostname, /etc/hosts and resolv.conf).
	Network string
	// IPC is the IPC mode: "" (private), "shareable" for a sandbox,
	// "container:<id>" to join one, or "host".
	IPC string
	// PID is the PID namespace mode: "", "container:<id>" or "host".
	PID        string
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

// Mount is a bind, tmpfs or named-volume mount into a container.
type Mount struct {
	Source   string // host path; empty for tmpfs and volumes
	Target   string
	ReadOnly bool
	// Tmpfs mounts a memory-backed filesystem. With Volume set it is a
	// named engine volume of type tmpfs, shared by every container that
	// mounts it (and kept mounted by the pod's sandbox).
	Tmpfs  bool
	Volume string
	// SubPath mounts only this path inside a named volume.
	SubPath string
	// Size limits a tmpfs, in bytes (0 = the engine's default).
	Size int64
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
	// IP is the container's address on its first network and Gateway that
	// network's gateway (the host as containers see it); empty when the
	// container is not running or joins another's network.
	IP      string
	Gateway string
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
