package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// indexAnnotation is the completion index of an Indexed Job's pod.
const indexAnnotation = "batch.kubernetes.io/job-completion-index"

// jobReport is what one finished Job showed.
type jobReport struct {
	succeeded, failed int      // pods by phase, as listed
	reruns            []string // pods beyond one per index (or one per Job)
	problems          []string // each a FAIL
}

// jobGetter reads a Job as the user sees it.
type jobGetter func(ctx context.Context, name string) (*manifest.Job, error)

// cliJob reads a Job with `localjobs get job NAME -o json`.
func cliJob(e *env, stateDir string, environ ...string) jobGetter {
	return func(ctx context.Context, name string) (*manifest.Job, error) {
		out, err := lj(ctx, e, stateDir, environ, "get", "job", name, "-o", "json")
		if err != nil {
			return nil, fmt.Errorf("get job %s -o json: %v: %s", name, err, firstLine(out))
		}
		var j manifest.Job
		if err := json.Unmarshal([]byte(out), &j); err != nil {
			return nil, fmt.Errorf("get job %s -o json: %v", name, err)
		}
		return &j, nil
	}
}

// checkJob compares a Job's status (from `get job -o json`) with its pods and each pod's log with
// what it printed: lines "TAG N", N = 1..lines, TAG from tagOf(pod). Every
// index (or, for a non-indexed Job, the Job) must succeed exactly once.
func checkJob(ctx context.Context, get jobGetter, c *localapi.Client, job string, completions, lines int, tagOf func(*manifest.Pod) string) jobReport {
	var r jobReport
	j, err := get(ctx, job)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("job %s: %v", job, err))
		return r
	}
	pods, err := c.PodsOfJob(ctx, "default", job)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("pods of %s: %v", job, err))
		return r
	}
	byIndex := map[string][]string{}
	for _, p := range pods {
		idx := p.Annotations[indexAnnotation]
		byIndex[idx] = append(byIndex[idx], p.Name+"="+p.Status.Phase)
		want := 0 // a failed or unfinished pod may stop anywhere: a prefix is whole
		switch p.Status.Phase {
		case "Succeeded":
			r.succeeded++
			want = lines
		case "Failed":
			r.failed++
		}
		var b strings.Builder
		lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := c.Logs(lctx, &b, localapi.LogRequest{Namespace: "default", Pod: p.Name, Container: "main", TailLines: -1})
		cancel()
		if err != nil {
			r.problems = append(r.problems, fmt.Sprintf("logs %s: %v", p.Name, err))
			continue
		}
		if lc := checkLines(b.String(), tagOf(p), want); !lc.whole(false) {
			r.problems = append(r.problems, fmt.Sprintf("log %s (%s): %s", p.Name, p.Status.Phase, lc))
		}
	}
	for idx, ps := range byIndex {
		ok := 0
		for _, s := range ps {
			if strings.HasSuffix(s, "=Succeeded") {
				ok++
			}
		}
		if ok > 1 {
			r.problems = append(r.problems, fmt.Sprintf("job %s index %q succeeded %d times: %v", job, idx, ok, ps))
		}
		if len(ps) > 1 {
			slices.Sort(ps)
			r.reruns = append(r.reruns, fmt.Sprintf("%s[%s]: %s", job, idx, strings.Join(ps, " ")))
		}
	}
	if r.succeeded != completions {
		r.problems = append(r.problems, fmt.Sprintf("job %s: %d pods succeeded, want %d", job, r.succeeded, completions))
	}
	if int(j.Status.Succeeded) != r.succeeded || int(j.Status.Failed) != r.failed || j.Status.Active != 0 {
		r.problems = append(r.problems, fmt.Sprintf("job %s status succeeded %d failed %d active %d; pods say %d, %d, 0",
			job, j.Status.Succeeded, j.Status.Failed, j.Status.Active, r.succeeded, r.failed))
	}
	if len(r.reruns) > 0 {
		r.problems = append(r.problems, fmt.Sprintf("job %s: %d attempts run again: %s", job, len(r.reruns), strings.Join(r.reruns, "; ")))
	}
	return r
}

// finished reports whether a Job has its Complete or Failed condition.
func finished(j *manifest.Job) (done bool, how string) {
	for _, c := range j.Status.Conditions {
		if (c.Type == "Complete" || c.Type == "Failed") && c.Status == "True" {
			return true, c.Type
		}
	}
	return false, ""
}

// watcher polls docker ps for our running containers and the daemon for
// Jobs, and remembers every moment that broke an invariant.
type watcher struct {
	mu         sync.Mutex
	dups       map[string]bool // "pod X/main ×2", "job J index I ×2"
	cronActive map[string]bool // moments with two Jobs of the Forbid CronJob at once
	cronJobs   map[string]bool // Jobs of the CronJob seen
	polls      int
}

func newWatcher() *watcher {
	return &watcher{dups: map[string]bool{}, cronActive: map[string]bool{}, cronJobs: map[string]bool{}}
}

// containers records one docker ps: containers held twice, and the Forbid
// CronJob's running containers (at most one Job's at once).
func (w *watcher) containers(cs []container, cronJob string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.polls++
	for _, d := range twice(cs) {
		if !w.dups[d] {
			logf("two containers at once: %s", d)
		}
		w.dups[d] = true
	}
	jobs := map[string]bool{}
	for _, c := range cs {
		if c.CronJob == cronJob && c.Name != "" {
			jobs[c.Job] = true
		}
	}
	if len(jobs) > 1 {
		k := strings.Join(slices.Sorted(maps.Keys(jobs)), " + ")
		if !w.cronActive[k] {
			logf("Forbid CronJob %s: containers of %s run at once", cronJob, k)
		}
		w.cronActive[k] = true
	}
}

// jobs records one listing: Jobs of the CronJob that are active at once.
func (w *watcher) jobs(js []*manifest.Job, cronJob string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var active []string
	for _, j := range js {
		if !strings.HasPrefix(j.Name, cronJob+"-") {
			continue
		}
		w.cronJobs[j.Name] = true
		if done, _ := finished(j); !done {
			active = append(active, j.Name)
		}
	}
	if len(active) > 1 {
		slices.Sort(active)
		k := "jobs " + strings.Join(active, " + ")
		if !w.cronActive[k] {
			logf("Forbid CronJob %s: %s unfinished at once", cronJob, k)
		}
		w.cronActive[k] = true
	}
}
