// Package docker implements runner.Runtime over the Docker Engine API. It is
// the only package of localjobs that imports github.com/moby/moby.
//
// Every engine call runs under its own timeout (callTimeout for inspect,
// remove and list; the grace period plus callTimeout for stop) except those
// that legitimately block for long: Wait, Logs and image pulls, which end
// only with their context.
package docker

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/localjobs/localjobs/runner"
)

// callTimeout bounds engine calls that should answer quickly.
const callTimeout = 10 * time.Second

// createTimeout bounds container create and start, which may have to set up
// storage layers and networking.
const createTimeout = 30 * time.Second

// dockerAPI lists the Docker SDK methods this package uses; *client.Client
// satisfies it, and tests can substitute a fake.
type dockerAPI interface {
	Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error)
	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, container string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerWait(ctx context.Context, container string, options client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerInspect(ctx context.Context, container string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerStop(ctx context.Context, container string, options client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerRemove(ctx context.Context, container string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerLogs(ctx context.Context, container string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
	ImageInspect(ctx context.Context, image string, options ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	ImageImport(ctx context.Context, source client.ImageImportSource, ref string, options client.ImageImportOptions) (client.ImageImportResult, error)
	ServerVersion(ctx context.Context, options client.ServerVersionOptions) (client.ServerVersionResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	VolumeRemove(ctx context.Context, volumeID string, options client.VolumeRemoveOptions) (client.VolumeRemoveResult, error)
	Close() error
}

// Runtime runs containers on a Docker engine. It is safe for concurrent use.
type Runtime struct {
	api dockerAPI

	// authFile is the Docker CLI config file holding registry credentials;
	// empty means $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
	authFile string

	mu    sync.Mutex
	pulls map[string]*pull // in-flight pulls by image reference and credentials

	pauseMu  sync.Mutex
	pauseRef string // imported pause image, once known

	// sharesMounts: the engine resolves bind sources in our mount
	// namespace (SharesMountNamespace).
	sharesMounts bool

	// ttys caches, by container ID, whether a container has a TTY (its
	// log stream is then unframed): known from the create for the
	// containers this runtime created, asked once of the engine for the
	// others, so that reading a log costs one engine call, not two.
	ttys sync.Map
}

var _ runner.Runtime = (*Runtime)(nil)

// New connects to the Docker engine named by the environment (DOCKER_HOST,
// DOCKER_CERT_PATH, DOCKER_TLS_VERIFY, DOCKER_API_VERSION; the local socket
// by default) and checks that it answers.
func New(ctx context.Context) (*Runtime, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	rt := newRuntime(cli)
	if err := rt.Ping(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	rt.sharesMounts = engineSharesMounts(dockerHost())
	return rt, nil
}

var _ runner.HostMounts = (*Runtime)(nil)

// SharesMountNamespace implements runner.HostMounts: whether the engine
// sees the bind mounts this process makes, so that subPaths and hostPaths
// can be staged (see runner/kubelet's hostpath.go).
func (r *Runtime) SharesMountNamespace() bool { return r.sharesMounts }

func newRuntime(api dockerAPI) *Runtime {
	return &Runtime{api: api, pulls: make(map[string]*pull)}
}

// Ping checks that the engine answers, within callTimeout at most.
func (r *Runtime) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := r.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("docker engine not answering (is dockerd running? DOCKER_HOST=%q): %w", dockerHost(), err)
	}
	return nil
}

// Close releases the connection to the engine.
func (r *Runtime) Close() error { return r.api.Close() }

// daemonMessage returns the engine's own message for an error response,
// without the SDK's "Error response from daemon: " prefix.
func daemonMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "Error response from daemon: ")
}

// isDaemonResponse reports whether err is an error response from the engine
// rather than a transport or context error.
func isDaemonResponse(err error) bool {
	return strings.HasPrefix(err.Error(), "Error response from daemon: ")
}

// closeQuietly closes c, for deferred cleanup where the close error carries
// no information.
func closeQuietly(c io.Closer) { _ = c.Close() }

// dockerHost names the engine endpoint for error messages.
func dockerHost() string {
	if h := os.Getenv(client.EnvOverrideHost); h != "" {
		return h
	}
	return client.DefaultDockerHost
}
