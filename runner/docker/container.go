package docker

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/localjobs/localjobs/runner"
)

// logConfig is the explicit log configuration of every container: json-file
// keeps the output on the engine so capture can resume after a daemon
// restart with since=<last timestamp> (DESIGN §5).
var logConfig = container.LogConfig{
	Type:   "json-file",
	Config: map[string]string{"max-size": "10m", "max-file": "2"},
}

// Create creates (does not start) one container from spec. A container of
// the same name that already exists is reported as *runner.ExistsError.
//
// An empty Entrypoint or Cmd means the image's, as in Kubernetes, where
// `command: []` is the same as no command.
func (r *Runtime) Create(ctx context.Context, spec runner.ContainerSpec) (string, error) {
	cfg, hc, err := containerConfig(spec)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	cctx, cancel := context.WithTimeout(ctx, createTimeout)
	defer cancel()
	res, err := r.api.ContainerCreate(cctx, client.ContainerCreateOptions{
		Name:       spec.Name,
		Config:     cfg,
		HostConfig: hc,
	})
	if err != nil {
		if cerrdefs.IsConflict(err) && spec.Name != "" {
			if info, ierr := r.Inspect(ctx, spec.Name); ierr == nil {
				return "", &runner.ExistsError{ID: info.ID}
			}
		}
		return "", fmt.Errorf("create container %s: %s", spec.Name, daemonMessage(err))
	}
	// Its log is read without asking the engine again (hasTTY).
	r.ttys.Store(res.ID, spec.TTY)
	return res.ID, nil
}

// containerConfig maps spec onto the engine's create request.
func containerConfig(spec runner.ContainerSpec) (*container.Config, *container.HostConfig, error) {
	cfg := &container.Config{
		Hostname:   spec.Hostname,
		User:       spec.User,
		Tty:        spec.TTY,
		OpenStdin:  spec.Stdin,
		Env:        spec.Env,
		Cmd:        nilIfEmpty(spec.Cmd),
		Image:      spec.Image,
		WorkingDir: spec.WorkingDir,
		Entrypoint: nilIfEmpty(spec.Entrypoint),
		Labels:     spec.Labels,
		StopSignal: spec.StopSignal,
	}
	hc := &container.HostConfig{
		LogConfig:      logConfig,
		NetworkMode:    container.NetworkMode(spec.Network),
		IpcMode:        container.IpcMode(spec.IPC),
		PidMode:        container.PidMode(spec.PID),
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		CapAdd:         spec.CapAdd,
		CapDrop:        spec.CapDrop,
		DNSOptions:     spec.DNSOptions,
		DNSSearch:      spec.DNSSearch,
		ExtraHosts:     spec.ExtraHosts,
		Privileged:     spec.Privileged,
		ReadonlyRootfs: spec.ReadOnly,
		Resources: container.Resources{
			Memory:     spec.MemoryLimit,
			MemorySwap: spec.MemoryLimit,
			NanoCPUs:   spec.NanoCPUs,
		},
	}
	for _, s := range spec.DNS {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, nil, fmt.Errorf("dns server %q: %w", s, err)
		}
		hc.DNS = append(hc.DNS, a)
	}
	for _, m := range spec.Mounts {
		if m.Volume != "" {
			// A named tmpfs volume, shared by the pod's containers.
			opts := map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "mode=1777"}
			if m.Size > 0 {
				opts["o"] += fmt.Sprintf(",size=%d", m.Size)
			}
			hc.Mounts = append(hc.Mounts, mount.Mount{
				Type:     mount.TypeVolume,
				Source:   m.Volume,
				Target:   m.Target,
				ReadOnly: m.ReadOnly,
				VolumeOptions: &mount.VolumeOptions{
					Labels:       map[string]string{runner.LabelInstance: spec.Labels[runner.LabelInstance]},
					Subpath:      m.SubPath,
					DriverConfig: &mount.Driver{Name: "local", Options: opts},
				},
			})
			continue
		}
		if m.Tmpfs {
			hc.Mounts = append(hc.Mounts, mount.Mount{
				Type:         mount.TypeTmpfs,
				Target:       m.Target,
				ReadOnly:     m.ReadOnly,
				TmpfsOptions: &mount.TmpfsOptions{Mode: 0o777, SizeBytes: m.Size},
			})
			continue
		}
		hc.Mounts = append(hc.Mounts, mount.Mount{
			Type:     mount.TypeBind,
			Source:   m.Source,
			Target:   m.Target,
			ReadOnly: m.ReadOnly,
		})
	}
	return cfg, hc, nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Start starts a created container. When the engine cannot start the
// process it returns *runner.StartError carrying the engine's message, e.g.
// `... exec: "ecoh": executable file not found in $PATH: unknown`. Starting
// a running container is not an error.
func (r *Runtime) Start(ctx context.Context, id string) error {
	cctx, cancel := context.WithTimeout(ctx, createTimeout)
	defer cancel()
	_, err := r.api.ContainerStart(cctx, id, client.ContainerStartOptions{})
	switch {
	case err == nil, cerrdefs.IsNotModified(err):
		return nil
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("start container %s: %w", id, runner.ErrNotFound)
	case isDaemonResponse(err):
		return &runner.StartError{Message: daemonMessage(err)}
	default:
		return fmt.Errorf("start container %s: %w", id, err)
	}
}

// Wait blocks until the container is not running and returns its state.
// It honours only ctx: a container may run for days.
func (r *Runtime) Wait(ctx context.Context, id string) (runner.ContainerInfo, error) {
	res := r.api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-res.Result:
	case err := <-res.Error:
		if cerrdefs.IsNotFound(err) {
			return runner.ContainerInfo{}, fmt.Errorf("wait for container %s: %w", id, runner.ErrNotFound)
		}
		if ctx.Err() != nil {
			return runner.ContainerInfo{}, ctx.Err()
		}
		return runner.ContainerInfo{}, fmt.Errorf("wait for container %s: %w", id, err)
	case <-ctx.Done():
		return runner.ContainerInfo{}, ctx.Err()
	}
	return r.inspect(ctx, id, oomGrace)
}

// Inspect returns the container's current state, or an error wrapping
// runner.ErrNotFound if there is no such container.
func (r *Runtime) Inspect(ctx context.Context, id string) (runner.ContainerInfo, error) {
	return r.inspect(ctx, id, 0)
}

// inspect is Inspect, waiting up to oomWait for an OOM kill the engine has
// not yet recorded in the state (see sawOOM).
func (r *Runtime) inspect(ctx context.Context, id string, oomWait time.Duration) (runner.ContainerInfo, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := r.api.ContainerInspect(cctx, id, client.ContainerInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return runner.ContainerInfo{}, fmt.Errorf("inspect container %s: %w", id, runner.ErrNotFound)
		}
		return runner.ContainerInfo{}, fmt.Errorf("inspect container %s: %w", id, err)
	}
	info := containerInfo(res.Container)
	if hc := res.Container.HostConfig; !info.OOMKilled && !info.Running && !info.StartedAt.IsZero() &&
		!info.FinishedAt.IsZero() && hc != nil && hc.Memory > 0 {
		if info.ExitCode != 137 { // only a SIGKILLed main process is worth waiting for
			oomWait = 0
		}
		info.OOMKilled = r.sawOOM(ctx, id, info.StartedAt, oomWait)
	}
	return info, nil
}

// oomGrace bounds how long Wait waits for the "oom" event of a container
// with a memory limit whose main process died of SIGKILL.
var oomGrace = 2 * time.Second

// sawOOM reports whether the engine logged an OOM kill in the container's
// memory cgroup since it started, waiting up to wait for one still in
// flight. Docker before 23.0 sets State.OOMKilled only when containerd's
// TaskOOM event reaches it before the task's exit; when the two race the
// other way the state says false for good, yet the engine still logs the
// "oom" event (and Kubernetes reports such a container OOMKilled). The
// query is answered from the engine's event buffer. An error is "not seen":
// the state's own answer stands.
func (r *Runtime) sawOOM(ctx context.Context, id string, startedAt time.Time, wait time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, wait+callTimeout)
	defer cancel()
	res := r.api.Events(ctx, client.EventsListOptions{
		Since:   engineTime(startedAt.Add(-time.Second)),
		Until:   engineTime(time.Now().Add(wait)),
		Filters: make(client.Filters).Add("type", "container").Add("container", id).Add("event", "oom"),
	})
	for {
		select {
		case m := <-res.Messages:
			if m.Action == "oom" {
				return true
			}
		case <-res.Err:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// engineTime formats t as the engine's events API takes it (seconds.nanoseconds).
func engineTime(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// containerInfo converts the engine's inspect response.
func containerInfo(c container.InspectResponse) runner.ContainerInfo {
	info := runner.ContainerInfo{
		ID:        c.ID,
		Name:      strings.TrimPrefix(c.Name, "/"),
		ImageID:   c.Image,
		CreatedAt: parseTime(c.Created),
	}
	if c.Config != nil {
		info.Labels = c.Config.Labels
		info.Image = c.Config.Image
	}
	if s := c.State; s != nil {
		info.Status = string(s.Status)
		info.Running = s.Running
		info.ExitCode = s.ExitCode
		info.OOMKilled = s.OOMKilled
		info.Error = s.Error
		info.StartedAt = parseTime(s.StartedAt)
		info.FinishedAt = parseTime(s.FinishedAt)
	}
	if ns := c.NetworkSettings; ns != nil {
		for _, name := range slices.Sorted(maps.Keys(ns.Networks)) {
			if ep := ns.Networks[name]; ep != nil && ep.IPAddress.IsValid() {
				info.IP = ep.IPAddress.String()
				if ep.Gateway.IsValid() {
					info.Gateway = ep.Gateway.String()
				}
				break
			}
		}
	}
	return info
}

// parseTime parses an engine timestamp; the engine's zero time
// ("0001-01-01T00:00:00Z") and malformed values give the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// Stop sends the container's stop signal and SIGKILL after grace. Stopping
// a stopped or missing container is not an error.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	secs := max(int(math.Ceil(grace.Seconds())), 0)
	cctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+callTimeout)
	defer cancel()
	_, err := r.api.ContainerStop(cctx, id, client.ContainerStopOptions{Timeout: &secs})
	if err == nil || cerrdefs.IsNotFound(err) || cerrdefs.IsNotModified(err) {
		return nil
	}
	return fmt.Errorf("stop container %s: %w", id, err)
}

// Remove removes a container, killing it if it runs, with its anonymous
// volumes. Removing a missing container is not an error.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := r.api.ContainerRemove(cctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err == nil || cerrdefs.IsNotFound(err) {
		r.ttys.Delete(id)
		return nil
	}
	// A removal already in progress ends the same way: once it is gone.
	if cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress") {
		res := r.api.ContainerWait(cctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionRemoved})
		select {
		case <-res.Result:
		case werr := <-res.Error:
			if !cerrdefs.IsNotFound(werr) {
				return fmt.Errorf("remove container %s: wait for the removal in progress: %w", id, werr)
			}
		}
		r.ttys.Delete(id)
		return nil
	}
	return fmt.Errorf("remove container %s: %w", id, err)
}

// List returns every container (running or not) carrying all of labels,
// with what the engine's list says of each: ID, Name, Image, ImageID,
// Labels, Status, Running and CreatedAt, in one engine call (Inspect
// gives the rest: exit code, times, addresses).
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runner.ContainerInfo, error) {
	f := make(client.Filters)
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := r.api.ContainerList(cctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	infos := make([]runner.ContainerInfo, 0, len(res.Items))
	for _, c := range res.Items {
		info := runner.ContainerInfo{
			ID: c.ID, Image: c.Image, ImageID: c.ImageID, Labels: c.Labels,
			Status: string(c.State), Running: c.State == container.StateRunning,
			CreatedAt: time.Unix(c.Created, 0),
		}
		if len(c.Names) > 0 {
			info.Name = strings.TrimPrefix(c.Names[0], "/")
		}
		infos = append(infos, info)
	}
	return infos, nil
}
