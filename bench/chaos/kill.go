package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// The kill scenario's workload.
const (
	killPerRound = 10 // kills while one Indexed Job runs
	idxLines     = 10 // lines per indexed pod, 0.25 s apart
	cronName     = "tick"
	cronLines    = 70 // seconds a CronJob run prints: longer than its minute, so Forbid matters
)

// indexedJob is an Indexed Job whose pods print lines numbered lines
// ("i<index> N"), 0.25 s apart.
func indexedJob(name, image string, completions, backoffLimit, lines int) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
  completions: %d
  parallelism: 4
  completionMode: Indexed
  backoffLimit: %d
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: %s
        command: ["sh", "-c", "for n in $(seq 1 %d); do echo i$JOB_COMPLETION_INDEX $n; sleep 0.25; done"]
`, name, completions, backoffLimit, image, lines)
}

func cronJob(image string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: %s
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 100
  failedJobsHistoryLimit: 100
  jobTemplate:
    spec:
      backoffLimit: 100
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 2
          containers:
          - name: main
            image: %s
            command: ["sh", "-c", "for n in $(seq 1 %d); do echo t $n; sleep 1; done"]
`, cronName, image, cronLines)
}

// killDaemon is scenarios 1 and 7: kill -9 of the daemon at e.kills random
// moments while Indexed Jobs (one after another, killPerRound kills each)
// and a Forbid CronJob whose runs outlast its period run.
func killDaemon(ctx context.Context, e *env) (outcome, outcome) {
	t0 := time.Now()
	o := outcome{Scenario: fmt.Sprintf("kill -9 daemon ×%d (Indexed Job + CronJob)", e.kills), Pass: true}
	forbid := outcome{Scenario: "Forbid CronJob across restarts", Pass: true}
	stateDir, specs := filepath.Join(e.tmp, "k"), filepath.Join(e.tmp, "ks")
	os.MkdirAll(specs, 0o755)
	os.WriteFile(filepath.Join(specs, "cron.yaml"), []byte(cronJob(e.image)), 0o644)
	defer removeOurs(e, stateDir, "")
	w := newWatcher()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	d, err := startUp(e, stateDir, specs)
	if err == nil {
		err = d.dial(ctx, stateDir, 30*time.Second)
	}
	if err != nil {
		o.fail("first start: %v", err)
		return done(o, t0), done(forbid, t0)
	}
	var cur atomic.Pointer[daemon]
	cur.Store(d)
	var jobs []string
	inst := ""
	kills, restarts := 0, []time.Duration{}
	for round := 1; kills < e.kills && ctx.Err() == nil; round++ {
		name := fmt.Sprintf("idx-%d", round)
		jobs = append(jobs, name)
		os.WriteFile(filepath.Join(specs, name+".yaml"), []byte(indexedJob(name, e.image, 20, 100, idxLines)), 0o644)
		for k := 0; k < killPerRound && kills < e.kills; k++ {
			time.Sleep(time.Duration(200+e.rnd.IntN(2800)) * time.Millisecond)
			if inst == "" {
				if inst = instanceOf(ctx, cur.Load()); inst != "" {
					go watch(wctx, w, inst, &cur)
				}
			}
			cur.Load().kill9()
			kills++
			t := time.Now()
			nd, err := startUp(e, stateDir, specs)
			if err == nil {
				err = nd.dial(ctx, stateDir, 60*time.Second)
			}
			if err != nil {
				o.fail("restart after kill %d: %v", kills, err)
				return done(o, t0), done(forbid, t0)
			}
			restarts = append(restarts, time.Since(t))
			cur.Store(nd)
		}
		logf("round %d: %d kills so far", round, kills)
	}
	// The Jobs overlap (the next one is added while the last runs): wait
	// for all of them, 3 minutes in all (a stuck Job must not hold the run
	// for 3 minutes each).
	deadline := time.Now().Add(3 * time.Minute)
	for _, name := range jobs {
		if err := waitJob(ctx, cur.Load(), name, max(time.Until(deadline), time.Second)); err != nil {
			o.fail("%v", err)
		}
	}
	// The CronJob's runs are 70 s: wait for the one under way, if any.
	waitCron(ctx, cur.Load(), 2*time.Minute)
	stopWatch()
	c := cur.Load().client
	attempts, reruns := 0, 0
	for _, j := range jobs {
		r := checkJob(ctx, cliJob(e, stateDir), c, j, 20, idxLines, idxTag)
		attempts += r.succeeded + r.failed
		reruns += len(r.reruns)
		for _, p := range r.problems {
			o.fail("%s", p)
		}
	}
	cronRuns := 0
	js, _ := c.Jobs(ctx, "default")
	for _, j := range js {
		if !strings.HasPrefix(j.Name, cronName+"-") {
			continue
		}
		if fin, _ := finished(j); !fin {
			continue
		}
		cronRuns++
		r := checkJob(ctx, cliJob(e, stateDir), c, j.Name, 1, cronLines, func(*manifest.Pod) string { return "t" })
		for _, p := range r.problems {
			o.fail("%s", p)
		}
	}
	for d := range w.dups {
		o.fail("two containers at once: %s", d)
	}
	logf("kill: %d kills, %d Indexed Jobs (%d attempts for %d indexes), %d CronJob runs checked, %d docker ps polls, restart to answer: median %v",
		kills, len(jobs), attempts, 20*len(jobs), cronRuns, w.polls, median(restarts))
	if kills < e.kills {
		o.fail("only %d of %d kills done", kills, e.kills)
	}
	for k := range w.cronActive {
		forbid.fail("%s", k)
	}
	if len(w.cronJobs) < 2 {
		forbid.fail("only %d Jobs of the CronJob seen: not exercised", len(w.cronJobs))
	}
	logf("forbid: Jobs of the CronJob seen: %d", len(w.cronJobs))
	if err := cur.Load().stop(); err != nil {
		o.fail("stop after the run: %v", err)
	}
	return done(o, t0), done(forbid, t0)
}

// watch polls docker ps (every 300 ms) and the Job list (every second)
// until ctx ends; *cur is the daemon of the moment.
func watch(ctx context.Context, w *watcher, inst string, cur *atomic.Pointer[daemon]) {
	n := 0
	for ctx.Err() == nil {
		if cs, err := dockerPS(ctx, "", "io.localjobs.instance="+inst); err == nil {
			w.containers(cs, cronName)
		}
		if n%3 == 0 {
			if d := cur.Load(); d != nil && d.client != nil {
				lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				if js, err := d.client.Jobs(lctx, "default"); err == nil {
					w.jobs(js, cronName)
				}
				cancel()
			}
		}
		n++
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// instanceOf finds the daemon's instance id from the labels of one of its
// containers ("" if none runs yet).
func instanceOf(ctx context.Context, d *daemon) string {
	pods, err := d.client.Pods(ctx, "default")
	if err != nil {
		return ""
	}
	insts, err := byPod(ctx, "", `{{.Label "io.localjobs.instance"}}`)
	if err != nil {
		return ""
	}
	for _, p := range pods {
		if in := insts[string(p.UID)]; len(in) > 0 && in[0] != "" {
			return in[0]
		}
	}
	return ""
}

// waitJob polls until the Job is finished.
func waitJob(ctx context.Context, d *daemon, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if j, err := d.client.Job(ctx, "default", name); err == nil {
			if fin, _ := finished(j); fin {
				return nil
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("job %s not finished within %v", name, timeout)
}

// waitCron waits for every Job of the CronJob to finish.
func waitCron(ctx context.Context, d *daemon, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		js, err := d.client.Jobs(ctx, "default")
		busy := err != nil
		for _, j := range js {
			if fin, _ := finished(j); strings.HasPrefix(j.Name, cronName+"-") && !fin {
				busy = true
			}
		}
		if !busy {
			return
		}
		time.Sleep(time.Second)
	}
}

func done(o outcome, t0 time.Time) outcome {
	o.Took = time.Since(t0)
	return o
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}
