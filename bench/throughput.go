package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// throughputJob and throughputParallelism are the throughput row's Job.
const (
	throughputJob         = 200
	throughputParallelism = 10
)

// throughput: a Job of 200 completions at parallelism 10 of `true`, run
// with `localjobs run -f`, next to bench's own loop on the Docker API at
// the same concurrency (create, start, wait, remove: what any runner must
// at least do per attempt), twice; the row adds up both rounds.
func throughput(ctx context.Context, e *env) ([]result, error) {
	job := filepath.Join(e.tmp, "throughput.yaml")
	if err := os.WriteFile(job, []byte(fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: throughput
spec:
  completions: %d
  parallelism: %d
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: %s
        imagePullPolicy: IfNotPresent
        command: ["true"]
`, throughputJob, throughputParallelism, e.image)), 0o644); err != nil {
		return nil, err
	}
	// Two rounds in opposite orders (anchor first, then localjobs first),
	// so neither side always runs on the engine the other just left: one
	// round of each varied by a quarter from run to run.
	var lj, raw time.Duration
	var rounds []string
	for round := range 2 {
		stateDir := filepath.Join(e.tmp, fmt.Sprintf("state-throughput-%d", round))
		runLJ := func() (time.Duration, error) {
			defer removeContainers(e, stateDir)
			t0 := time.Now()
			if out, err := commandContext(ctx, e.bin, "--state-dir", stateDir, "run", "-f", job).CombinedOutput(); err != nil {
				return 0, fmt.Errorf("run -f: %v\n%s", err, tail(out))
			}
			return time.Since(t0), nil
		}
		var l, r time.Duration
		var err error
		if round == 0 {
			if r, err = rawLoop(ctx, e, throughputJob, throughputParallelism); err == nil {
				l, err = runLJ()
			}
		} else {
			if l, err = runLJ(); err == nil {
				r, err = rawLoop(ctx, e, throughputJob, throughputParallelism)
			}
		}
		if err != nil {
			return nil, err
		}
		e.log("throughput round %d: raw API loop %v, localjobs run -f %v (%s)", round+1, r.Round(time.Millisecond), l.Round(time.Millisecond), ratio(l, r))
		lj, raw = lj+l, raw+r
		rounds = append(rounds, ratio(l, r))
	}
	return []result{{
		fmt.Sprintf("Job %d completions, parallelism %d, `true` (2 rounds; their ratios %s)", throughputJob, throughputParallelism, strings.Join(rounds, ", ")),
		secs(lj), fmt.Sprintf("raw API loop ×%d: %s", throughputParallelism, secs(raw)), ratio(lj, raw), "≤ 1.05",
	}}, nil
}

// rawLoop runs n containers of `true`, conc at a time, straight on the
// engine API: create, start, wait, remove.
func rawLoop(ctx context.Context, e *env, n, conc int) (time.Duration, error) {
	api, err := client.New(client.FromEnv)
	if err != nil {
		return 0, err
	}
	defer api.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	t0 := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := rawOne(ctx, api, e.image); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	select {
	case err := <-errs:
		return 0, fmt.Errorf("raw loop: %w", err)
	default:
	}
	return d, nil
}

func rawOne(ctx context.Context, api *client.Client, image string) error {
	res, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: image, Cmd: []string{"true"}, Labels: map[string]string{"io.localjobs.bench": "true"}},
		HostConfig: &container.HostConfig{},
	})
	if err != nil {
		return err
	}
	defer api.ContainerRemove(context.WithoutCancel(ctx), res.ID, client.ContainerRemoveOptions{Force: true})
	wait := api.ContainerWait(ctx, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := api.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return err
	}
	select {
	case <-wait.Result:
		return nil
	case err := <-wait.Error:
		return err
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// tail is the end of a command's output, for an error message.
func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
