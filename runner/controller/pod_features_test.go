package controller_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/kubelet"
	"github.com/localjobs/localjobs/runner/runnertest"
)

func ptr[T any](v T) *T { return &v }

// containerOf names the pod container an engine container spec belongs to.
func containerOf(cs runner.ContainerSpec) string { return cs.Labels[runner.LabelContainer] }

func createdNames(rt *runnertest.Runtime) []string {
	var out []string
	for _, cs := range rt.Created {
		out = append(out, containerOf(cs))
	}
	return out
}

func (h *harness) podEvents(r *runner.PodRecord) []string {
	evs, _ := h.store.Events(context.Background(), "", r.Pod.UID)
	var out []string
	for _, e := range evs {
		out = append(out, e.Type+" "+e.Reason+" "+e.Message)
	}
	return out
}

// TestPodNativeSidecar follows DESIGN §2's sidecar rules: the next init
// container starts once the sidecar has started, the sidecar's exit code
// (143 after SIGTERM) does not count, it is stopped after the app
// container, and it counts in readiness while it runs.
func TestPodNativeSidecar(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, func(cs runner.ContainerSpec) runnertest.Behavior {
			switch containerOf(cs) {
			case "logger":
				return runnertest.Behavior{RunFor: time.Hour}
			case "main":
				return runnertest.Behavior{RunFor: 5 * time.Second}
			}
			return runnertest.Behavior{RunFor: time.Second}
		})
		p := pod("side", "busybox", "Never")
		p.Spec.InitContainers = []manifest.Container{
			{Name: "logger", Image: "busybox", RestartPolicy: ptr("Always")},
			{Name: "setup", Image: "busybox"},
		}
		if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		running := h.waitPod("side", func(r *runner.PodRecord) bool {
			return len(r.Pod.Status.ContainerStatuses) == 1 && r.Pod.Status.ContainerStatuses[0].State.Running != nil
		})
		if cs := running.Pod.Status.InitContainerStatuses[0]; !cs.Ready || cs.State.Running == nil {
			t.Errorf("sidecar status while running = %+v, want running and ready", cs)
		}
		if running.Pod.Status.Phase != manifest.PodRunning {
			t.Errorf("phase %s, want Running", running.Pod.Status.Phase)
		}
		r := h.waitPod("side", func(r *runner.PodRecord) bool { return runner.IsTerminalPhase(r.Pod.Status.Phase) })
		if r.Pod.Status.Phase != manifest.PodSucceeded {
			t.Fatalf("phase %s, want Succeeded", r.Pod.Status.Phase)
		}
		if got, want := createdNames(h.rt), []string{"POD", "logger", "setup", "main"}; !slices.Equal(got, want) {
			t.Errorf("created %v, want %v", got, want)
		}
		side := r.Pod.Status.InitContainerStatuses[0].State.Terminated
		if side == nil || side.ExitCode != 143 {
			t.Errorf("sidecar terminated = %+v, want exit 143", side)
		}
		main := r.Pod.Status.ContainerStatuses[0].State.Terminated
		if main == nil || side == nil || side.FinishedAt.Before(main.FinishedAt.Time) {
			t.Errorf("sidecar finished %v before main %v", side, main)
		}
		if len(h.rt.Running()) != 0 {
			t.Errorf("still running: %v", h.rt.Running())
		}
	})
}

// TestPodSidecarRestartsUnderNever: a sidecar that exits is restarted even
// with restartPolicy Never, and its failures do not fail the pod.
func TestPodSidecarRestartsUnderNever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, func(cs runner.ContainerSpec) runnertest.Behavior {
			if containerOf(cs) == "flaky" {
				return runnertest.Behavior{RunFor: 3 * time.Second, ExitCode: 1}
			}
			return runnertest.Behavior{RunFor: 30 * time.Second}
		})
		p := pod("flaky", "busybox", "Never")
		p.Spec.InitContainers = []manifest.Container{{Name: "flaky", Image: "busybox", RestartPolicy: ptr("Always")}}
		if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("flaky", func(r *runner.PodRecord) bool { return runner.IsTerminalPhase(r.Pod.Status.Phase) })
		if r.Pod.Status.Phase != manifest.PodSucceeded {
			t.Fatalf("phase %s, want Succeeded", r.Pod.Status.Phase)
		}
		if n := r.Pod.Status.InitContainerStatuses[0].RestartCount; n < 2 {
			t.Errorf("sidecar restarts = %d, want ≥ 2", n)
		}
	})
}

// TestPodConfigMapEnv resolves configMapKeyRef, secretKeyRef, envFrom and
// downward API env, and waits in CreateContainerConfigError for a missing
// ConfigMap until it appears.
func TestPodConfigMapEnv(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		h := newHarness(t, rt)
		rt.NodeInfo = runner.NodeInfo{CPUs: 4, Memory: 8 << 30}
		ctx := context.Background()
		h.store.SaveSecret(ctx, &manifest.Secret{ObjectMeta: manifest.ObjectMeta{Name: "s", Namespace: "default"}, Data: map[string][]byte{"pw": []byte("hunter2")}})
		p := pod("env", "busybox", "Never")
		c := &p.Spec.Containers[0]
		c.EnvFrom = []manifest.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &manifest.NameOptional{Name: "cfg"}}}
		c.Env = []manifest.EnvVar{
			{Name: "MODE", ValueFrom: &manifest.EnvVarSource{ConfigMapKeyRef: &manifest.KeySelector{Name: "cfg", Key: "mode"}}},
			{Name: "PW", ValueFrom: &manifest.EnvVarSource{SecretKeyRef: &manifest.KeySelector{Name: "s", Key: "pw"}}},
			{Name: "OPT", ValueFrom: &manifest.EnvVarSource{ConfigMapKeyRef: &manifest.KeySelector{Name: "cfg", Key: "nope", Optional: ptr(true)}}},
			{Name: "POD", ValueFrom: &manifest.EnvVarSource{FieldRef: &manifest.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "CPUS", ValueFrom: &manifest.EnvVarSource{ResourceFieldRef: &manifest.ResourceFieldSelector{Resource: "limits.cpu"}}},
			{Name: "GREETING", Value: "mode=$(MODE)"},
		}
		if _, err := h.ctrl.ApplyPod(ctx, p); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("env", func(r *runner.PodRecord) bool {
			if len(r.Pod.Status.ContainerStatuses) == 0 {
				return false
			}
			w := r.Pod.Status.ContainerStatuses[0].State.Waiting
			return w != nil && w.Reason == "CreateContainerConfigError"
		})
		if w := r.Pod.Status.ContainerStatuses[0].State.Waiting; w.Message != `configmap "cfg" not found` {
			t.Errorf("message %q", w.Message)
		}
		h.store.SaveConfigMap(ctx, &manifest.ConfigMap{ObjectMeta: manifest.ObjectMeta{Name: "cfg", Namespace: "default"}, Data: map[string]string{"mode": "fast", "a": "1"}})
		h.waitPod("env", phaseIs(manifest.PodSucceeded))
		env := rt.Created[0].Env
		for _, want := range []string{"CFG_a=1", "CFG_mode=fast", "MODE=fast", "PW=hunter2", "POD=env", "CPUS=4", "GREETING=mode=fast"} {
			if !slices.Contains(env, want) {
				t.Errorf("env %q lacks %s", env, want)
			}
		}
		if slices.ContainsFunc(env, func(s string) bool { return strings.HasPrefix(s, "OPT=") }) {
			t.Errorf("optional missing key was set: %q", env)
		}
	})
}

// TestPodSandboxAndVolumes: a two-container pod runs in a pause sandbox
// that the app containers join, shares an emptyDir (0777) and gets
// configMap files with Kubernetes' modes; the sandbox and the pod
// directory are removed when the pod ends.
func TestPodSandboxAndVolumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, runFor(10*time.Second))
		h.store.Dir = t.TempDir()
		ctx := context.Background()
		h.store.SaveConfigMap(ctx, &manifest.ConfigMap{ObjectMeta: manifest.ObjectMeta{Name: "cfg", Namespace: "default"}, Data: map[string]string{"a": "1", "b": "2"}})
		p := pod("two", "busybox", "Never")
		p.Spec.Containers = append(p.Spec.Containers, manifest.Container{Name: "second", Image: "busybox"})
		p.Spec.Volumes = []manifest.Volume{
			{Name: "scratch", EmptyDir: &manifest.EmptyDirVolume{}},
			{Name: "cfg", ConfigMap: &manifest.ConfigMapVolume{Name: "cfg", Items: []manifest.KeyToPath{{Key: "a", Path: "dir/a.txt", Mode: ptr(int32(0o600))}, {Key: "b", Path: "b"}}}},
		}
		for i := range p.Spec.Containers {
			p.Spec.Containers[i].VolumeMounts = []manifest.VolumeMount{{Name: "scratch", MountPath: "/scratch"}, {Name: "cfg", MountPath: "/cfg"}}
		}
		if _, err := h.ctrl.ApplyPod(ctx, p); err != nil {
			t.Fatal(err)
		}
		h.waitPod("two", phaseIs(manifest.PodRunning))
		sb := h.rt.Created[0]
		if sb.Image != runnertest.PauseImage || sb.IPC != "shareable" || sb.Hostname != "two" {
			t.Fatalf("first container %+v, want the pause sandbox", sb)
		}
		var sandboxID string
		for _, c := range h.rt.Running() {
			if containerOf(c) == "main" {
				if !strings.HasPrefix(c.Network, "container:") || c.Hostname != "" {
					t.Errorf("main network %q hostname %q; want to join the sandbox", c.Network, c.Hostname)
				}
				sandboxID = strings.TrimPrefix(c.Network, "container:")
				var scratch, cfg string
				for _, m := range c.Mounts {
					switch m.Target {
					case "/scratch":
						scratch = m.Source
					case "/cfg":
						cfg = m.Source
						if !m.ReadOnly {
							t.Errorf("configMap mount is writable")
						}
					}
				}
				if fi, err := os.Stat(scratch); err != nil || fi.Mode().Perm() != 0o777 {
					t.Errorf("emptyDir %s: %v %v, want mode 0777", scratch, fi.Mode(), err)
				}
				for f, mode := range map[string]os.FileMode{"dir/a.txt": 0o600, "b": 0o644} {
					if fi, err := os.Stat(filepath.Join(cfg, f)); err != nil || fi.Mode().Perm() != mode {
						t.Errorf("%s: %v, want %v (%v)", f, fi.Mode().Perm(), mode, err)
					}
				}
			}
		}
		r := h.waitPod("two", phaseIs(manifest.PodSucceeded))
		synctest.Wait()
		if !slices.Contains(h.rt.Removed, sandboxID) {
			t.Errorf("sandbox %s not removed (removed %v)", sandboxID, h.rt.Removed)
		}
		if _, err := os.Stat(h.store.PodDir("default", "two", r.Pod.UID)); !os.IsNotExist(err) {
			t.Errorf("pod dir remains: %v", err)
		}
	})
}

// TestPodSingleContainerNoSandbox: one container, no sandbox; the pod's
// network options go on the container itself.
func TestPodSingleContainerNoSandbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		h := newHarness(t, rt)
		p := pod("one", "busybox", "Never")
		p.Annotations = map[string]string{runner.AnnotationNetwork: "compose_default"}
		p.Spec.HostAliases = []manifest.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"db"}}}
		if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		h.waitPod("one", phaseIs(manifest.PodSucceeded))
		if len(rt.Created) != 1 || rt.Created[0].Network != "compose_default" || !slices.Equal(rt.Created[0].ExtraHosts, []string{"db:10.1.2.3"}) {
			t.Errorf("created %+v", rt.Created)
		}
	})
}

// TestPodMaxPods: beyond MaxPods a pod stays Pending with
// PodScheduled=False/Unschedulable and a FailedScheduling event, and starts
// once a slot frees.
func TestPodMaxPods(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, runFor(5*time.Second))
		h.ctrl.MaxPods = 1
		ctx := context.Background()
		h.ctrl.ApplyPod(ctx, pod("first", "busybox", "Never"))
		h.waitPod("first", phaseIs(manifest.PodRunning))
		h.ctrl.ApplyPod(ctx, pod("second", "busybox", "Never"))
		r := h.waitPod("second", func(r *runner.PodRecord) bool {
			c := r.Pod.Status.Conditions
			return len(c) == 1 && c[0].Type == "PodScheduled" && c[0].Status == "False" && c[0].Reason == "Unschedulable"
		})
		if r.Pod.Status.Phase != manifest.PodPending || len(h.rt.Created) != 1 {
			t.Errorf("phase %s, %d containers created", r.Pod.Status.Phase, len(h.rt.Created))
		}
		// The worker saves the condition, then records the event, then
		// waits for a slot: let it reach the wait (8 of 300 -race runs
		// looked in between).
		synctest.Wait()
		if evs := h.podEvents(r); !slices.ContainsFunc(evs, func(e string) bool {
			return strings.HasPrefix(e, "Warning FailedScheduling 0/1 nodes are available: 1 Too many pods.")
		}) {
			t.Errorf("events %q", evs)
		}
		t0 := time.Now()
		h.waitPod("second", phaseIs(manifest.PodSucceeded))
		if d := time.Since(t0); d < 5*time.Second {
			t.Errorf("second pod finished %v after being queued; want after the first (5 s)", d)
		}
	})
}

// TestPodSecurityLevels: baseline refuses what Pod Security Standards'
// baseline does, naming the field and the flag; privileged allows it.
func TestPodSecurityLevels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		h := newHarness(t, rt)
		allowed := t.TempDir()
		h.ctrl.AllowHostPath = []string{allowed}
		h.ctrl.ProtectedPaths = []string{filepath.Join(allowed, "state")}
		ctx := context.Background()
		network := func(n string) func(*manifest.Pod) {
			return func(p *manifest.Pod) { p.Annotations = map[string]string{runner.AnnotationNetwork: n} }
		}
		tests := []struct {
			name string
			edit func(*manifest.Pod)
			want string
		}{
			{"privileged", func(p *manifest.Pod) {
				p.Spec.Containers[0].SecurityContext = &manifest.SecurityContext{Privileged: ptr(true)}
			},
				"spec.containers[0].securityContext.privileged: Forbidden"},
			{"hostnetwork", func(p *manifest.Pod) { p.Spec.HostNetwork = true }, "spec.hostNetwork: Forbidden"},
			{"caps", func(p *manifest.Pod) {
				p.Spec.Containers[0].SecurityContext = &manifest.SecurityContext{Capabilities: &manifest.Capabilities{Add: []string{"SYS_ADMIN"}}}
			}, "spec.containers[0].securityContext.capabilities.add: Forbidden: capability SYS_ADMIN"},
			{"hostpath", func(p *manifest.Pod) {
				p.Spec.Volumes = []manifest.Volume{{Name: "etc", HostPath: &manifest.HostPathVolume{Path: "/etc"}}}
			}, "spec.volumes[0].hostPath.path: Forbidden: /etc is outside"},
			{"network-host", network("host"), "metadata.annotations[localjobs.io/network]: Forbidden: host namespaces"},
			{"network-container", network("container:db"), "metadata.annotations[localjobs.io/network]: Forbidden: joining another container's namespaces"},
			{"network-odd", network("ns:/proc/1/ns/net"), "metadata.annotations[localjobs.io/network]: Forbidden"},
			{"state-dir", func(p *manifest.Pod) {
				p.Spec.Volumes = []manifest.Volume{{Name: "st", HostPath: &manifest.HostPathVolume{Path: allowed}}}
			}, "spec.volumes[0].hostPath.path: Forbidden: " + allowed + " would give the pod localjobs' own state"},
			{"network-none", network("none"), ""},
			{"network-named", network("compose_default"), ""},
			{"allowed-caps", func(p *manifest.Pod) {
				p.Spec.Containers[0].SecurityContext = &manifest.SecurityContext{Capabilities: &manifest.Capabilities{Add: []string{"NET_BIND_SERVICE"}}}
			}, ""},
			{"allowed-hostpath", func(p *manifest.Pod) {
				p.Spec.Volumes = []manifest.Volume{{Name: "data", HostPath: &manifest.HostPathVolume{Path: filepath.Join(allowed, "sub")}}}
			}, ""},
		}
		for _, tt := range tests {
			p := pod("sec-"+tt.name, "busybox", "Never")
			tt.edit(p)
			_, err := h.ctrl.ApplyPod(ctx, p)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("%s: %v", tt.name, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--pod-security=privileged")):
				t.Errorf("%s: error %v, want %q and the flag", tt.name, err, tt.want)
			}
		}
		h.ctrl.PodSecurity = kubelet.PodSecurityPrivileged
		p := pod("sec-priv", "busybox", "Never")
		p.Spec.Containers[0].SecurityContext = &manifest.SecurityContext{Privileged: ptr(true)}
		if _, err := h.ctrl.ApplyPod(ctx, p); err != nil {
			t.Fatalf("privileged level: %v", err)
		}
		h.waitPod("sec-priv", phaseIs(manifest.PodSucceeded))
		h.waitPod("sec-allowed-caps", phaseIs(manifest.PodSucceeded))
		h.waitPod("sec-network-none", phaseIs(manifest.PodSucceeded))
		h.waitPod("sec-network-named", phaseIs(manifest.PodSucceeded))
		h.waitPod("sec-allowed-hostpath", phaseIs(manifest.PodSucceeded))
		synctest.Wait()
		for _, c := range rt.Created {
			if c.Labels[runner.LabelPod] == "sec-priv" && !c.Privileged {
				t.Errorf("container not privileged")
			}
		}
	})
}

// TestPodTerminationMessage reads the bind-mounted termination file, and
// falls back to the log tail on error with FallbackToLogsOnError.
func TestPodTerminationMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, func(cs runner.ContainerSpec) runnertest.Behavior {
			for _, m := range cs.Mounts {
				if m.Target == "/dev/termination-log" && containerOf(cs) == "main" {
					os.WriteFile(m.Source, []byte("all good"), 0o666)
				}
			}
			if containerOf(cs) == "logs" {
				return runnertest.Behavior{ExitCode: 2, Lines: []string{"first", "boom"}}
			}
			return runnertest.Behavior{}
		})
		h.store.Dir = t.TempDir()
		p := pod("msg", "busybox", "Never")
		p.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log"
		p.Spec.Containers = append(p.Spec.Containers, manifest.Container{Name: "logs", Image: "busybox",
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "FallbackToLogsOnError"})
		if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("msg", phaseIs(manifest.PodFailed))
		if got := r.Pod.Status.ContainerStatuses[0].State.Terminated.Message; got != "all good" {
			t.Errorf("main message %q", got)
		}
		if got := r.Pod.Status.ContainerStatuses[1].State.Terminated.Message; got != "first\nboom\n" {
			t.Errorf("fallback message %q", got)
		}
	})
}
