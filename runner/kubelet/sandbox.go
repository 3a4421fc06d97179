package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// sandboxContainer is the container name of the sandbox in engine names
// and labels; Kubernetes container names cannot be upper case, so it never
// collides with one.
const sandboxContainer = "POD"

// needsSandbox reports whether a pod runs in a pause sandbox: when more
// than one container shares its namespaces and volumes, or when the pod IP
// must be known before a container is created.
func needsSandbox(spec *manifest.PodSpec) bool {
	if len(spec.InitContainers)+len(spec.Containers) > 1 {
		return true
	}
	for _, list := range [][]manifest.Container{spec.InitContainers, spec.Containers} {
		for _, c := range list {
			for _, e := range c.Env {
				if f := e.ValueFrom; f != nil && f.FieldRef != nil && strings.HasPrefix(f.FieldRef.FieldPath, "status.") {
					return true
				}
			}
		}
	}
	return false
}

// ensureSetup prepares the pod's volumes and sandbox before its first
// container is created (and again after a failure).
func (w *Worker) ensureSetup(ctx context.Context) error {
	if w.setup != nil {
		return nil
	}
	setup := &podSetup{}
	if w.k.Store.PodDir(w.rec.Pod.Namespace, w.rec.Pod.Name, w.rec.Pod.UID) != "" {
		dir, err := w.k.ensurePodDir(&w.rec.Pod)
		if err != nil {
			return fmt.Errorf("pod directory: %w", err)
		}
		setup.podDir = dir
	}
	sandboxed := needsSandbox(&w.rec.Pod.Spec)
	vols, err := w.k.prepareVolumes(ctx, w.rec, sandboxed)
	if err != nil {
		return err
	}
	setup.vols = vols
	if sandboxed {
		id, err := w.ensureSandbox(ctx, vols)
		if err != nil {
			return &sandboxError{err}
		}
		setup.sandboxID = id
	}
	w.setup = setup
	return nil
}

type sandboxError struct{ err error }

func (e *sandboxError) Error() string { return "Failed to create pod sandbox: " + e.err.Error() }

// setupFailed leaves container c waiting in its default reason with a
// back-off after a volume or sandbox failure, as the kubelet does
// (FailedMount, FailedCreatePodSandBox events).
func (w *Worker) setupFailed(c *runner.ContainerRecord, err error) {
	reason := "ContainerCreating"
	if len(w.rec.Pod.Spec.InitContainers) > 0 {
		reason = "PodInitializing"
	}
	prev := time.Duration(0)
	if c.Waiting != nil && c.Waiting.Reason == reason {
		prev = c.Backoff
	}
	c.Waiting = &manifest.StateWaiting{Reason: reason}
	c.Backoff = nextPullBackoff(prev)
	c.BackoffUntil = w.k.now().Add(c.Backoff)
	var me *mountError
	var ce *ConfigError
	switch {
	case errors.As(err, &me):
		w.event(nil, "Warning", "FailedMount", err.Error())
	case errors.As(err, &ce):
		c.Waiting = &manifest.StateWaiting{Reason: "CreateContainerConfigError", Message: err.Error()}
		w.event(c, "Warning", "Failed", "Error: "+err.Error())
	default:
		w.event(nil, "Warning", "FailedCreatePodSandBox", err.Error())
	}
}

// ensureSandbox creates and starts the pod's pause container (or finds it
// running) and records the pod IP. Each step is recorded first.
func (w *Worker) ensureSandbox(ctx context.Context, vols map[string]hostVolume) (string, error) {
	rt := w.k.Runtime
	pod := &w.rec.Pod
	if sb := w.rec.Sandbox; sb != nil && sb.ID != "" {
		info, err := rt.Inspect(ctx, sb.ID)
		switch {
		case err == nil && info.Running:
			return sb.ID, nil
		case err != nil && !errors.Is(err, runner.ErrNotFound):
			// No answer is not a dead sandbox: ask again after the
			// back-off rather than replace one that may run.
			return "", err
		}
		if err := rt.Remove(ctx, sb.ID); err != nil {
			return "", err
		}
	}
	image, err := rt.PauseImage(ctx)
	if err != nil {
		return "", err
	}
	name := w.k.engineName(pod, sandboxContainer, 0)
	w.rec.Sandbox = &runner.Run{EngineName: name, Step: runner.StepIntent, ImageID: image}
	if err := w.save(ctx); err != nil {
		return "", fmt.Errorf("record the sandbox: %w", err) // not recorded, not created
	}
	cs := runner.ContainerSpec{
		Name:   name,
		Labels: w.k.podLabels(pod, sandboxContainer, 0),
		Image:  image,
		IPC:    "shareable",
	}
	cs.Labels[runner.LabelSandbox] = "true"
	applyPodNetwork(&cs, pod, PodHostname(pod))
	if pod.Spec.HostNetwork {
		cs.Hostname = ""
	}
	for vol, hv := range vols {
		if hv.engine != "" {
			// The sandbox keeps memory-backed emptyDirs mounted while
			// containers come and go.
			cs.Mounts = append(cs.Mounts, runner.Mount{Volume: hv.engine, Tmpfs: true, Size: hv.size, Target: "/volumes/" + vol})
		}
	}
	id, err := w.create(ctx, cs)
	if err != nil {
		return "", err
	}
	w.rec.Sandbox.ID = id
	w.rec.Sandbox.Step = runner.StepCreated
	w.rec.Sandbox.CreatedAt = w.k.now()
	if err := w.save(ctx); err != nil {
		// Not recorded as created, so not started: the next attempt
		// finds it not running and replaces it.
		return "", fmt.Errorf("record the sandbox: %w", err)
	}
	if err := w.k.startContainer(ctx, id); err != nil {
		return "", err
	}
	w.rec.Sandbox.Step = runner.StepStarted
	w.rec.Sandbox.StartedAt = w.k.now()
	if info, err := rt.Inspect(ctx, id); err == nil {
		pod.Status.PodIP, pod.Status.HostIP = info.IP, info.Gateway
	}
	w.save(ctx)
	return id, nil
}

// teardown removes what the pod no longer needs once it is terminal: its
// sandbox, its memory-backed volumes and its host directory.
func (w *Worker) teardown(ctx context.Context) {
	rt := w.k.Runtime
	if sb := w.rec.Sandbox; sb != nil && sb.ID != "" && sb.Step != runner.StepExited {
		if err := rt.Stop(ctx, sb.ID, 0); err != nil {
			w.log().Warn("stop sandbox", "error", err)
		}
		if err := rt.Remove(ctx, sb.ID); err != nil {
			w.log().Warn("remove sandbox", "error", err)
		}
		sb.Step = runner.StepExited
		sb.FinishedAt = w.k.now()
	}
	if w.setup != nil {
		for _, hv := range w.setup.vols {
			if hv.engine != "" {
				// Fails while exited containers still reference it; those
				// are removed with the pod's containers.
				if err := rt.RemoveVolume(ctx, hv.engine); err != nil {
					w.log().Debug("remove volume", "volume", hv.engine, "error", err)
				}
			}
		}
	}
	if dir := w.k.Store.PodDir(w.rec.Pod.Namespace, w.rec.Pod.Name, w.rec.Pod.UID); dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			w.log().Warn("remove pod directory", "dir", dir, "error", err)
		}
	}
}
