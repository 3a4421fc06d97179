package docker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/docker"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
	"github.com/localjobs/localjobs/state"
)

// podEnv runs a real Controller over the real engine and a state dir.
type podEnv struct {
	t     *testing.T
	rt    *docker.Runtime
	db    *state.DB
	ctrl  *controller.Controller
	sub   *runner.Subscription
	image string
}

func newPodEnv(t *testing.T) *podEnv {
	t.Helper()
	return newPodEnvOver(t, nil)
}

// newPodEnvOver is newPodEnv with the controller's runtime wrapped by wrap
// (nil: the engine's runtime itself).
func newPodEnvOver(t *testing.T, wrap func(*docker.Runtime) runner.Runtime) *podEnv {
	t.Helper()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	db, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &podEnv{t: t, rt: rt, db: db, image: image}
	var crt runner.Runtime = rt
	if wrap != nil {
		crt = wrap(rt)
	}
	e.ctrl = &controller.Controller{Store: db, Runtime: crt, NodeName: "testnode", AllowHostPath: []string{t.TempDir()}}
	e.sub = e.ctrl.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.ctrl.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		infos, _ := rt.List(cctx, map[string]string{runner.LabelInstance: db.InstanceID()})
		for _, i := range infos {
			rt.Remove(cctx, i.ID)
		}
		db.Close()
	})
	return e
}

// pod decodes a pod manifest (with %[1]s standing for the test image) the
// way `run -f` does.
func (e *podEnv) pod(yaml string) *manifest.Pod {
	e.t.Helper()
	res := manifest.Decode("pod.yaml", []byte(fmt.Sprintf(yaml, e.image)))
	if err := res.Err(); err != nil {
		e.t.Fatal(err)
	}
	for _, o := range res.Objects {
		switch v := o.Obj.(type) {
		case *manifest.ConfigMap:
			if err := e.ctrl.ApplyConfigMap(context.Background(), v); err != nil {
				e.t.Fatal(err)
			}
		case *manifest.Pod:
			return v
		}
	}
	e.t.Fatal("no pod in manifest")
	return nil
}

// run applies the pod and waits (up to a minute) until it is terminal.
func (e *podEnv) run(p *manifest.Pod) *manifest.Pod {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := e.ctrl.ApplyPod(ctx, p)
	if err != nil {
		e.t.Fatalf("apply pod %s: %v", p.Name, err)
	}
	for {
		if r, err := e.db.Pod(ctx, got.Namespace, got.Name); err == nil && runner.IsTerminalPhase(r.Pod.Status.Phase) {
			return &r.Pod
		}
		if _, err := e.sub.Next(ctx); err != nil {
			e.t.Fatalf("pod %s not finished within a minute", got.Name)
		}
	}
}

// messages returns each container's terminated reason and message.
func messages(p *manifest.Pod) string {
	var b strings.Builder
	for _, list := range [][]manifest.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			if t := cs.State.Terminated; t != nil {
				fmt.Fprintf(&b, "%s: %s %d %q; ", cs.Name, t.Reason, t.ExitCode, t.Message)
			}
		}
	}
	return b.String()
}

// TestPod_EmptyDirAndConfigMap: an init container writes into an emptyDir
// that the app container reads; configMap files carry Kubernetes' modes.
func TestPod_EmptyDirAndConfigMap(t *testing.T) {
	e := newPodEnv(t)
	p := e.run(e.pod(`apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: "1", b: "2"}
---
apiVersion: v1
kind: Pod
metadata: {name: vols}
spec:
  restartPolicy: Never
  initContainers:
  - name: writer
    image: %[1]s
    command: [sh, -c, 'echo hello > /work/item && test "$(stat -c %%a /work)" = 777']
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: reader
    image: %[1]s
    command: [sh, -c, 'set -e; test "$(cat /work/item)" = hello; test "$(stat -Lc %%a /cfg/a)" = 600; test "$(stat -Lc %%a /cfg/sub/b)" = 644; ! touch /cfg/x 2>/dev/null; cat /cfg/a /cfg/sub/b /etc/sub/b > /dev/termination-log']
    volumeMounts:
    - {name: work, mountPath: /work}
    - {name: cfg, mountPath: /cfg}
    - {name: cfg, mountPath: /etc/sub, subPath: sub}
  volumes:
  - name: work
    emptyDir: {}
  - name: cfg
    configMap:
      name: cfg
      items: [{key: a, path: a, mode: 0600}, {key: b, path: sub/b}]
`))
	if p.Status.Phase != manifest.PodSucceeded {
		t.Fatalf("phase %s: %s", p.Status.Phase, messages(p))
	}
	if got := p.Status.ContainerStatuses[0].State.Terminated.Message; got != "122" {
		t.Errorf("reader message %q, want 122", got)
	}
}

// TestPod_MultiContainerLocalhost: two app containers share the sandbox's
// network namespace and talk over localhost.
func TestPod_MultiContainerLocalhost(t *testing.T) {
	e := newPodEnv(t)
	p := e.run(e.pod(`apiVersion: v1
kind: Pod
metadata: {name: net}
spec:
  restartPolicy: Never
  hostAliases: [{ip: 10.9.8.7, hostnames: [db.local]}]
  containers:
  - name: server
    image: %[1]s
    # -e: the server's end stays open until it has read the line. With
    # "nc -l | grep" its stdin (/dev/null) ended at once, it sent FIN, and
    # a loaded client could see that before echo had filled its pipe and
    # exit 0 without sending anything.
    command: [sh, -c, 'nc -l -p 7777 -e sh -c "read l; echo \$l > /tmp/got" && grep -qx ping /tmp/got && grep -q db.local /etc/hosts && test "$(hostname)" = net']
  - name: client
    image: %[1]s
    command: [sh, -c, 'i=0; until echo ping | nc 127.0.0.1 7777; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done']
`))
	if p.Status.Phase != manifest.PodSucceeded {
		t.Fatalf("phase %s: %s", p.Status.Phase, messages(p))
	}
	if p.Status.PodIP == "" {
		t.Errorf("no pod IP")
	}
	rec, err := e.db.Pod(context.Background(), "default", "net")
	if err != nil || rec.Sandbox == nil {
		t.Fatalf("no sandbox recorded: %v", err)
	}
	if _, err := e.rt.Inspect(context.Background(), rec.Sandbox.ID); err == nil {
		t.Errorf("sandbox %s still exists after the pod ended", rec.Sandbox.ID)
	}
}

// TestPod_NativeSidecarJob: a Job whose pod has a `tail -F` native sidecar
// completes once the app container is done and the sidecar was stopped.
func TestPod_NativeSidecarJob(t *testing.T) {
	e := newPodEnv(t)
	res := manifest.Decode("job.yaml", []byte(fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: sidecar-job}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 5
      initContainers:
      - name: logshipper
        image: %[1]s
        restartPolicy: Always
        command: [sh, -c, 'tail -F /opt/logs.txt']
        volumeMounts: [{name: data, mountPath: /opt}]
      containers:
      - name: main
        image: %[1]s
        command: [sh, -c, 'echo logging > /opt/logs.txt; sleep 1']
        volumeMounts: [{name: data, mountPath: /opt}]
      volumes:
      - name: data
        emptyDir: {}
`, e.image)))
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	j, err := e.ctrl.ApplyJob(ctx, res.Objects[0].Obj.(*manifest.Job))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		got, err := e.db.Job(ctx, "default", j.Name)
		if err == nil && got.Status.CompletionTime != nil {
			if got.Status.Succeeded != 1 {
				t.Fatalf("job status %+v", got.Status)
			}
			break
		}
		if _, err := e.sub.Next(ctx); err != nil {
			t.Fatalf("job not complete within a minute")
		}
	}
	pods, _ := e.db.PodsOfJob(ctx, j.UID)
	if len(pods) != 1 || pods[0].Pod.Status.Phase != manifest.PodSucceeded {
		t.Fatalf("pods %v", pods)
	}
	side := pods[0].Pod.Status.InitContainerStatuses[0].State.Terminated
	if side == nil {
		t.Fatalf("sidecar not terminated: %s", messages(&pods[0].Pod))
	}
	// A sidecar that ignored SIGTERM would take its 30 s grace period; the
	// bound leaves a loaded machine room and still tells the two apart.
	if d := time.Since(start); d > 25*time.Second {
		t.Errorf("job took %v; the sidecar should stop on SIGTERM at once, not after its 30s grace", d)
	}
}

// TestPod_LongNameAndTerminationMessage: a 70-character pod name starts
// with its hostname truncated to 63 characters, and terminationMessagePath
// works with a read-only root filesystem.
func TestPod_LongNameAndTerminationMessage(t *testing.T) {
	e := newPodEnv(t)
	name := strings.Repeat("a", 62) + "-1234567"
	want := strings.Repeat("a", 62)
	p := e.run(e.pod(`apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: %[1]s
    securityContext: {readOnlyRootFilesystem: true}
    command: [sh, -c, 'hostname > /dev/termination-log; exit 3']
`))
	term := p.Status.ContainerStatuses[0].State.Terminated
	if p.Status.Phase != manifest.PodFailed || term == nil || term.Reason != "Error" || term.ExitCode != 3 {
		t.Fatalf("phase %s: %s", p.Status.Phase, messages(p))
	}
	if term.Message != want+"\n" {
		t.Errorf("message %q, want the hostname %q", term.Message, want)
	}
}
