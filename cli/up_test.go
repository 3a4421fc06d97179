package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// upHarness runs `localjobs up` in-process with the fake runtime.
type upHarness struct {
	t        *testing.T
	specs    string
	stateDir string
	rt       *runnertest.Runtime
	out      *lockedBuffer
	client   *localapi.Client
	stop     func()
}

// lockedBuffer is a buffer that up writes to while the test reads it:
// logs' lockedWriter over a bytes.Buffer, read under the same lock.
type lockedBuffer struct {
	lockedWriter
	b bytes.Buffer
}

func newLockedBuffer() *lockedBuffer {
	l := &lockedBuffer{}
	l.w = &l.b
	return l
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ljup")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func startUpInProcess(t *testing.T, specs, stateDir string, rt *runnertest.Runtime) *upHarness {
	t.Helper()
	h := &upHarness{t: t, specs: specs, stateDir: stateDir, rt: rt, out: newLockedBuffer()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	e := &env{stdout: h.out, stderr: h.out, stateDir: stateDir, starter: daemon.Starter{Version: Version, Runtime: rt}}
	go func() { done <- e.report(e.up(ctx, []string{"--poll", "100ms", specs})) }()
	h.stop = func() { cancel(); <-done }
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := localapi.Dial(context.Background(), localapi.SocketPath(stateDir), Version)
		if err == nil {
			h.client = c
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("up did not answer: %v\n%s", err, h.out.String())
		}
		<-time.After(10 * time.Millisecond) // bounded polling of the socket
	}
	t.Cleanup(func() {
		if h.stop != nil {
			h.stop()
		}
		t.Logf("up output:\n%s", h.out.String())
	})
	return h
}

// waitJob waits through a watch until cond holds for job name, and
// returns the job and how long it took.
func (h *upHarness) waitJob(name string, cond func(*manifest.Job, bool) bool) (*manifest.Job, time.Duration) {
	h.t.Helper()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := h.client.OpenWatch(ctx, "jobs", "default")
	if err != nil {
		h.t.Fatal(err)
	}
	defer stream.Close()
	if j, err := h.client.Job(ctx, "default", name); err == nil && cond(j, false) {
		return j, time.Since(t0)
	} else if err != nil && cond(nil, true) {
		return nil, time.Since(t0)
	}
	for {
		ev, err := stream.Next()
		if err != nil {
			h.t.Fatalf("job %s: condition not reached: %v\n%s", name, err, h.out.String())
		}
		var j manifest.Job
		json.Unmarshal(ev.Object, &j)
		if j.Name != name {
			continue
		}
		if ev.Type == "DELETED" {
			if cond(nil, true) {
				return nil, time.Since(t0)
			}
			continue
		}
		if cond(&j, false) {
			return &j, time.Since(t0)
		}
	}
}

func writeSpec(t *testing.T, dir, name, content string) {
	t.Helper()
	// Write to a temp file and rename, as editors do: one change.
	tmp := filepath.Join(dir, "."+name+".swp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

const workJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: work
spec:
  completions: 4
  parallelism: %d
  suspend: %t
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["%s"]
`

func TestUpEditsJobInPlace(t *testing.T) {
	rt := runnertest.NewRuntime("busybox")
	rt.Script = func(runner.ContainerSpec) runnertest.Behavior {
		return runnertest.Behavior{RunFor: time.Minute} // runs until stopped
	}
	specs := t.TempDir()
	writeSpec(t, specs, "work.yaml", fmt.Sprintf(workJob, 1, false, "work"))
	h := startUpInProcess(t, specs, shortTempDir(t), rt)
	active := func(n int32) func(*manifest.Job, bool) bool {
		return func(j *manifest.Job, _ bool) bool { return j != nil && j.Status.Active == n }
	}
	first, _ := h.waitJob("work", active(1))

	writeSpec(t, specs, "work.yaml", fmt.Sprintf(workJob, 2, false, "work"))
	j, took := h.waitJob("work", func(j *manifest.Job, _ bool) bool {
		return j != nil && j.Spec.Parallelism != nil && *j.Spec.Parallelism == 2 && j.Status.Active == 2
	})
	t.Logf("parallelism 1 → 2 applied with 2 active pods %v after the edit", took)
	if took > 15*time.Second { // the speed is make bench's; this only tells "applied" from "never"
		t.Errorf("parallelism edit took %v, want ≤ 15s", took)
	}
	if j.UID != first.UID {
		t.Errorf("the Job was replaced (uid %s → %s), want an in-place update", first.UID, j.UID)
	}

	writeSpec(t, specs, "work.yaml", fmt.Sprintf(workJob, 2, true, "work"))
	j, took = h.waitJob("work", func(j *manifest.Job, _ bool) bool {
		if j == nil {
			return false
		}
		for _, c := range j.Status.Conditions {
			if c.Type == manifest.JobSuspended && c.Status == "True" {
				return true
			}
		}
		return false
	})
	t.Logf("suspend applied %v after the edit", took)
	if took > 15*time.Second {
		t.Errorf("suspend edit took %v, want ≤ 15s", took)
	}
	if j.UID != first.UID {
		t.Errorf("the Job was replaced on suspend, want an in-place update")
	}

	// An immutable change (the pod template) replaces the Job, with a notice.
	writeSpec(t, specs, "work.yaml", fmt.Sprintf(workJob, 2, false, "other"))
	j, _ = h.waitJob("work", func(j *manifest.Job, _ bool) bool { return j != nil && j.UID != first.UID && j.Status.Active == 2 })
	if !strings.Contains(h.out.String(), "job.batch/work replaced (spec.template changed, which a Job cannot change in place: the Job was replaced)") {
		t.Errorf("no replace notice in the output")
	}

	// Removing the file deletes the Job and stops its containers.
	if err := os.Remove(filepath.Join(specs, "work.yaml")); err != nil {
		t.Fatal(err)
	}
	h.waitJob("work", func(j *manifest.Job, deleted bool) bool { return deleted })
	if n := len(rt.Running()); n != 0 {
		t.Errorf("%d containers still running after the file was removed", n)
	}
	h.stop() // the prune line is printed after the deletion is published
	h.stop = nil
	if !strings.Contains(h.out.String(), "job.batch/work pruned (") {
		t.Errorf("no prune line in the output")
	}
}

const ttlJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
  ttlSecondsAfterFinished: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["true"]
`

func TestUpTTLDeletedJobStaysDeleted(t *testing.T) {
	rt := runnertest.NewRuntime("busybox")
	specs, stateDir := t.TempDir(), shortTempDir(t)
	writeSpec(t, specs, "once.yaml", fmt.Sprintf(ttlJob, "once"))
	h := startUpInProcess(t, specs, stateDir, rt)
	h.waitJob("once", func(j *manifest.Job, deleted bool) bool { return deleted })

	// Touch the file (same content) then add a marker: once the marker is
	// applied the touched file has been looked at too.
	writeSpec(t, specs, "once.yaml", fmt.Sprintf(ttlJob, "once"))
	writeSpec(t, specs, "zz-marker.yaml", fmt.Sprintf(workJob, 1, true, "marker"))
	h.waitJob("work", func(j *manifest.Job, _ bool) bool { return j != nil })
	if _, err := h.client.Job(context.Background(), "default", "once"); err == nil {
		t.Fatal("the TTL-deleted Job was re-created by an unchanged file")
	}

	// Nor by a restart of up.
	h.stop()
	h.stop = nil
	h2 := startUpInProcess(t, specs, stateDir, rt)
	if _, err := h2.client.Job(context.Background(), "default", "once"); err == nil {
		t.Fatal("the TTL-deleted Job was re-created by a restart")
	}
	if !strings.Contains(h2.out.String(), "job.batch/once unchanged (deleted (TTL or history); edit its file to run it again)") {
		t.Errorf("no notice that the Job stays deleted")
	}
}

func TestUpSecondDaemonAndSocket(t *testing.T) {
	rt := runnertest.NewRuntime("busybox")
	specs, stateDir := t.TempDir(), shortTempDir(t)
	h := startUpInProcess(t, specs, stateDir, rt)

	fi, err := os.Stat(localapi.SocketPath(stateDir))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("socket mode %o, want 600", mode)
	}
	if l := tcpListeners(t); len(l) > 0 {
		t.Errorf("this process listens on TCP: %v", l)
	}

	t0 := time.Now()
	_, err = daemon.Start(context.Background(), daemon.Config{StateDir: stateDir, Runtime: rt})
	took := time.Since(t0)
	if err == nil {
		t.Fatal("a second daemon started on the same state dir")
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the holder (%s)", err, want)
	}
	if took > 10*time.Second { // bbolt's lock timeout is 1 s; this tells "fails" from "hangs"
		t.Errorf("second daemon failed after %v, want ≤ 10s", took)
	}
	_ = h
}

// tcpListeners lists this process's sockets that listen on TCP.
func tcpListeners(t *testing.T) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, f := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) > 9 && fields[3] == "0A" && inodes[fields[9]] {
				out = append(out, fields[1])
			}
		}
	}
	return out
}

// TestUpRetriesFailedApply: a file the daemon could not apply for no fault
// of its own (Retry) becomes pending again after a back-off of 5 s,
// doubling to 5 min, as if it had changed; once it applies, its back-off
// starts afresh.
func TestUpRetriesFailedApply(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "after.yaml")
	w := &specWatcher{paths: []string{dir}, files: map[string]fileState{path: {size: 1}}}
	now := time.Now()
	for i, want := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute} {
		w.retryLater([]string{path}, []string{w.rel(path)}, now)
		st := w.files[path]
		if !st.pending || st.changed.Add(debounce).Sub(now) != want {
			t.Fatalf("failure %d: pending %v, applied again after %v, want %v", i+1, st.pending, st.changed.Add(debounce).Sub(now), want)
		}
	}
	w.retryLater([]string{path}, nil, now)
	if st := w.files[path]; st.retries != 0 {
		t.Errorf("after a good apply: %d retries kept, want the back-off afresh", st.retries)
	}
}

// TestUpBackOffReadsNothing: while a file waits out its back-off unchanged,
// a scan neither reads it nor starts its back-off afresh.
func TestUpBackOffReadsNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(path, []byte("kind: Job\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// The stored hash is not the file's: a read would take it for a change.
	waiting := fileState{size: fi.Size(), mtime: fi.ModTime(), pending: true, retries: 2, changed: now.Add(time.Minute)}
	w := &specWatcher{paths: []string{dir}, files: map[string]fileState{path: waiting}, lastSync: now}
	w.scan(context.Background(), false)
	if got := w.files[path]; got != waiting {
		t.Errorf("after a scan during the back-off: %+v, want it untouched %+v", got, waiting)
	}
}
