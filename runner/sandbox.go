package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// LabelSandbox marks a pod's pause (sandbox) container.
const LabelSandbox = "io.localjobs.sandbox"

// sandboxContainer is the container name of the sandbox in engine names
// and labels; Kubernetes container names cannot be upper case, so it never
// collides with one.
const sandboxContainer = "POD"

// Termination messages (DESIGN §3): the file is read up to 4096 bytes;
// FallbackToLogsOnError uses the last 80 lines, at most 2048 bytes.
const (
	maxTerminationMessage = 4096
	fallbackLogLines      = 80
	fallbackLogBytes      = 2048
)

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

// admit waits for a pod slot under MaxPods, recording Scheduled, or
// FailedScheduling and PodScheduled=False/Unschedulable while it waits. It
// returns false if ctx ended first; a pod terminated while it waits is
// admitted at once (it will start nothing).
func (w *podWorker) admit(ctx context.Context) bool {
	ch := w.c.admit()
	if ch != nil && !w.rec.Scheduled {
		w.save(ctx)
		w.event(nil, "Warning", "FailedScheduling", unschedulableMessage)
	wait:
		for {
			select {
			case <-ch:
				break wait
			case r := <-w.terminate:
				if w.c.cancelAdmit(ch) {
					w.c.slots.mu.Lock()
					w.c.slots.used++ // held briefly; run releases it
					w.c.slots.mu.Unlock()
				}
				w.rec.TerminateReason, w.rec.TerminateMessage = r.reason, r.message
				if r.reason == "" {
					w.rec.TerminateReason = reasonKilled
				}
				w.rec.TerminateAt = w.c.now()
				break wait
			case <-ctx.Done():
				if !w.c.cancelAdmit(ch) {
					w.c.release()
				}
				return false
			}
		}
	} else if ch != nil {
		// Already scheduled before a daemon restart: it keeps its place.
		if w.c.cancelAdmit(ch) {
			w.c.slots.mu.Lock()
			w.c.slots.used++
			w.c.slots.mu.Unlock()
		}
	}
	if !w.rec.Scheduled && w.rec.TerminateReason == "" {
		w.rec.Scheduled = true
		w.event(nil, "Normal", "Scheduled", fmt.Sprintf("Successfully assigned %s/%s to %s",
			w.rec.Pod.Namespace, w.rec.Pod.Name, w.rec.Pod.Spec.NodeName))
	}
	w.rec.Scheduled = true
	return true
}

// ensureSetup prepares the pod's volumes and sandbox before its first
// container is created (and again after a failure).
func (w *podWorker) ensureSetup(ctx context.Context) error {
	if w.setup != nil {
		return nil
	}
	setup := &podSetup{}
	if w.c.Store.PodDir(w.rec.Pod.Namespace, w.rec.Pod.Name, w.rec.Pod.UID) != "" {
		dir, err := w.c.ensurePodDir(&w.rec.Pod)
		if err != nil {
			return fmt.Errorf("pod directory: %w", err)
		}
		setup.podDir = dir
	}
	sandboxed := needsSandbox(&w.rec.Pod.Spec)
	vols, err := w.c.prepareVolumes(ctx, w.rec, sandboxed)
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
func (w *podWorker) setupFailed(c *ContainerRecord, err error) {
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
	c.BackoffUntil = w.c.now().Add(c.Backoff)
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
func (w *podWorker) ensureSandbox(ctx context.Context, vols map[string]hostVolume) (string, error) {
	rt := w.c.Runtime
	pod := &w.rec.Pod
	if sb := w.rec.Sandbox; sb != nil && sb.ID != "" {
		if info, err := rt.Inspect(ctx, sb.ID); err == nil && info.Running {
			return sb.ID, nil
		}
		if err := rt.Remove(ctx, sb.ID); err != nil {
			return "", err
		}
	}
	image, err := rt.PauseImage(ctx)
	if err != nil {
		return "", err
	}
	name := w.c.engineName(pod, sandboxContainer, 0)
	w.rec.Sandbox = &Run{EngineName: name, Step: StepIntent, ImageID: image}
	w.save(ctx)
	cs := ContainerSpec{
		Name:   name,
		Labels: w.c.podLabels(pod, sandboxContainer, 0),
		Image:  image,
		IPC:    "shareable",
	}
	cs.Labels[LabelSandbox] = "true"
	applyPodNetwork(&cs, pod, PodHostname(pod))
	if pod.Spec.HostNetwork {
		cs.Hostname = ""
	}
	for vol, hv := range vols {
		if hv.engine != "" {
			// The sandbox keeps memory-backed emptyDirs mounted while
			// containers come and go.
			cs.Mounts = append(cs.Mounts, Mount{Volume: hv.engine, Tmpfs: true, Size: hv.size, Target: "/volumes/" + vol})
		}
	}
	id, err := rt.Create(ctx, cs)
	var ee *ExistsError
	if errors.As(err, &ee) {
		id, err = ee.ID, nil
	}
	if err != nil {
		return "", err
	}
	w.rec.Sandbox.ID = id
	w.rec.Sandbox.Step = StepCreated
	w.rec.Sandbox.CreatedAt = w.c.now()
	w.save(ctx)
	if err := rt.Start(ctx, id); err != nil {
		return "", err
	}
	w.rec.Sandbox.Step = StepStarted
	w.rec.Sandbox.StartedAt = w.c.now()
	if info, err := rt.Inspect(ctx, id); err == nil {
		pod.Status.PodIP, pod.Status.HostIP = info.IP, info.Gateway
	}
	w.save(ctx)
	return id, nil
}

// teardown removes what the pod no longer needs once it is terminal: its
// sandbox, its memory-backed volumes and its host directory.
func (w *podWorker) teardown(ctx context.Context) {
	rt := w.c.Runtime
	if sb := w.rec.Sandbox; sb != nil && sb.ID != "" && sb.Step != StepExited {
		if err := rt.Stop(ctx, sb.ID, 0); err != nil {
			w.log().Warn("stop sandbox", "error", err)
		}
		if err := rt.Remove(ctx, sb.ID); err != nil {
			w.log().Warn("remove sandbox", "error", err)
		}
		sb.Step = StepExited
		sb.FinishedAt = w.c.now()
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
	if dir := w.c.Store.PodDir(w.rec.Pod.Namespace, w.rec.Pod.Name, w.rec.Pod.UID); dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			w.log().Warn("remove pod directory", "dir", dir, "error", err)
		}
	}
}

// terminationMessage is a finished instance's terminated.message: the
// content of its terminationMessagePath file (at most 4096 bytes), or, with
// FallbackToLogsOnError and a failure, the tail of its log.
func (c *Controller) terminationMessage(ctx context.Context, pod *manifest.Pod, name string, restart int32, id string, info ContainerInfo) string {
	var spec *manifest.Container
	for _, list := range [][]manifest.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				spec = &list[i]
			}
		}
	}
	if spec == nil {
		return ""
	}
	if dir := c.Store.PodDir(pod.Namespace, pod.Name, pod.UID); dir != "" && spec.TerminationMessagePath != "" {
		if f, err := os.Open(terminationFile(dir, name, restart)); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, maxTerminationMessage))
			f.Close()
			if len(b) > 0 {
				return string(b)
			}
		}
	}
	if spec.TerminationMessagePolicy != "FallbackToLogsOnError" || (info.ExitCode == 0 && !info.OOMKilled) {
		return ""
	}
	tail := &tailSink{max: fallbackLogLines}
	if err := c.Runtime.Logs(ctx, id, time.Time{}, false, tail); err != nil {
		return ""
	}
	var b bytes.Buffer
	for _, l := range tail.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	out := b.Bytes()
	if len(out) > fallbackLogBytes {
		out = out[len(out)-fallbackLogBytes:]
	}
	return string(out)
}

// tailSink keeps the last max lines written to it.
type tailSink struct {
	max     int
	lines   []string
	partial bool
}

func (t *tailSink) WriteLine(_ time.Time, _ string, line []byte, partial bool) error {
	if t.partial && len(t.lines) > 0 {
		t.lines[len(t.lines)-1] += string(line)
	} else {
		t.lines = append(t.lines, string(line))
	}
	t.partial = partial
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
	return nil
}
