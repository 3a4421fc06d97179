package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/state"
)

// Footprint sizes: CronJobs and finished pods seeded into the store, in
// Jobs of podsPerJob pods.
const (
	footprintCronJobs = 1000
	footprintPods     = 100_000
	podsPerJob        = 100
	idleWindow        = 30 * time.Second
)

// footprint: the daemon's idle CPU and memory, empty and with 1,000
// CronJobs and 100,000 finished pods in its store (seeded through the
// store's API), and how long the read verbs take on that store.
func footprint(ctx context.Context, e *env) ([]result, error) {
	empty := filepath.Join(e.tmp, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return nil, err
	}
	var out []result
	up, err := startDaemon(ctx, e, filepath.Join(e.tmp, "state-idle"), empty)
	if err != nil {
		return nil, err
	}
	if err := ready(ctx, up); err != nil {
		up.stop()
		return nil, err
	}
	cpu, rss, file, err := idle(ctx, up, idleWindow)
	up.stop()
	if err != nil {
		return nil, err
	}
	e.log("footprint: idle empty daemon: %.3f%% of a core, RSS %.1f MB (%.1f MB mapped files)", cpu, rss, file)
	out = append(out, result{fmt.Sprintf("idle daemon, `up` of an empty folder, %v from ready: CPU / RSS (of it mapped files)", idleWindow), fmt.Sprintf("%.2f %% / %.1f MB (%.1f)", cpu, rss, file), "—", "—", "≤ 0.1 %"})

	stateDir := filepath.Join(e.tmp, "state-big")
	t0 := time.Now()
	if err := seed(ctx, stateDir); err != nil {
		return nil, err
	}
	e.log("footprint: seeded %d CronJobs, %d Jobs, %d pods in %v", footprintCronJobs, footprintPods/podsPerJob, footprintPods, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	up, err = startDaemon(ctx, e, stateDir, empty)
	if err != nil {
		return nil, err
	}
	defer up.stop()
	if err := ready(ctx, up); err != nil {
		return nil, err
	}
	startWall := time.Since(t0)
	startTicks, err := cpuTicks(up.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	e.log("footprint: big state ready in %v, %d ms of CPU", startWall.Round(time.Millisecond), startTicks*10)
	out = append(out, result{fmt.Sprintf("start with %d CronJobs and %dk finished pods: until ready (wall / CPU)", footprintCronJobs, footprintPods/1000),
		fmt.Sprintf("%s / %d ms", ms(startWall), startTicks*10), "—", "—", "—"})
	cpu, rss, file, err = idle(ctx, up, idleWindow)
	if err != nil {
		return nil, err
	}
	out = append(out, result{fmt.Sprintf("  the same daemon, idle, %v from ready: CPU / RSS (of it mapped files)", idleWindow),
		fmt.Sprintf("%.2f %% / %.1f MB (%.1f)", cpu, rss, file), "—", "—", "≤ 0.2 %"})
	for _, q := range []struct {
		what string
		args []string
	}{
		{fmt.Sprintf("`get pods -l batch.kubernetes.io/job-name=X -o json` (%d of %dk pods)", podsPerJob, footprintPods/1000),
			[]string{"get", "pods", "-l", "batch.kubernetes.io/job-name=job-42", "-o", "json"}},
		{fmt.Sprintf("`get jobs` (%d)", footprintPods/podsPerJob), []string{"get", "jobs"}},
		{fmt.Sprintf("`get cronjobs` (%d)", footprintCronJobs), []string{"get", "cronjobs"}},
	} {
		var ds []time.Duration
		for range 5 {
			t0 := time.Now()
			out, err := commandContext(ctx, e.bin, append([]string{"--state-dir", stateDir}, q.args...)...).Output()
			if err != nil {
				return nil, fmt.Errorf("%v: %v", q.args, err)
			}
			ds = append(ds, time.Since(t0))
			if len(out) == 0 {
				return nil, fmt.Errorf("%v printed nothing", q.args)
			}
		}
		out = append(out, result{q.what + ", p50 of 5", ms(pct(ds, 50)), "—", "—", "≤ 50 ms"})
	}
	return out, nil
}

// ready waits until the daemon serves every request: the socket answers
// at once, the other requests wait until the daemon has resumed its state
// and applied its folders.
func ready(ctx context.Context, p *daemonProc) error {
	_, err := p.client.CronJobs(ctx, "default")
	return err
}

// idle measures a process's CPU (percent of one core) over window, and its
// resident memory (MB) at the end, from /proc.
func idle(ctx context.Context, p *daemonProc, window time.Duration) (cpu, rssMB, fileMB float64, err error) {
	pid := p.cmd.Process.Pid
	t0, err := cpuTicks(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	select {
	case <-time.After(window): // the measurement window itself
	case <-ctx.Done():
		return 0, 0, 0, ctx.Err()
	}
	t1, err := cpuTicks(pid)
	if err != nil {
		return 0, 0, 0, err
	}
	const hz = 100 // USER_HZ on Linux
	cpu = float64(t1-t0) / hz / time.Since(start).Seconds() * 100
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			rssMB = kb / 1024
		}
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "RssFile:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			fileMB = kb / 1024 // the state database's mapped pages (and the binary's)
		}
	}
	return cpu, rssMB, fileMB, nil
}

// cpuTicks is a process's user + system CPU time in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count fields after ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime, nil
}

// seed fills a state dir with finished Jobs, their pods and their runs'
// history, and CronJobs that will not fire during the bench.
func seed(ctx context.Context, dir string) error {
	db, err := state.Open(dir, state.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().Add(-time.Hour)
	for i := range footprintCronJobs {
		cj := &manifest.CronJob{
			TypeMeta:   manifest.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
			ObjectMeta: manifest.ObjectMeta{Name: fmt.Sprintf("cron-%d", i), Namespace: "default", UID: fmt.Sprintf("cj-%d", i), CreationTimestamp: manifest.Time{Time: now}},
			Spec: manifest.CronJobSpec{Schedule: "0 0 1 1 *", JobTemplate: manifest.JobTemplateSpec{Spec: manifest.JobSpec{Template: manifest.PodTemplateSpec{Spec: manifest.PodSpec{
				RestartPolicy: manifest.RestartPolicyNever, Containers: []manifest.Container{{Name: "main", Image: "busybox"}}}}}}},
		}
		if err := db.SaveCronJob(ctx, cj); err != nil {
			return err
		}
	}
	one := int32(1)
	for j := range footprintPods / podsPerJob {
		name := fmt.Sprintf("job-%d", j)
		uid := fmt.Sprintf("job-uid-%d", j)
		job := &manifest.Job{
			TypeMeta:   manifest.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: manifest.ObjectMeta{Name: name, Namespace: "default", UID: uid, CreationTimestamp: manifest.Time{Time: now}},
			Spec:       manifest.JobSpec{Completions: &one},
			Status: manifest.JobStatus{Succeeded: podsPerJob, Conditions: []manifest.JobCondition{
				{Type: manifest.JobComplete, Status: "True", LastTransitionTime: manifest.Time{Time: now}}}},
		}
		if err := db.SaveJob(ctx, job); err != nil {
			return err
		}
		var pods []*runner.PodRecord
		for k := range podsPerJob {
			ctrl := true
			p := manifest.Pod{
				TypeMeta: manifest.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: manifest.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, k), Namespace: "default", UID: fmt.Sprintf("%s-pod-%d", uid, k),
					CreationTimestamp: manifest.Time{Time: now},
					Labels:            map[string]string{"batch.kubernetes.io/job-name": name, "job-name": name},
					OwnerReferences:   []manifest.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: name, UID: uid, Controller: &ctrl}}},
				Spec:   manifest.PodSpec{RestartPolicy: manifest.RestartPolicyNever, Containers: []manifest.Container{{Name: "main", Image: "busybox"}}},
				Status: manifest.PodStatus{Phase: manifest.PodSucceeded},
			}
			pods = append(pods, &runner.PodRecord{Pod: p, Containers: []*runner.ContainerRecord{{Name: "main",
				Current: &runner.Run{Step: runner.StepExited, Reason: "Completed", StartedAt: now, FinishedAt: now}}}})
		}
		if err := db.SavePods(ctx, pods); err != nil {
			return err
		}
		// The run history a daemon records as each Job finishes, so the
		// daemon under test starts from a state one like it left.
		if _, err := db.RecordRun(ctx, history.FromJob(job, pods, nil, now), nil, history.Retention{}); err != nil {
			return err
		}
	}
	return nil
}
