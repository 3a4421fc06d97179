package docker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// These tests reproduce the escapes of issue #8 against a real engine: a
// pod that tries to see or write outside its volumes must end in
// CreateContainerConfigError (a bad subPath, as the kubelet reports it),
// FailedMount (a hostPath that no longer resolves inside the allowed
// folders) or a refusal at admission, and nothing may appear outside. The
// "outside" is a canary folder under the test's temp dir, never the host's
// real root (one case links to / but mounts it read-only and only tests
// that it is refused).

// decodePod decodes a one-pod manifest whose %[1]s is the test image and
// %[2]s the canary folder.
func (e *podEnv) decodePod(yaml, outside string) *manifest.Pod {
	e.t.Helper()
	res := manifest.Decode("pod.yaml", []byte(fmt.Sprintf(yaml, e.image, outside)))
	if err := res.Err(); err != nil {
		e.t.Fatal(err)
	}
	return res.Objects[0].Obj.(*manifest.Pod)
}

// waitPod waits (up to two minutes) until the stored pod satisfies ok.
func (e *podEnv) waitPod(name string, ok func(*runner.PodRecord) bool) *runner.PodRecord {
	e.t.Helper()
	var got *runner.PodRecord
	e.waitFor("pod "+name, func() bool {
		r, err := e.db.Pod(context.Background(), "default", name)
		got = r
		return err == nil && ok(r)
	})
	return got
}

// waitFor waits (up to two minutes) on the controller's changes until
// done holds.
func (e *podEnv) waitFor(what string, done func() bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for !done() {
		if _, err := e.sub.Next(ctx); err != nil {
			e.t.Fatalf("%s: condition not met within two minutes", what)
		}
	}
}

// waitingIn reports whether container name waits with reason, or whether
// the pod ended (so a test on unfixed code fails instead of hanging).
func waitingIn(name, reason string) func(*runner.PodRecord) bool {
	return func(r *runner.PodRecord) bool {
		if runner.IsTerminalPhase(r.Pod.Status.Phase) {
			return true
		}
		for _, list := range [][]manifest.ContainerStatus{r.Pod.Status.InitContainerStatuses, r.Pod.Status.ContainerStatuses} {
			for _, cs := range list {
				if cs.Name == name && cs.State.Waiting != nil && cs.State.Waiting.Reason == reason {
					return true
				}
			}
		}
		return false
	}
}

// failedMount reports whether the pod has a FailedMount event, or ended.
func (e *podEnv) failedMount(r *runner.PodRecord) bool {
	if runner.IsTerminalPhase(r.Pod.Status.Phase) {
		return true
	}
	return strings.Contains(strings.Join(e.events(r), "\n"), "Warning FailedMount")
}

func (e *podEnv) events(r *runner.PodRecord) []string {
	evs, _ := e.db.Events(context.Background(), r.Pod.Namespace, r.Pod.UID)
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type+" "+ev.Reason+" "+ev.Message)
	}
	return out
}

// wantConfigError checks that container waits in CreateContainerConfigError
// with the kubelet's subPath message and a Warning Failed event.
func (e *podEnv) wantConfigError(r *runner.PodRecord, container, volume string) {
	e.t.Helper()
	if runner.IsTerminalPhase(r.Pod.Status.Phase) {
		e.t.Fatalf("pod %s ran to %s: %s", r.Pod.Name, r.Pod.Status.Phase, messages(&r.Pod))
	}
	want := fmt.Sprintf("failed to prepare subPath for volumeMount %q of container %q", volume, container)
	var msg string
	for _, cs := range append(r.Pod.Status.InitContainerStatuses, r.Pod.Status.ContainerStatuses...) {
		if cs.Name == container && cs.State.Waiting != nil {
			msg = cs.State.Waiting.Message
		}
	}
	e.t.Logf("%s waits: %s", container, msg)
	if !strings.Contains(msg, want) {
		e.t.Errorf("waiting message %q, want it to contain %q", msg, want)
	}
	if evs := strings.Join(e.events(r), "\n"); !strings.Contains(evs, "Warning Failed Error: "+want) {
		e.t.Errorf("events lack a Warning Failed naming the subPath:\n%s", evs)
	}
}

// nothingAt fails the test if any of the paths exists.
func nothingAt(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists: the pod wrote outside its volume", p)
		}
	}
}

// canary returns a folder outside every volume, holding a file "canary".
func canary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "canary"), []byte("host secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// bothWays runs f with staged mounts (the controller bind-mounts what it
// opened, when it may: root, and an engine in its mount namespace) and
// with checked paths (what a daemon that is not root does).
func bothWays(t *testing.T, f func(t *testing.T, e *podEnv)) {
	t.Run("Staged", func(t *testing.T) {
		e := newPodEnv(t)
		if os.Geteuid() != 0 || !e.rt.SharesMountNamespace() {
			t.Skip("staged mounts need root and an engine in this mount namespace")
		}
		e.ctrl.MountDir = filepath.Join(t.TempDir(), "mounts")
		f(t, e)
		if ents, err := os.ReadDir(e.ctrl.MountDir); err == nil && len(ents) > 0 {
			t.Errorf("staging entries left behind: %v", ents)
		}
	})
	t.Run("Checked", func(t *testing.T) {
		f(t, newPodEnv(t))
	})
}

// TestSubPathSymlinkEscape is issue #8 item 1 (CVE-2017-1002101): a link
// planted in an emptyDir must not carry a subPath mount out of the volume.
func TestSubPathSymlinkEscape(t *testing.T) {
	t.Run("InitContainer", func(t *testing.T) {
		bothWays(t, func(t *testing.T, e *podEnv) {
			outside := canary(t)
			e.ctrl.ApplyPod(context.Background(), e.decodePod(`apiVersion: v1
kind: Pod
metadata: {name: esc-init}
spec:
  restartPolicy: Never
  initContainers:
  - name: plant
    image: %[1]s
    command: [ln, -s, '%[2]s', /data/esc]
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'cat /host/canary; echo pwned > /host/written']
    volumeMounts: [{name: data, mountPath: /host, subPath: esc}]
  volumes: [{name: data, emptyDir: {}}]
`, outside))
			r := e.waitPod("esc-init", waitingIn("main", "CreateContainerConfigError"))
			e.wantConfigError(r, "main", "data")
			nothingAt(t, filepath.Join(outside, "written"))
		})
	})

	t.Run("RestartPlantsLink", func(t *testing.T) {
		// No init container: the first run plants the link where its own
		// subPath was, and fails; the restart must not follow it.
		bothWays(t, func(t *testing.T, e *podEnv) {
			outside := canary(t)
			e.ctrl.ApplyPod(context.Background(), e.decodePod(`apiVersion: v1
kind: Pod
metadata: {name: esc-restart}
spec:
  restartPolicy: OnFailure
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'if [ -e /host/canary ]; then echo pwned > /host/written; exit 0; fi; mv /data/esc /data/was-dir && ln -s "%[2]s" /data/esc; exit 1']
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: data, mountPath: /host, subPath: esc}
  volumes: [{name: data, emptyDir: {}}]
`, outside))
			r := e.waitPod("esc-restart", func(r *runner.PodRecord) bool {
				cs := r.Pod.Status.ContainerStatuses
				return runner.IsTerminalPhase(r.Pod.Status.Phase) ||
					(len(cs) == 1 && cs[0].LastState.Terminated != nil && waitingIn("main", "CreateContainerConfigError")(r))
			})
			e.wantConfigError(r, "main", "data")
			nothingAt(t, filepath.Join(outside, "written"))
		})
	})

	t.Run("LinkToRoot", func(t *testing.T) {
		// A link to the host's / (mounted read-only, and the container
		// writes nothing): it must be refused like any other.
		bothWays(t, func(t *testing.T, e *podEnv) {
			e.ctrl.ApplyPod(context.Background(), e.decodePod(`apiVersion: v1
kind: Pod
metadata: {name: esc-root}
spec:
  restartPolicy: Never
  initContainers:
  - name: plant
    image: %[1]s
    command: [ln, -s, /, /data/esc]
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'test -d /host/proc/1 && test -d /host/etc']
    volumeMounts: [{name: data, mountPath: /host, subPath: esc, readOnly: true}]
  volumes: [{name: data, emptyDir: {}}]
`+"%.0[2]s", ""))
			r := e.waitPod("esc-root", waitingIn("main", "CreateContainerConfigError"))
			e.wantConfigError(r, "main", "data")
		})
	})
}

// TestSubPathHostPathEscape is issue #8 item 2: a link inside an allowed
// hostPath must not carry a subPath out of it, and creating a missing
// subPath directory must not follow a planted link (nor chmod 0777 what it
// points to).
func TestSubPathHostPathEscape(t *testing.T) {
	t.Run("LinkInAllowedHostPath", testSubPathHostPathEscapeLinkInAllowedHostPath)
	t.Run("MkdirThroughLink", testSubPathHostPathEscapeMkdirThroughLink)
	t.Run("SwappedAfterAdmission", testSubPathHostPathEscapeSwappedAfterAdmission)
}

func testSubPathHostPathEscapeLinkInAllowedHostPath(t *testing.T) {
	bothWays(t, func(t *testing.T, e *podEnv) {
		outside := canary(t)
		allowed := t.TempDir()
		e.ctrl.AllowHostPath = []string{allowed}
		e.ctrl.ApplyPod(context.Background(), e.decodePod(`apiVersion: v1
kind: Pod
metadata: {name: esc-hostpath}
spec:
  restartPolicy: Never
  initContainers:
  - name: plant
    image: %[1]s
    command: [ln, -s, '%[2]s', /h/esc]
    volumeMounts: [{name: h, mountPath: /h}]
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'cat /x/canary; echo pwned > /x/written']
    volumeMounts: [{name: h, mountPath: /x, subPath: esc}]
  volumes: [{name: h, hostPath: {path: '`+allowed+`', type: Directory}}]
`, outside))
		r := e.waitPod("esc-hostpath", waitingIn("main", "CreateContainerConfigError"))
		e.wantConfigError(r, "main", "h")
		nothingAt(t, filepath.Join(outside, "written"))
	})
}

func testSubPathHostPathEscapeMkdirThroughLink(t *testing.T) {
	bothWays(t, func(t *testing.T, e *podEnv) {
		outside := canary(t)
		if err := os.Chmod(outside, 0o700); err != nil {
			t.Fatal(err)
		}
		e.ctrl.ApplyPod(context.Background(), e.decodePod(`apiVersion: v1
kind: Pod
metadata: {name: esc-mkdir}
spec:
  restartPolicy: Never
  initContainers:
  - name: plant
    image: %[1]s
    command: [ln, -s, '%[2]s', /data/a]
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'echo pwned > /x/written']
    volumeMounts: [{name: data, mountPath: /x, subPath: a/b}]
  volumes: [{name: data, emptyDir: {}}]
`, outside))
		r := e.waitPod("esc-mkdir", waitingIn("main", "CreateContainerConfigError"))
		e.wantConfigError(r, "main", "data")
		nothingAt(t, filepath.Join(outside, "b"))
		if fi, err := os.Stat(outside); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("canary folder mode %v (%v), want 0700 untouched", fi.Mode(), err)
		}
	})
}

func testSubPathHostPathEscapeSwappedAfterAdmission(t *testing.T) {
	// The hostPath itself (and a DirectoryOrCreate below it) is checked
	// when the pod is admitted; a pod that runs first swaps a checked
	// folder for a link before the later pods mount theirs.
	bothWays(t, func(t *testing.T, e *podEnv) {
		outside := canary(t)
		allowed := t.TempDir()
		for _, d := range []string{"d", "e"} {
			if err := os.Mkdir(filepath.Join(allowed, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		e.ctrl.AllowHostPath = []string{allowed}
		e.ctrl.MaxPods = 1 // the later pods wait for the swapper's slot
		ctx := context.Background()
		swap := e.decodePod(`apiVersion: v1
kind: Pod
metadata: {name: swapper}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'while [ ! -e /h/go ]; do sleep 0.1; done; rmdir /h/d /h/e && ln -s "%[2]s" /h/d && ln -s "%[2]s" /h/e']
    volumeMounts: [{name: h, mountPath: /h}]
  volumes: [{name: h, hostPath: {path: '`+allowed+`'}}]
`, outside)
		mountD := e.decodePod(`apiVersion: v1
kind: Pod
metadata: {name: mount-d}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'echo pwned > /x/written']
    volumeMounts: [{name: d, mountPath: /x}]
  volumes: [{name: d, hostPath: {path: '`+filepath.Join(allowed, "d")+`'}}]
`+"%.0[2]s", "")
		createE := e.decodePod(`apiVersion: v1
kind: Pod
metadata: {name: create-e}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'echo pwned > /y/written2']
    volumeMounts: [{name: e, mountPath: /y}]
  volumes: [{name: e, hostPath: {path: '`+filepath.Join(allowed, "e", "new")+`', type: DirectoryOrCreate}}]
`+"%.0[2]s", "")
		// The swapper takes the one slot first; only then do the others
		// come (whichever pod asks first gets the slot).
		if _, err := e.ctrl.ApplyPod(ctx, swap); err != nil {
			t.Fatalf("apply %s: %v", swap.Name, err)
		}
		e.waitPod("swapper", func(r *runner.PodRecord) bool { return r.Scheduled })
		for _, p := range []*manifest.Pod{mountD, createE} {
			if _, err := e.ctrl.ApplyPod(ctx, p); err != nil {
				t.Fatalf("apply %s: %v", p.Name, err)
			}
		}
		if err := os.WriteFile(filepath.Join(allowed, "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if r := e.waitPod("swapper", func(r *runner.PodRecord) bool { return runner.IsTerminalPhase(r.Pod.Status.Phase) }); r.Pod.Status.Phase != manifest.PodSucceeded {
			t.Fatalf("swapper: %s %s", r.Pod.Status.Phase, messages(&r.Pod))
		}
		// The slot goes to one of the two, which then holds it while it
		// waits; it is deleted to let the other have the slot.
		left := map[string]bool{"mount-d": true, "create-e": true}
		for len(left) > 0 {
			var r *runner.PodRecord
			e.waitFor("FailedMount", func() bool {
				for name := range left {
					if rec, err := e.db.Pod(ctx, "default", name); err == nil && e.failedMount(rec) {
						r = rec
						return true
					}
				}
				return false
			})
			t.Logf("%s events: %q", r.Pod.Name, e.events(r))
			if runner.IsTerminalPhase(r.Pod.Status.Phase) {
				t.Errorf("%s ran to %s: %s", r.Pod.Name, r.Pod.Status.Phase, messages(&r.Pod))
			}
			if err := e.ctrl.DeletePod(ctx, "default", r.Pod.Name); err != nil {
				t.Fatal(err)
			}
			delete(left, r.Pod.Name)
		}
		nothingAt(t, filepath.Join(outside, "written"), filepath.Join(outside, "new"))
	})
}

// TestNetworkAnnotationBaseline is issue #8 item 3: under baseline the
// localjobs.io/network annotation must not put a pod in the host's network
// namespace (nor another container's), as hostNetwork may not.
func TestNetworkAnnotationBaseline(t *testing.T) {
	e := newPodEnv(t)
	for _, mode := range []string{"host", "HOST", "container:" + e.t.Name()} {
		name := "net-" + strings.ToLower(strings.NewReplacer(":", "-", "/", "-", "_", "-").Replace(mode))
		if len(name) > 40 {
			name = name[:40]
		}
		p := e.decodePod(`apiVersion: v1
kind: Pod
metadata:
  name: `+name+`
  annotations: {localjobs.io/network: '`+mode+`'}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'grep -q docker0 /proc/net/dev']
`+"%.0[2]s", "")
		_, err := e.ctrl.ApplyPod(context.Background(), p)
		if err == nil {
			r := e.waitPod(name, func(r *runner.PodRecord) bool {
				return runner.IsTerminalPhase(r.Pod.Status.Phase) || waitingIn("main", "CreateContainerError")(r)
			})
			t.Errorf("%s: admitted under baseline (phase %s %s)", mode, r.Pod.Status.Phase, messages(&r.Pod))
			continue
		}
		for _, want := range []string{"metadata.annotations[localjobs.io/network]: Forbidden", "--pod-security=privileged"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", mode, err, want)
			}
		}
	}
}

// TestSubPathStillWorks: what Kubernetes allows keeps working with both
// ways of resolving: existing and missing subPaths of an emptyDir (created
// with the volume's mode), a subPath of an allowed hostPath, a hostPath
// that is a file; with staged mounts also a link that stays inside the
// volume (checked paths refuse every link).
func TestSubPathStillWorks(t *testing.T) {
	bothWays(t, func(t *testing.T, e *podEnv) {
		allowed := t.TempDir()
		os.Mkdir(filepath.Join(allowed, "d"), 0o755)
		os.WriteFile(filepath.Join(allowed, "f"), []byte("from the host\n"), 0o644)
		e.ctrl.AllowHostPath = []string{allowed}
		staged := e.ctrl.MountDir != ""
		rel := "      - {name: data, mountPath: /rel, subPath: rel}\n"
		check := " && test \"$(cat /rel/x)\" = hi"
		if !staged {
			rel, check = "", ""
		}
		r := e.run(e.decodePod(`apiVersion: v1
kind: Pod
metadata: {name: subpaths}
spec:
  restartPolicy: Never
  initContainers:
  - name: prep
    image: %[1]s
    command: [sh, -c, 'mkdir /data/sub && echo hi > /data/sub/x && ln -s sub /data/rel']
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'test "$(cat /s/x)" = hi && test "$(stat -c %%a /new)" = 777 && test "$(cat /f)" = "from the host" && echo w > /d/written`+check+`']
    volumeMounts:
      - {name: data, mountPath: /s, subPath: sub}
      - {name: data, mountPath: /new, subPath: new/deep}
      - {name: host, mountPath: /d, subPath: d}
      - {name: file, mountPath: /f, readOnly: true}
`+rel+`  volumes:
  - {name: data, emptyDir: {}}
  - {name: host, hostPath: {path: '`+allowed+`', type: Directory}}
  - {name: file, hostPath: {path: '`+filepath.Join(allowed, "f")+`', type: File}}
`+"%.0[2]s", ""))
		if r.Status.Phase != manifest.PodSucceeded {
			rec, _ := e.db.Pod(context.Background(), "default", "subpaths")
			t.Fatalf("phase %s: %s %q", r.Status.Phase, messages(r), e.events(rec))
		}
		if b, err := os.ReadFile(filepath.Join(allowed, "d", "written")); err != nil || string(b) != "w\n" {
			t.Errorf("written through the hostPath subPath: %q %v", b, err)
		}
	})
}
