package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// runViaDaemon is run -f when a daemon already runs with the state dir:
// the daemon runs the objects (fresh runs, not desired state), and run
// follows them through its watches and logs exactly as it does in-process.
// A timeout or the first signal suspends the run's Jobs and stops its bare
// pods with their grace period (records and logs stay); a second signal
// kills their containers.
func (e *env) runViaDaemon(ctx context.Context, c *localapi.Client, paths []string, todo []manifest.Object, output string, timeout time.Duration) error {
	bg := context.WithoutCancel(ctx)
	logOut := e.stdout
	if output != "" {
		logOut = e.stderr
	}
	p := &runPrinter{out: logOut}

	// Watch first, so no transition of what we start is missed.
	podStream, err := c.OpenWatch(bg, "pods", "")
	if err != nil {
		return err
	}
	defer podStream.Close()
	jobStream, err := c.OpenWatch(bg, "jobs", "")
	if err != nil {
		return err
	}
	defer jobStream.Close()

	files, err := manifestFiles(paths)
	if err != nil {
		return err
	}
	var req localapi.ApplyRequest
	req.Fresh = true
	for _, f := range files {
		var data []byte
		name := f
		if f == "-" {
			continue // already consumed by the local validation; see below
		}
		if data, err = os.ReadFile(f); err != nil {
			return err
		}
		req.Files = append(req.Files, localapi.File{Name: name, Data: data})
	}
	if len(req.Files) == 0 {
		return &usageError{msg: "run -f - with a running daemon is not supported", hint: "save the manifest to a file, or stop the daemon"}
	}
	resp, err := c.Apply(bg, req)
	if err != nil {
		return err
	}
	for _, m := range resp.Errors {
		fmt.Fprintf(e.stderr, "error: %s\n", m)
	}
	var targets []runTarget
	jobUIDs := map[string]bool{}
	for _, r := range resp.Results {
		switch r.Kind {
		case manifest.KindPod:
			targets = append(targets, runTarget{"pod", r.Namespace, r.Name})
		case manifest.KindJob:
			fmt.Fprintf(logOut, "job.batch/%s created\n", r.Name)
			targets = append(targets, runTarget{"job", r.Namespace, r.Name})
			if j, err := c.Job(bg, r.Namespace, r.Name); err == nil {
				jobUIDs[j.UID] = true
			}
		}
	}
	if len(resp.Errors) > 0 {
		e.stopTargets(bg, c, targets, false)
		return &exitError{code: exitFailed, err: fmt.Errorf("the daemon refused some objects")}
	}
	ours := func(pod *manifest.Pod) bool { return ownedBy(pod, targets, jobUIDs) }

	// Events from both watches, merged.
	events := make(chan localapi.WatchEvent, 256)
	for _, st := range []*localapi.WatchStream{podStream, jobStream} {
		go func() {
			for {
				ev, err := st.Next()
				if err != nil {
					return
				}
				events <- ev
			}
		}()
	}

	// Each started container's log is followed once, prefixed like in-process.
	var logs sync.WaitGroup
	followed := map[string]bool{}
	followLogs := func(pod *manifest.Pod) {
		statuses := append(append([]manifest.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
		for _, cs := range statuses {
			if cs.State.Running == nil && cs.State.Terminated == nil {
				continue
			}
			k := fmt.Sprintf("%s/%s/%s/%d", pod.Namespace, pod.Name, cs.Name, cs.RestartCount)
			if followed[k] || (cs.State.Terminated != nil && cs.State.Terminated.Reason == "ContainerCannotRun") {
				continue
			}
			followed[k] = true
			logs.Add(1)
			go func(pod *manifest.Pod, container string) {
				defer logs.Done()
				pr, pw := io.Pipe()
				go func() {
					err := c.Logs(bg, pw, localapi.LogRequest{Namespace: pod.Namespace, Pod: pod.Name, Container: container, Follow: true, TailLines: -1})
					pw.CloseWithError(err)
				}()
				sc := bufio.NewScanner(pr)
				sc.Buffer(make([]byte, 64<<10), 16<<20)
				for sc.Scan() {
					p.logLine(pod, container, time.Time{}, "stdout", sc.Bytes(), false)
				}
			}(pod, cs.Name)
		}
	}

	src := clientSource{c}
	halted := false
	finished := func() bool { return allFinished(bg, src, targets, halted) }

	rc := e.runSignals(ctx, timeout, func() { e.stopTargets(bg, c, targets, true) })
	defer rc.stop()
	waitCtx, drainCtx := rc.waitCtx, rc.drainCtx

	follow := func(ctx context.Context) {
		for !finished() {
			select {
			case <-ctx.Done():
				return
			case ev := <-events:
				var pod manifest.Pod
				if json.Unmarshal(ev.Object, &pod); pod.Kind == "Pod" && ours(&pod) && ev.Type != "DELETED" {
					p.podChanged(&pod)
					followLogs(&pod)
				}
			}
		}
	}
	follow(waitCtx)
	stopped := waitCtx.Err() != nil && !finished()
	waitedFor := ""
	if stopped {
		waitedFor = describeWaiting(bg, src, targets)
		e.stopTargets(bg, c, targets, false)
		halted = true
		drain, cancel := context.WithTimeout(drainCtx, time.Minute)
		follow(drain)
		cancel()
		if !finished() {
			e.stopTargets(bg, c, targets, true)
		}
	}
	logs.Wait()
	p.setOurs(ours)
	p.finalRows(bg, src)
	return e.verdict(bg, src, targets, output, timeout, stopped, rc.interrupted.Load(), waitedFor)
}

// stopTargets suspends the run's Jobs (their pods stop, not counted as
// failures) and stops its pods; kill stops every container at once.
func (e *env) stopTargets(ctx context.Context, c *localapi.Client, targets []runTarget, kill bool) {
	src := clientSource{c}
	for _, t := range targets {
		switch t.kind {
		case "pod":
			c.TerminatePod(ctx, t.ns, t.name, kill)
		case "job":
			j, err := c.Job(ctx, t.ns, t.name)
			if err != nil {
				continue
			}
			if !kill && !runner.IsJobFinished(j) {
				c.SetSuspend(ctx, t.ns, t.name, true)
			}
			if kill {
				pods, _ := podsOfJob(ctx, src, j)
				for _, pod := range pods {
					c.TerminatePod(ctx, pod.Namespace, pod.Name, true)
				}
			}
		}
	}
}
