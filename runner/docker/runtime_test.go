package docker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// line is one line a sink received.
type line struct {
	ts      time.Time
	stream  string
	text    string
	partial bool
}

// recorder is a runner.LogSink that keeps every line and can signal when a
// given text arrives.
type recorder struct {
	mu     sync.Mutex
	lines  []line
	waitOn string
	seen   chan struct{}
}

func newRecorder(waitOn string) *recorder {
	return &recorder{waitOn: waitOn, seen: make(chan struct{})}
}

func (r *recorder) WriteLine(ts time.Time, stream string, b []byte, partial bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line{ts, stream, string(b), partial})
	if r.waitOn != "" && string(b) == r.waitOn {
		close(r.seen)
		r.waitOn = ""
	}
	return nil
}

func (r *recorder) texts(stream string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if stream == "" || l.stream == stream {
			out = append(out, l.text)
		}
	}
	return out
}

func (r *recorder) all() []line {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]line(nil), r.lines...)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// spec returns a container spec running cmd under sh -c in the test image.
func spec(t *testing.T, image, script string) runner.ContainerSpec {
	return runner.ContainerSpec{
		Name:       dockertest.Name(t),
		Labels:     dockertest.Labels(nil),
		Image:      image,
		Entrypoint: []string{"sh", "-c", script},
	}
}

// create creates a container and removes it when the test ends.
func create(t *testing.T, rt *docker.Runtime, s runner.ContainerSpec) string {
	t.Helper()
	id, err := rt.Create(ctxFor(t), s)
	if err != nil {
		t.Fatalf("Create(%s): %v", s.Name, err)
	}
	dockertest.RemoveOnCleanup(t, rt, id)
	return id
}

// run creates, starts and waits for a container.
func run(t *testing.T, rt *docker.Runtime, s runner.ContainerSpec) (string, runner.ContainerInfo) {
	t.Helper()
	ctx := ctxFor(t)
	id := create(t, rt, s)
	if err := rt.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	info, err := rt.Wait(ctx, id)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return id, info
}

func logs(t *testing.T, rt *docker.Runtime, id string, since time.Time) *recorder {
	t.Helper()
	rec := newRecorder("")
	if err := rt.Logs(ctxFor(t), id, since, false, rec); err != nil {
		t.Fatalf("Logs: %v", err)
	}
	return rec
}

func equal(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

func TestRuntime_Echo(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	id, info := run(t, rt, spec(t, image, "echo one; echo two >&2; echo three"))

	if info.Running || info.Status != "exited" || info.ExitCode != 0 || info.OOMKilled || info.Error != "" {
		t.Errorf("Wait() = %+v; want exited with code 0", info)
	}
	if info.ID != id || info.ImageID == "" || info.Labels[dockertest.TestLabel] != "true" {
		t.Errorf("Wait() identity = id %q image %q labels %v", info.ID, info.ImageID, info.Labels)
	}
	// The engine records StartedAt after the process began, so a quick
	// process can finish a little "before" it started.
	if info.CreatedAt.IsZero() || info.StartedAt.Before(info.CreatedAt) || info.FinishedAt.Before(info.CreatedAt) {
		t.Errorf("times: created %v started %v finished %v", info.CreatedAt, info.StartedAt, info.FinishedAt)
	}

	rec := logs(t, rt, id, time.Time{})
	if got, want := rec.texts("stdout"), []string{"one", "three"}; !equal(got, want) {
		t.Errorf("stdout = %q; want %q", got, want)
	}
	if got, want := rec.texts("stderr"), []string{"two"}; !equal(got, want) {
		t.Errorf("stderr = %q; want %q", got, want)
	}
	// In order within a stream; the engine's log merges stdout and stderr
	// as they reach it, so across streams a line may come a little early.
	prev := map[string]time.Time{}
	for _, l := range rec.all() {
		if l.ts.Before(info.CreatedAt) || l.ts.After(info.FinishedAt.Add(time.Second)) || l.ts.Before(prev[l.stream]) || l.partial {
			t.Errorf("line %+v: timestamp out of order in its stream or outside the run (%v…%v)", l, info.StartedAt, info.FinishedAt)
		}
		prev[l.stream] = l.ts
	}
}

func TestRuntime_LogsFollowSince(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	ctx := ctxFor(t)
	id := create(t, rt, spec(t, image, "seq 1 200; printf 'no newline'"))
	if err := rt.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Following from the start, after Start returned, loses nothing.
	rec := newRecorder("")
	if err := rt.Logs(ctx, id, time.Time{}, true, rec); err != nil {
		t.Fatalf("Logs(follow): %v", err)
	}
	var want []string
	for i := 1; i <= 200; i++ {
		want = append(want, fmt.Sprint(i))
	}
	want = append(want, "no newline")
	if got := rec.texts("stdout"); !equal(got, want) {
		t.Fatalf("followed %d lines, want %d: first %q last %q", len(got), len(want), got[:min(3, len(got))], got[max(0, len(got)-3):])
	}
	all := rec.all()
	if all[len(all)-1].partial {
		t.Errorf("final line without newline delivered as partial")
	}

	// Resuming with since = the timestamp of line 100 yields exactly 101….
	since := all[99].ts
	wantAfter := 0
	for _, l := range all {
		if l.ts.After(since) {
			wantAfter++
		}
	}
	rec2 := logs(t, rt, id, since)
	if got := rec2.texts(""); len(got) != wantAfter || (len(got) > 0 && got[len(got)-1] != "no newline") {
		t.Errorf("Logs(since line 100) = %d lines ending %q; want %d", len(got), got[max(0, len(got)-1):], wantAfter)
	}
	for _, l := range rec2.all() {
		if !l.ts.After(since) {
			t.Errorf("Logs(since %v) delivered %+v", since, l)
		}
	}
}

func TestRuntime_StartError(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	ctx := ctxFor(t)
	s := spec(t, image, "")
	s.Entrypoint = []string{"ecoh", "network-task"}
	id := create(t, rt, s)

	err := rt.Start(ctx, id)
	var se *runner.StartError
	if !errors.As(err, &se) {
		t.Fatalf("Start(ecoh) = %v; want *runner.StartError", err)
	}
	if !strings.Contains(se.Message, `"ecoh": executable file not found`) || strings.HasPrefix(se.Message, "Error response") {
		t.Errorf("StartError.Message = %q; want Docker's exec error", se.Message)
	}
	t.Logf("start error: %s", se.Message)

	info, err := rt.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.Running || info.ExitCode == 0 || !strings.Contains(info.Error, "executable file not found") || !info.FinishedAt.IsZero() {
		t.Errorf("after failed start: %+v; want not running, exit code ≠ 0, Error set, FinishedAt zero", info)
	}
	t.Logf("status %q exit code %d", info.Status, info.ExitCode)
}

func TestRuntime_ExitCode(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	id, info := run(t, rt, spec(t, image, "echo 'Starting task'; echo 'about to fail'; exit 1"))
	if info.ExitCode != 1 || info.Running || info.OOMKilled {
		t.Errorf("Wait() = %+v; want exit code 1", info)
	}
	if got, want := logs(t, rt, id, time.Time{}).texts(""), []string{"Starting task", "about to fail"}; !equal(got, want) {
		t.Errorf("logs = %q; want %q", got, want)
	}
}

func TestRuntime_OOMKilled(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	// The shell doubles a string until the 16 MiB limit (no swap) is hit.
	// A single process that allocates ever faster reaches the OOM killer at
	// once; `head -c 100000000 /dev/zero | tail` can instead thrash on
	// cgroup v1 for minutes, evicting and refaulting busybox's own pages.
	const hog = "a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done"
	tests := []struct {
		name     string
		script   string
		exitCode int
	}{
		{"Killed", hog, 137},
		// The shell survives its OOM-killed subshell and exits 0: still OOMKilled.
		{"ExitZero", "(" + hog + "); echo survived", 0},
		// Exit code 137 without an OOM kill: Wait asks the engine's events
		// (Docker 20.10 can log the oom after the exit) and finds none.
		{"Exit137NoOOM", "exit 137", 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := spec(t, image, tt.script)
			s.MemoryLimit = 16 << 20
			id, info := run(t, rt, s)
			wantOOM := tt.name != "Exit137NoOOM"
			if info.OOMKilled != wantOOM || info.ExitCode != tt.exitCode {
				t.Errorf("Wait() = OOMKilled %v, exit code %d; want %v, %d", info.OOMKilled, info.ExitCode, wantOOM, tt.exitCode)
			}
			// The engine's event log agrees with the state (the query the
			// 20.10 race falls back on is understood by this engine).
			if saw := rt.SawOOM(ctxFor(t), id, info.StartedAt, 0); saw != wantOOM {
				t.Errorf("the engine's events show an oom: %v; want %v", saw, wantOOM)
			}
		})
	}
}

func TestRuntime_EnsureImage(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	ctx := ctxFor(t)

	t.Run("PresentIfNotPresent", func(t *testing.T) {
		res, err := rt.EnsureImage(ctx, image, docker.PullIfNotPresent)
		if err != nil || res.Pulled || !strings.HasPrefix(res.ImageID, "sha256:") || res.Size <= 0 || res.Warning != "" {
			t.Errorf("EnsureImage(%s, IfNotPresent) = %+v, %v; want the local image, no pull", image, res, err)
		}
	})
	t.Run("PresentNever", func(t *testing.T) {
		if res, err := rt.EnsureImage(ctx, image, docker.PullNever); err != nil || res.ImageID == "" {
			t.Errorf("EnsureImage(%s, Never) = %+v, %v", image, res, err)
		}
	})

	missing := dockertest.MissingImage()
	imageError := func(t *testing.T, policy, reason, msgPrefix string) {
		t.Helper()
		_, err := rt.EnsureImage(ctx, missing, policy)
		var ie *runner.ImageError
		if !errors.As(err, &ie) || ie.Reason != reason || !strings.HasPrefix(ie.Message, msgPrefix) {
			t.Fatalf("EnsureImage(%s, %s) error = %v; want %s %q…", missing, policy, err, reason, msgPrefix)
		}
		t.Logf("%s: %s", policy, ie.Message)
	}
	t.Run("MissingNever", func(t *testing.T) {
		imageError(t, docker.PullNever, runner.ReasonErrImageNeverPull,
			fmt.Sprintf("Container image %q is not present with pull policy of Never", missing))
	})
	t.Run("MissingIfNotPresent", func(t *testing.T) {
		imageError(t, docker.PullIfNotPresent, runner.ReasonErrImagePull, fmt.Sprintf("Failed to pull image %q: ", missing))
	})
	t.Run("MissingAlways", func(t *testing.T) {
		imageError(t, docker.PullAlways, runner.ReasonErrImagePull, fmt.Sprintf("Failed to pull image %q: ", missing))
	})
	t.Run("InvalidName", func(t *testing.T) {
		_, err := rt.EnsureImage(ctx, "Not/Valid:Image:x", docker.PullIfNotPresent)
		var ie *runner.ImageError
		if !errors.As(err, &ie) || ie.Reason != runner.ReasonInvalidImageName {
			t.Errorf("EnsureImage(invalid) error = %v; want InvalidImageName", err)
		}
	})
	t.Run("OfflineAlways", func(t *testing.T) {
		// No registry is reachable in the test environment: docker.io's
		// name does not resolve, so the pull fails with a network error.
		offline := "localjobs-test/offline:latest"
		dockertest.Tag(t, image, offline)
		want, err := rt.EnsureImage(ctx, image, docker.PullNever)
		if err != nil {
			t.Fatal(err)
		}
		res, err := rt.EnsureImage(ctx, offline, docker.PullAlways)
		if err != nil {
			var ie *runner.ImageError
			if errors.As(err, &ie) && !strings.Contains(ie.Message, "no such host") && !strings.Contains(ie.Message, "dial") {
				t.Skipf("registry answered (not offline): %v", err)
			}
			t.Fatalf("EnsureImage(%s, Always) offline = %v; want the local image with a warning", offline, err)
		}
		if res.Warning == "" || res.ImageID != want.ImageID || res.Pulled {
			t.Errorf("EnsureImage(%s, Always) offline = %+v; want image %s with Warning", offline, res, want.ImageID)
		}
		t.Logf("warning: %s", res.Warning)
	})
}

func TestRuntime_StopAfterGrace(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	ctx := ctxFor(t)
	id := create(t, rt, spec(t, image, `trap "" TERM; echo ready; while true; do sleep 1; done`))
	if err := rt.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder("ready")
	go func() { _ = rt.Logs(ctx, id, time.Time{}, true, rec) }()
	select {
	case <-rec.seen:
	case <-ctx.Done():
		t.Fatal("container never printed ready")
	}

	const grace = 2 * time.Second
	stopAt := time.Now()
	if err := rt.Stop(ctx, id, grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	took := time.Since(stopAt)
	info, err := rt.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.Running || info.ExitCode != 137 {
		t.Errorf("after Stop: %+v; want exit code 137 (SIGKILL)", info)
	}
	if d := info.FinishedAt.Sub(stopAt); d < grace {
		t.Errorf("FinishedAt - Stop = %v; want ≥ grace %v", d, grace)
	}
	t.Logf("Stop(grace %v) returned after %v; FinishedAt - Stop = %v", grace, took, info.FinishedAt.Sub(stopAt))

	// Stopping again, or stopping and removing a missing container, is fine.
	if err := rt.Stop(ctx, id, grace); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := rt.Remove(ctx, id); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if err := rt.Remove(ctx, id); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if err := rt.Stop(ctx, id, grace); err != nil {
		t.Errorf("Stop(removed): %v", err)
	}
	if _, err := rt.Inspect(ctx, id); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("Inspect(removed) = %v; want ErrNotFound", err)
	}
	if _, err := rt.Wait(ctx, id); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("Wait(removed) = %v; want ErrNotFound", err)
	}
}

func TestRuntime_CreateConflictAndList(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	ctx := ctxFor(t)
	run := dockertest.Name(t)
	a := spec(t, image, "true")
	a.Labels = dockertest.Labels(map[string]string{"io.localjobs.test-run": run, "which": "a"})
	b := spec(t, image, "true")
	b.Labels = dockertest.Labels(map[string]string{"io.localjobs.test-run": run, "which": "b"})
	idA := create(t, rt, a)
	idB := create(t, rt, b)

	_, err := rt.Create(ctx, a)
	var ee *runner.ExistsError
	if !errors.As(err, &ee) || ee.ID != idA {
		t.Errorf("Create(same name) = %v; want *ExistsError{%s}", err, idA)
	}

	got, err := rt.List(ctx, map[string]string{"io.localjobs.test-run": run})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range got {
		ids[c.ID] = true
		if c.Status != "created" || c.Name == "" {
			t.Errorf("List: %+v; want status created and a name", c)
		}
	}
	if len(got) != 2 || !ids[idA] || !ids[idB] {
		t.Errorf("List(run) = %d containers %v; want %s and %s", len(got), ids, idA, idB)
	}
	got, err = rt.List(ctx, map[string]string{"io.localjobs.test-run": run, "which": "b"})
	if err != nil || len(got) != 1 || got[0].ID != idB || got[0].Name != b.Name {
		t.Errorf("List(run, which=b) = %+v, %v; want only %s", got, err, idB)
	}
}

func TestRuntime_CreateConfig(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	dir := t.TempDir()
	s := spec(t, image, `echo "$HOSTNAME $FOO $(pwd) $(id -u)"; echo data > /scratch/f; cat /host/ro.txt; touch /host/x 2>/dev/null || echo read-only`)
	s.Hostname = "simple-task"
	s.Env = []string{"FOO=bar baz"}
	s.WorkingDir = "/tmp"
	s.User = "65534"
	s.MemoryLimit = 64 << 20
	s.NanoCPUs = 500_000_000
	s.ExtraHosts = []string{"db:10.0.0.1"}
	s.DNS = []string{"10.0.0.53"}
	s.StopSignal = "SIGINT"
	s.ReadOnly = true
	s.CapDrop = []string{"ALL"}
	s.Mounts = []runner.Mount{{Target: "/scratch", Tmpfs: true}, {Source: dir, Target: "/host", ReadOnly: true}}
	if err := writeFile(dir+"/ro.txt", "from host\n"); err != nil {
		t.Fatal(err)
	}
	id, info := run(t, rt, s)
	got := logs(t, rt, id, time.Time{}).texts("")
	want := []string{"simple-task bar baz /tmp 65534", "from host", "read-only"}
	if info.ExitCode != 0 || !equal(got, want) {
		t.Errorf("exit %d, output %q; want 0, %q", info.ExitCode, got, want)
	}

	// Args alone keep the image's entrypoint (none) and replace its CMD.
	s2 := runner.ContainerSpec{Name: dockertest.Name(t), Labels: dockertest.Labels(nil), Image: image, Cmd: []string{"echo", "args only"}}
	id2, info2 := run(t, rt, s2)
	if got := logs(t, rt, id2, time.Time{}).texts(""); info2.ExitCode != 0 || !equal(got, []string{"args only"}) {
		t.Errorf("args only: exit %d, output %q", info2.ExitCode, got)
	}
}

func TestRuntime_TTYLogs(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	s := spec(t, image, "echo hi; echo there >&2")
	s.TTY = true
	id, info := run(t, rt, s)
	rec := logs(t, rt, id, time.Time{})
	if got, want := rec.texts("stdout"), []string{"hi", "there"}; info.ExitCode != 0 || !equal(got, want) {
		t.Errorf("TTY logs = %q (exit %d); want %q on stdout", got, info.ExitCode, want)
	}
}

func TestRuntime_WaitCancel(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	id := create(t, rt, spec(t, image, "echo ready; exec sleep 600"))
	if err := rt.Start(ctxFor(t), id); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rec := newRecorder("ready")
	go func() { _ = rt.Logs(ctx, id, time.Time{}, true, rec) }()
	<-rec.seen
	cancel()
	if _, err := rt.Wait(ctx, id); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait(cancelled) = %v; want context.Canceled", err)
	}
	info, err := rt.Inspect(ctxFor(t), id)
	if err != nil || !info.Running {
		t.Errorf("after a cancelled Wait: %+v, %v; want the container still running", info, err)
	}
}

// TestRuntime_ConcurrentRemove: two removals of one container at once (the
// exited-container remover and a pod's delete) both return only once it is
// gone, so whoever returns second never sees it still there.
func TestRuntime_ConcurrentRemove(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	for i := range 5 {
		ctx := ctxFor(t)
		id := create(t, rt, spec(t, image, "sleep 60"))
		if err := rt.Start(ctx, id); err != nil {
			t.Fatalf("Start: %v", err)
		}
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				err := rt.Remove(ctx, id)
				if err == nil {
					if _, ierr := rt.Inspect(ctx, id); !errors.Is(ierr, runner.ErrNotFound) {
						err = fmt.Errorf("Remove returned but the container is still there (inspect: %v)", ierr)
					}
				}
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("round %d: %v", i, err)
			}
		}
	}
}
