package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

const (
	engLines     = 40  // lines per pod of the engine scenarios, 0.25 s apart
	stoppedLines = 100 // outlasting dockerd's 10 s stop timeout
)

// engineJob is an Indexed Job whose pods print engLines numbered lines.
func engineJob(name, image string, completions int) string {
	return engineJobLines(name, image, completions, engLines)
}

// engineJobLines is engineJob with pods printing lines lines.
func engineJobLines(name, image string, completions, lines int) string {
	return indexedJob(name, image, completions, 20, lines)
}

// engineScenarios runs scenario 3 (the engine down when localjobs starts)
// and then scenario 2 (the engine killed and restarted mid-run) on one
// private dockerd.
func engineScenarios(ctx context.Context, e *env) (down, restart outcome) {
	down = outcome{Scenario: "engine down at start", Pass: true}
	restart = outcome{Scenario: "engine killed and restarted", Pass: true}
	t0 := time.Now()
	pe := newPrivateEngine(filepath.Join(e.tmp, "e"))
	defer pe.teardown()
	if err := pe.setup(); err != nil {
		down.fail("private engine: %v", err)
		restart.fail("private engine: %v", err)
		return done(down, t0), done(restart, t0)
	}
	engineDown(ctx, e, pe, &down)
	down = done(down, t0)
	t1 := time.Now()
	if pe.cmd == nil || !alive(pe.done) {
		restart.fail("private engine not running after the previous scenario")
		return down, done(restart, t1)
	}
	engineRestart(ctx, e, pe, &restart)
	return down, done(restart, t1)
}

func alive(done chan struct{}) bool {
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// engineDown: localjobs starts while the engine is down. It must either
// exit with an error that names the engine, or wait and recover once the
// engine is up (a Job applied meanwhile completes).
func engineDown(ctx context.Context, e *env, pe *privateEngine, o *outcome) {
	stateDir, specs := filepath.Join(e.tmp, "d"), filepath.Join(e.tmp, "ds")
	os.MkdirAll(specs, 0o755)
	os.WriteFile(filepath.Join(specs, "job.yaml"), []byte(engineJob("early", e.image, 2)), 0o644)
	dh := "DOCKER_HOST=" + pe.host()
	d, err := startUp(e, stateDir, specs, dh)
	if err != nil {
		o.fail("start: %v", err)
		return
	}
	defer d.stop()
	answered := d.dial(ctx, stateDir, 15*time.Second) == nil
	time.Sleep(3 * time.Second)
	exited := !d.alive()
	logf("engine down: after 15 s localjobs answered=%v exited=%v; it printed:\n%s", answered, exited, tail(d.out.String(), 1500))
	if goPanic(d.out.String()) {
		o.fail("localjobs panicked with the engine down")
	}
	if err := pe.start(ctx); err != nil {
		o.fail("private dockerd: %v", err)
		return
	}
	if err := pe.loadImage(ctx, e.image); err != nil {
		o.fail("%v", err)
		return
	}
	if exited {
		if !mentionsEngine(d.out.String()) {
			o.fail("localjobs exited without naming the engine: %s", tail(d.out.String(), 200))
		}
		if d, err = startUp(e, stateDir, specs, dh); err == nil {
			err = d.dial(ctx, stateDir, 30*time.Second)
		}
		if err != nil {
			o.fail("start with the engine up: %v", err)
			return
		}
		defer d.stop()
	} else if !answered {
		o.fail("localjobs neither answered nor exited within 15 s")
		if err := d.dial(ctx, stateDir, 30*time.Second); err != nil {
			o.fail("%v", err)
			return
		}
	}
	if err := waitJob(ctx, d, "early", 2*time.Minute); err != nil {
		o.fail("after the engine came up: %v; localjobs printed: %s", err, tail(d.out.String(), 300))
		return
	}
	r := checkJob(ctx, cliJob(e, stateDir, dh), d.client, "early", 2, engLines, idxTag)
	for _, p := range r.problems {
		o.fail("%s", p)
	}
}

func idxTag(p *manifest.Pod) string { return "i" + p.Annotations[indexAnnotation] }

// mentionsEngine reports whether an error text names the engine.
func mentionsEngine(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "docker") || strings.Contains(s, "engine")
}

// engineRestart: kill -9 of dockerd while 4 pods run, restarted 5 s later.
func engineRestart(ctx context.Context, e *env, pe *privateEngine, o *outcome) {
	stateDir, specs := filepath.Join(e.tmp, "r"), filepath.Join(e.tmp, "rs")
	os.MkdirAll(specs, 0o755)
	os.WriteFile(filepath.Join(specs, "job.yaml"), []byte(engineJob("outage", e.image, 8)), 0o644)
	d, err := startUp(e, stateDir, specs, "DOCKER_HOST="+pe.host())
	if err == nil {
		err = d.dial(ctx, stateDir, 30*time.Second)
	}
	if err != nil {
		o.fail("start: %v", err)
		return
	}
	defer d.stop()
	if err := waitRunning(ctx, d.client, 4, time.Minute); err != nil {
		o.fail("%v", err)
		return
	}
	time.Sleep(3 * time.Second) // some lines captured
	killedAt := time.Now()
	pe.kill9()
	logf("engine: dockerd killed")
	time.Sleep(5 * time.Second)
	if !d.alive() {
		o.fail("localjobs exited during the outage: %s", tail(d.out.String(), 300))
		return
	}
	if _, err := d.client.Pods(ctx, "default"); err != nil {
		o.fail("get pods during the outage: %v", err)
	}
	if err := pe.start(ctx); err != nil {
		o.fail("dockerd restart: %v", err)
		return
	}
	logf("engine: dockerd back after %v", time.Since(killedAt).Round(time.Millisecond))
	r, ok := finishJob(ctx, e, pe, d, stateDir, "outage", 8, engLines, o)
	if !ok {
		return
	}
	logf("engine: %d pods succeeded, %d failed (re-run per backoffLimit): %v", r.succeeded, r.failed, r.reruns)
	engineStopped(ctx, e, pe, d, stateDir, specs, o)
	engineEvidence(ctx, d.client, pe, killedAt, o)
	logf("engine: localjobs printed:\n%s", tail(d.out.String(), 2000))
}

// waitRunning waits until n pods have a running container.
func waitRunning(ctx context.Context, c *localapi.Client, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		pods, err := c.Pods(ctx, "default")
		running := 0
		for _, p := range pods {
			if len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil {
				running++
			}
		}
		if err == nil && running >= n {
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("%d pods not running within %v", n, timeout)
}

// engineEvidence: every pod that failed says why, the outage left a
// Warning event, and no line the engine has is missing from localjobs'
// log of it.
func engineEvidence(ctx context.Context, c *localapi.Client, pe *privateEngine, killedAt time.Time, o *outcome) {
	pods, err := c.Pods(ctx, "default")
	if err != nil {
		o.fail("pods: %v", err)
		return
	}
	lost, gone := 0, []string(nil)
	byUID, _ := byPod(ctx, pe.host(), "{{.ID}}") // nil if docker ps failed: no pod is compared
	for _, p := range pods {
		if p.Status.Phase == "Failed" {
			if reasonOf(p) == "" {
				o.fail("pod %s Failed with no reason", p.Name)
			}
			logf("engine: pod %s Failed: %s %s", p.Name, reasonOf(p), p.Status.Message)
		}
		ids := byUID[string(p.UID)]
		if len(ids) != 1 {
			continue // removed once recorded: the check above covers it
		}
		engineLog, err := docker(ctx, pe.host(), "logs", ids[0])
		if err != nil {
			continue
		}
		var ours strings.Builder
		c.Logs(ctx, &ours, localapi.LogRequest{Namespace: "default", Pod: p.Name, Container: "main", TailLines: -1})
		if missing := missingLines(engineLog, ours.String()); len(missing) > 0 {
			lost += len(missing)
			gone = append(gone, fmt.Sprintf("pod %s: %d lines in docker logs missing from localjobs' log (first %q)", p.Name, len(missing), missing[0]))
		}
	}
	o.failMany(fmt.Sprintf("%d lines docker logs has are not in localjobs logs (%d pods)", lost, len(gone)), gone)
	evs, err := c.Events(ctx, "default", "")
	if err != nil {
		o.fail("events: %v", err)
		return
	}
	warned := 0
	for _, ev := range evs {
		if ev.Type == "Warning" && !ev.LastTimestamp.Time.Before(killedAt.Add(-time.Second)) {
			warned++
			logf("engine: event %s %s %s: %s", ev.InvolvedObject.Name, ev.Type, ev.Reason, ev.Message)
		}
	}
	if warned == 0 {
		o.fail("no Warning event for the engine outage")
	}
}

// reasonOf is a failed pod's reason: its own, or its container's.
func reasonOf(p *manifest.Pod) string {
	if p.Status.Reason != "" {
		return p.Status.Reason
	}
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.Reason != "" {
			return t.Reason
		}
	}
	return ""
}

// missingLines lists the lines of want that got does not hold (as a
// multiset).
func missingLines(want, got string) []string {
	n := map[string]int{}
	for _, l := range strings.Split(got, "\n") {
		n[l]++
	}
	var miss []string
	for _, l := range strings.Split(strings.TrimRight(want, "\n"), "\n") {
		if l == "" {
			continue
		}
		if n[l] > 0 {
			n[l]--
			continue
		}
		miss = append(miss, l)
	}
	return miss
}

// engineStopped: the engine restarted the way `systemctl restart docker`
// does (SIGTERM: it stops the containers) while a Job's 2 pods run; the
// Job must retry them per its backoffLimit and complete.
func engineStopped(ctx context.Context, e *env, pe *privateEngine, d *daemon, stateDir, specs string, o *outcome) {
	os.WriteFile(filepath.Join(specs, "job2.yaml"), []byte(engineJobLines("stopped", e.image, 2, stoppedLines)), 0o644)
	if err := waitRunning(ctx, d.client, 2, time.Minute); err != nil {
		o.fail("stopped: %v", err)
		return
	}
	time.Sleep(2 * time.Second)
	logf("engine: 2 pods of stopped run; stopping dockerd (SIGTERM)")
	pe.stop()
	logf("engine: dockerd stopped")
	if err := pe.start(ctx); err != nil {
		o.fail("dockerd start: %v", err)
		return
	}
	r, ok := finishJob(ctx, e, pe, d, stateDir, "stopped", 2, stoppedLines, o)
	if !ok {
		return
	}
	logf("engine stopped: %d pods succeeded, %d failed: %v", r.succeeded, r.failed, r.reruns)
	if r.failed == 0 {
		o.fail("engine stopped: no pod failed, so no retry was exercised")
	}
}

// logProblems records a Job's problems after an engine fault: re-runs are
// the policy (the engine stopped the containers), logs not whole are
// summed up in one table line.
// finishJob waits (at most 3 minutes) for the Job on the private engine
// to finish and checks its pods and logs, failing o with what is wrong; ok
// is false when localjobs itself has exited.
func finishJob(ctx context.Context, e *env, pe *privateEngine, d *daemon, stateDir, job string, completions, lines int, o *outcome) (r jobReport, ok bool) {
	if err := waitJob(ctx, d, job, 3*time.Minute); err != nil {
		o.fail("%v", err)
	}
	if !d.alive() {
		o.fail("localjobs exited: %s", tail(d.out.String(), 300))
		return r, false
	}
	r = checkJob(ctx, cliJob(e, stateDir, "DOCKER_HOST="+pe.host()), d.client, job, completions, lines, idxTag)
	logProblems(r, o)
	return r, true
}

func logProblems(r jobReport, o *outcome) {
	var logs []string
	for _, p := range r.problems {
		switch {
		case strings.Contains(p, "attempts run again"):
		case strings.HasPrefix(p, "log "):
			logs = append(logs, p)
		default:
			o.fail("%s", p)
		}
	}
	if len(logs) > 0 {
		o.failMany(fmt.Sprintf("%d pod logs not whole (%s)", len(logs), strings.TrimPrefix(logs[0], "log ")), logs)
	}
}
