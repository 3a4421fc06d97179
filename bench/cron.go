package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
	"github.com/localjobs/localjobs/schedule"
)

// cronLatency: k CronJobs "* * * * *" firing together, for two minutes:
// from each slot's scheduled time to its Job appearing in the daemon's job
// watch (recorded) and to its container running in the pod watch
// (started), next to the engine's raw create+start of k containers at once.
func cronLatency(ctx context.Context, e *env) ([]result, error) {
	var out []result
	// 50 CronJobs give 50 samples in one firing; a second minute would
	// only lengthen make bench.
	for _, round := range []struct{ k, firings int }{{1, 2}, {50, 1}} {
		r, err := cronRound(ctx, e, round.k, round.firings)
		if err != nil {
			return nil, err
		}
		out = append(out, r...)
	}
	return out, nil
}

func cronRound(ctx context.Context, e *env, k, firings int) ([]result, error) {
	specs := filepath.Join(e.tmp, fmt.Sprintf("cron-%d", k))
	if err := os.MkdirAll(specs, 0o755); err != nil {
		return nil, err
	}
	for i := range k {
		if err := os.WriteFile(filepath.Join(specs, fmt.Sprintf("tick-%d.yaml", i)), []byte(fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick-%d
spec:
  schedule: "* * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 2
          containers:
          - name: work
            image: %s
            command: ["sleep", "3"]
`, i, e.image)), 0o644); err != nil {
			return nil, err
		}
	}
	stateDir := filepath.Join(e.tmp, fmt.Sprintf("state-cron-%d", k))
	up, err := startDaemon(ctx, e, stateDir, specs)
	if err != nil {
		return nil, err
	}
	defer removeContainers(e, stateDir)
	defer up.stop()

	w := &cronWatch{seen: map[string]time.Time{}, started: map[string]time.Time{}, slot: map[string]time.Time{}, signal: make(chan struct{}, 1)}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, res := range []string{"jobs", "pods"} {
		s, err := up.client.OpenWatch(wctx, res, "default")
		if err != nil {
			return nil, err
		}
		go w.follow(s, res)
	}
	want := k * firings
	e.log("cron: %d CronJobs, waiting for %d firings (about %d minutes)", k, want, firings+1)
	deadline := time.After(time.Duration(firings+1)*time.Minute + 30*time.Second)
	for w.count() < want {
		select {
		case <-w.signal:
		case <-deadline:
			return nil, fmt.Errorf("%d CronJobs: %d of %d firings seen in time", k, w.count(), want)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	rec, start := w.latencies()
	raw, err := rawCreateStart(ctx, e, k)
	if err != nil {
		return nil, err
	}
	n := len(rec)
	return []result{
		{fmt.Sprintf("cron, %d CronJob(s) on one minute: scheduled → Job recorded, p50 / p99 (n=%d)", k, n),
			ms(pct(rec, 50)) + " / " + ms(pct(rec, 99)), "—", "—", "p50 ≤ 1 s"},
		{fmt.Sprintf("cron, %d CronJob(s): scheduled → container started, p50 / p99 (n=%d)", k, n),
			ms(pct(start, 50)) + " / " + ms(pct(start, 99)), fmt.Sprintf("raw create+start ×%d: %s", k, ms(raw)), ratio(pct(start, 50), raw), "≤ 1.2"},
	}, nil
}

// cronWatch records, per scheduled Job, when the watches first showed it
// and its container running.
type cronWatch struct {
	mu      sync.Mutex
	seen    map[string]time.Time
	started map[string]time.Time
	slot    map[string]time.Time
	signal  chan struct{}
}

func (w *cronWatch) follow(s *localapi.WatchStream, res string) {
	defer s.Close()
	for {
		ev, err := s.Next()
		if err != nil {
			return
		}
		at := time.Now()
		w.mu.Lock()
		if res == "jobs" {
			var j manifest.Job
			if json.Unmarshal(ev.Object, &j) == nil && ev.Type != "DELETED" {
				if ts, err := time.Parse(time.RFC3339, j.Annotations[schedule.AnnotationScheduledTimestamp]); err == nil {
					if _, ok := w.seen[j.Name]; !ok {
						w.seen[j.Name], w.slot[j.Name] = at, ts
					}
				}
			}
		} else {
			var p manifest.Pod
			if json.Unmarshal(ev.Object, &p) == nil {
				job := p.Labels["batch.kubernetes.io/job-name"]
				cs := p.Status.ContainerStatuses
				if _, ok := w.started[job]; !ok && job != "" && len(cs) > 0 && (cs[0].State.Running != nil || cs[0].State.Terminated != nil) {
					w.started[job] = at
				}
			}
		}
		w.mu.Unlock()
		select {
		case w.signal <- struct{}{}:
		default:
		}
	}
}

func (w *cronWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for name := range w.slot {
		if _, ok := w.started[name]; ok {
			n++
		}
	}
	return n
}

func (w *cronWatch) latencies() (rec, start []time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, s := range w.slot {
		st, ok := w.started[name]
		if !ok {
			continue
		}
		rec = append(rec, w.seen[name].Sub(s))
		start = append(start, st.Sub(s))
	}
	return rec, start
}

// rawCreateStart is the anchor: the wall time for the engine to create and
// start k containers of the same image at once (median of three rounds),
// straight on the engine API with no deadline of ours per call (50 starts
// at once can take longer than localjobs' own per-call bound).
func rawCreateStart(ctx context.Context, e *env, k int) (time.Duration, error) {
	api, err := client.New(client.FromEnv)
	if err != nil {
		return 0, err
	}
	defer api.Close()
	var rounds []time.Duration
	for range 3 {
		ids := make([]string, k)
		errs := make([]error, k)
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := range k {
			wg.Go(func() {
				res, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
					Config:     &container.Config{Image: e.image, Cmd: []string{"sleep", "3"}, Labels: map[string]string{"io.localjobs.bench": "true"}},
					HostConfig: &container.HostConfig{},
				})
				if err == nil {
					ids[i] = res.ID
					_, err = api.ContainerStart(ctx, res.ID, client.ContainerStartOptions{})
				}
				errs[i] = err
			})
		}
		wg.Wait()
		rounds = append(rounds, time.Since(t0))
		for _, id := range ids {
			if id != "" {
				api.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true})
			}
		}
		for _, err := range errs {
			if err != nil {
				return 0, err
			}
		}
	}
	return pct(rounds, 50), nil
}

// removeContainers removes every container of the stopped daemon of
// stateDir (up leaves them running by design).
func removeContainers(e *env, stateDir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dockertest.RemoveInstanceContainers(ctx, stateDir); err != nil {
		e.log("clean-up: %v", err)
	}
}
