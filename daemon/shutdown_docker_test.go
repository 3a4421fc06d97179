package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// TestUpStopsOnSIGTERMUnderLoad: `localjobs up` exits cleanly within its
// shutdown grace after SIGTERM, every time, while CronJobs fire (their
// run-on-start runs) and a Job creates pods, on a machine loaded with CPU
// hogs and a stream of other containers on the same engine. Half of the
// repetitions signal at a random moment, the other half at the moment a
// pod is created. (CI once waited more than 5 minutes for a daemon that
// never exited: a Job worker read its pods with a cancelled context, took
// the error for "no pods" and created pods in a loop forever.)
//
// LOCALJOBS_SIGTERM_REPS overrides the 20 repetitions.
func TestUpStopsOnSIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	bin := buildBinary(t)
	reps := 20
	if n, err := strconv.Atoi(os.Getenv("LOCALJOBS_SIGTERM_REPS")); err == nil && n > 0 {
		reps = n
	}
	specs := t.TempDir()
	writeSpec(t, specs, "burst.yaml", fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: burst
spec:
  completions: 200
  parallelism: 10
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: %s
        command: ["true"]
`, image))
	for _, name := range []string{"tick-a", "tick-b"} {
		writeSpec(t, specs, name+".yaml", fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: %s
  annotations:
    localjobs.io/run-on-start: "true"
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      completions: 3
      parallelism: 3
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: %s
            command: ["sleep", "1"]
`, name, image))
	}

	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	loadDone := startLoad(ctx, t, rt, image)
	defer func() { stopLoad(); loadDone.Wait() }()

	var cleanup sync.WaitGroup
	var stateDirs []string
	defer func() { cleanup.Wait(); sweepAgain(t, stateDirs) }()
	var worst time.Duration
	for rep := range reps {
		stateDir := shortDir(t, "ljst")
		stateDirs = append(stateDirs, stateDir)
		up := startUp(t, bin, stateDir, specs)
		c := dialUntil(t, stateDir, 30*time.Second)
		how := ""
		if rep%2 == 0 {
			// The moment is the test's input, not a wait for something.
			d := time.Duration(200+rand.IntN(2300)) * time.Millisecond
			<-time.After(d)
			how = fmt.Sprintf("%v after start", d)
		} else {
			k := 1 + rand.IntN(12)
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			s, err := c.OpenWatch(wctx, "pods", "default")
			if err != nil {
				t.Fatalf("rep %d: watch pods: %v", rep, err)
			}
			seen := map[string]bool{}
			for len(seen) < k {
				ev, err := s.Next()
				if err != nil {
					t.Fatalf("rep %d: waiting for pod %d to be created: %v\n%s", rep, k, err, up.stderr.String())
				}
				var p manifest.Pod
				if json.Unmarshal(ev.Object, &p) == nil {
					seen[p.Name] = true
				}
			}
			how = fmt.Sprintf("as pod %d was created", k)
			s.Close()
			cancel()
		}
		took, err := up.signal(t, syscall.SIGTERM, stopGrace)
		out := up.stderr.String()
		switch {
		case err != nil:
			t.Errorf("rep %d (SIGTERM %s): exit %v after %v:\n%s", rep, how, err, took, out)
		case took > daemon.ShutdownGrace:
			t.Errorf("rep %d (SIGTERM %s): exited after %v, more than the shutdown grace %v", rep, how, took, daemon.ShutdownGrace)
		case !strings.Contains(out, "localjobs stopped;"):
			t.Errorf("rep %d (SIGTERM %s): no clean stop reported:\n%s", rep, how, out)
		}
		worst = max(worst, took)
		t.Logf("rep %d: SIGTERM %s → exited in %v", rep, how, took.Round(time.Millisecond))
		cleanup.Add(1)
		go func() {
			defer cleanup.Done()
			// up leaves its containers running by design; a busy engine
			// gets a minute to remove them.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := dockertest.RemoveInstanceContainers(ctx, stateDir); err != nil {
				t.Error(err)
			}
		}()
	}
	t.Logf("%d repetitions, slowest exit %v (shutdown grace %v)", reps, worst.Round(time.Millisecond), daemon.ShutdownGrace)
}

// sweepAgain removes the containers of each state dir's instance once
// more: a create the engine was still doing when its daemon stopped ends
// after that daemon's sweep, and every rep's engine calls have long
// returned by now.
func sweepAgain(t *testing.T, stateDirs []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, dir := range stateDirs {
		if err := dockertest.RemoveInstanceContainers(ctx, dir); err != nil {
			t.Error(err)
		}
	}
}

func writeSpec(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startLoad keeps the machine busy until ctx ends: two CPU hogs (niced, so
// the tests beside this one still get the CPU they need) and a stream of
// short containers of image on the same engine.
func startLoad(ctx context.Context, t *testing.T, rt *docker.Runtime, image string) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range 2 {
		hog := exec.CommandContext(ctx, "nice", "-n", "19", "sh", "-c", "while :; do :; done")
		if err := hog.Start(); err != nil {
			t.Fatalf("cpu hog: %v", err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); hog.Wait() }()
	}
	// The stream's containers carry a label of this run, and are swept by
	// it once the stream has stopped.
	labels := dockertest.Labels(map[string]string{"io.localjobs.test-load": dockertest.Name(t)})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if _, err := dockertest.RemoveContainers(rctx, labels); err != nil {
				t.Errorf("remove the load's containers: %v", err)
			}
		}()
		for ctx.Err() == nil {
			spec := runner.ContainerSpec{Name: dockertest.Name(t), Image: image, Cmd: []string{"true"}, Labels: labels}
			// A create is not cut off by the end of the load: one cut
			// off in flight was carried out by the engine after the
			// test had gone, and its container was left behind.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			id, err := rt.Create(cctx, spec)
			cancel()
			if err != nil {
				select { // an engine error: pace the retries
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			bg := context.WithoutCancel(ctx)
			if rt.Start(ctx, id) == nil {
				rt.Wait(ctx, id)
			}
			rt.Remove(bg, id)
		}
	}()
	return &wg
}
