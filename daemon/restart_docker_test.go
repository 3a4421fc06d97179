package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
	"github.com/localjobs/localjobs/state"
)

// TestKill9Adoption: kill -9 of the daemon while a Job with 5 parallel pods
// runs a 20 s counter; after a restart the same 5 pods are adopted (no
// sixth is ever created), the Job completes with succeeded 5 and every
// pod's log has each counter value exactly once.
func TestKill9Adoption(t *testing.T) {
	dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	bin := buildBinary(t)
	stateDir := shortDir(t, "ljk9")
	specs := t.TempDir()
	os.WriteFile(filepath.Join(specs, "counter.yaml"), []byte(fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: counter
spec:
  completions: 5
  parallelism: 5
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: count
        image: %s
        command: ["sh", "-c", "for i in $(seq 1 20); do echo $i; sleep 1; done"]
`, image)), 0o644)

	up := startUp(t, bin, stateDir, specs)
	c := dialUntil(t, stateDir, 20*time.Second)
	ctx := context.Background()

	// Wait until all 5 pods run and have printed a few lines, via a watch.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	stream, err := c.OpenWatch(wctx, "pods", "default")
	if err != nil {
		t.Fatal(err)
	}
	running := map[string]bool{}
	for len(running) < 5 {
		ev, err := stream.Next()
		if err != nil {
			t.Fatalf("waiting a minute for 5 running pods: %v\n%s", err, up.stderr.String())
		}
		p := podOf(t, ev)
		if len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil {
			running[p.Name] = true
		}
	}
	stream.Close()
	// Let every counter reach 3 (so logs were captured before the kill):
	// follow each pod's log until it prints "3".
	for name := range running {
		waitLogLine(t, c, name, "3")
	}
	up.signal(t, syscall.SIGKILL, 30*time.Second)

	t0 := time.Now()
	up2 := startUp(t, bin, stateDir, specs)
	c = dialUntil(t, stateDir, 20*time.Second)
	t.Logf("restart: daemon answered %v after start", time.Since(t0))

	wctx2, cancel2 := context.WithTimeout(ctx, 90*time.Second)
	defer cancel2()
	wait := exec.CommandContext(wctx2, bin, "--state-dir", stateDir, "wait", "--for=condition=complete", "job/counter", "--timeout", "60s")
	if out, err := wait.CombinedOutput(); err != nil {
		t.Fatalf("wait: %v\n%s", err, out)
	}
	j, err := c.Job(ctx, "default", "counter")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.Succeeded != 5 || j.Status.Failed != 0 {
		t.Errorf("job status succeeded %d failed %d, want 5 and 0", j.Status.Succeeded, j.Status.Failed)
	}
	pods, err := c.Pods(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	if len(pods) != 5 {
		t.Fatalf("pods %v: want exactly the 5 adopted ones", names)
	}
	for n := range running {
		if !slices.Contains(names, n) {
			t.Errorf("pod %s running before the kill is gone after it", n)
		}
	}
	up2.stop(t)
	t.Logf("second daemon's stderr:\n%s", up2.stderr.String())
	db, err := state.Open(stateDir, state.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range pods {
		var b strings.Builder
		if err := state.ReadLog(db.LogPath(p.Namespace, p.Name, p.UID, "count", 0), &b, state.ReadOptions{Tail: -1}); err != nil {
			t.Fatal(err)
		}
		var got []int
		sc := bufio.NewScanner(strings.NewReader(b.String()))
		for sc.Scan() {
			n, err := strconv.Atoi(sc.Text())
			if err != nil {
				t.Errorf("pod %s: unexpected log line %q", p.Name, sc.Text())
				continue
			}
			got = append(got, n)
		}
		want := make([]int, 20)
		for i := range want {
			want[i] = i + 1
		}
		if !slices.Equal(got, want) {
			t.Errorf("pod %s log = %v, want 1..20 each exactly once", p.Name, got)
		}
	}
}

func waitLogLine(t *testing.T, c *localapi.Client, pod, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	go func() {
		err := c.Logs(ctx, pw, localapi.LogRequest{Namespace: "default", Pod: pod, Container: "count", Follow: true, TailLines: -1})
		pw.CloseWithError(err)
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if sc.Text() == want {
			cancel()
			return
		}
	}
	t.Fatalf("pod %s never logged %q: %v", pod, want, sc.Err())
}

func podOf(t *testing.T, ev localapi.WatchEvent) *manifest.Pod {
	t.Helper()
	var p manifest.Pod
	if err := json.Unmarshal(ev.Object, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}
