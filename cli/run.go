package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// run applies Pods and Jobs and follows them until every one has finished,
// printing status transitions like `kubectl get --watch` and the container
// output. Exit: 0 all succeeded, 1 something failed, 124 timeout, 2 usage.
func (e *env) run(ctx context.Context, args []string) error {
	fs := e.flags("run", "run -f FILE|DIR [-o json|yaml] [--timeout D]")
	files := fs.StringArrayP("filename", "f", nil, "file or directory of manifests (repeatable; - for stdin)")
	output := fs.StringP("output", "o", "", "print the final objects: json")
	timeout := fs.Duration("timeout", 0, "give up after this long (exit 124); 0 = no limit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(*files) == 0 {
		return &usageError{msg: "run needs -f FILE|DIR", hint: "localjobs run -f job.yaml"}
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0)), hint: "localjobs run -f job.yaml"}
	}
	if *output != "" && *output != "json" {
		return &usageError{msg: fmt.Sprintf("unsupported output format %q", *output), hint: "-o json"}
	}

	objs, bad, err := loadManifests(*files, os.Stdin, e.stderr)
	if err != nil {
		return err
	}
	if bad {
		return &exitError{code: exitFailed, err: errors.New("invalid manifests: nothing was run")}
	}
	var todo []manifest.Object
	for _, o := range objs {
		switch v := o.Obj.(type) {
		case *manifest.Pod:
			if v.Spec.RestartPolicy == manifest.RestartPolicyAlways {
				return &usageError{
					msg:  fmt.Sprintf("%s:%d: pod/%s has restartPolicy Always (the default for a Pod) and would never finish", o.File, o.Line, v.Name),
					hint: "set spec.restartPolicy: Never (or OnFailure) to run it to completion",
				}
			}
			todo = append(todo, o)
		case *manifest.Job:
			todo = append(todo, o)
		case *manifest.CronJob:
			return &usageError{
				msg:  fmt.Sprintf("%s:%d: cronjob/%s runs on a schedule; run only runs Pods and Jobs", o.File, o.Line, v.Name),
				hint: "run one now with: localjobs create job NAME --from=cronjob/" + v.Name + " (under localjobs up)",
			}
		default:
			// ConfigMaps and Secrets are accepted; pods that reference them
			// resolve them in a later version.
			fmt.Fprintf(e.stderr, "%s:%d: %s/%s accepted (not used by run yet)\n", o.File, o.Line, strings.ToLower(o.Kind), o.Meta().Name)
		}
	}
	if len(todo) == 0 {
		return &exitError{code: exitFailed, err: errors.New("no Pod or Job to run")}
	}

	dir, err := daemon.StateDir(e.stateDir)
	if err != nil {
		return err
	}
	// Store reads must outlive a cancelled ctx (we still report after a signal).
	bg := context.WithoutCancel(ctx)
	if c, _ := e.dial(ctx); c != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("a localjobs daemon is running with state dir %s: use `localjobs apply -f` with it, or give run its own --state-dir", dir)}
	}
	// Logs go to stdout, or to stderr when stdout carries -o json.
	logOut := e.stdout
	if *output != "" {
		logOut = e.stderr
	}
	p := &runPrinter{out: logOut}
	// run is one code path with up: an in-process daemon, socket included,
	// for the duration of the run (DESIGN §6).
	d, err := daemon.Start(ctx, daemon.Config{StateDir: dir, Version: Version, OnLog: p.logLine, Runtime: testRuntime})
	if err != nil {
		return err
	}
	defer d.Stop()

	sub := d.Controller.Subscribe()
	defer sub.Close()

	var targets []runTarget
	for _, o := range todo {
		switch v := o.Obj.(type) {
		case *manifest.Pod:
			got, err := d.Controller.ApplyPod(ctx, v)
			if err != nil {
				return fmt.Errorf("%s:%d: pod/%s: %w", o.File, o.Line, v.Name, err)
			}
			targets = append(targets, runTarget{"pod", got.Namespace, got.Name})
		case *manifest.Job:
			got, err := d.Controller.ApplyJob(ctx, v)
			if err != nil {
				return fmt.Errorf("%s:%d: job/%s: %w", o.File, o.Line, v.Name, err)
			}
			fmt.Fprintf(logOut, "job.batch/%s created\n", got.Name)
			targets = append(targets, runTarget{"job", got.Namespace, got.Name})
		}
	}

	// Follow until everything is finished, the timeout, or a signal.
	waitCtx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()
	if *timeout > 0 {
		waitCtx, cancelWait = context.WithTimeout(waitCtx, *timeout)
		defer cancelWait()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	interrupted := false
	go func() {
		select {
		case <-sigs:
			interrupted = true
			fmt.Fprintln(e.stderr, "localjobs: interrupted; stopping the pods (again to kill)")
			cancelWait()
		case <-waitCtx.Done():
		}
	}()

	finished := func() bool {
		for _, t := range targets {
			switch t.kind {
			case "pod":
				r, err := d.DB.Pod(bg, t.ns, t.name)
				if err != nil || !runner.IsTerminalPhase(r.Pod.Status.Phase) {
					return false
				}
			case "job":
				j, err := d.DB.Job(bg, t.ns, t.name)
				if err != nil || !runner.IsJobFinished(j) {
					return false
				}
				pods, _ := d.DB.PodsOfJob(bg, j.UID)
				for _, r := range pods {
					if !runner.IsTerminalPhase(r.Pod.Status.Phase) {
						return false
					}
				}
			}
		}
		return true
	}
	for !finished() {
		ch, err := sub.Next(waitCtx)
		if err != nil {
			break
		}
		if ch.Pod != nil {
			p.podChanged(ch.Pod)
		}
	}
	stopped := waitCtx.Err() != nil && !finished()
	waitedFor := ""
	if stopped {
		waitedFor = e.waitingFor(bg, d, targets)
		// Timeout or signal: stop our pods with their grace period; a second
		// signal abandons the wait.
		d.Controller.TerminateAll("", "")
		drain, cancelDrain := context.WithTimeout(context.WithoutCancel(ctx), 45*time.Second)
		go func() {
			select {
			case <-sigs:
				cancelDrain()
			case <-drain.Done():
			}
		}()
		for !finished() {
			ch, err := sub.Next(drain)
			if err != nil {
				break
			}
			if ch.Pod != nil {
				p.podChanged(ch.Pod)
			}
		}
		cancelDrain()
	}

	// Final objects and verdict.
	var out []any
	var failures []string
	for _, t := range targets {
		switch t.kind {
		case "pod":
			r, err := d.DB.Pod(bg, t.ns, t.name)
			if err != nil {
				return err
			}
			out = append(out, &r.Pod)
			if r.Pod.Status.Phase != manifest.PodSucceeded {
				failures = append(failures, fmt.Sprintf("pod/%s %s", t.name, podRow(&r.Pod, time.Now()).Status))
			}
		case "job":
			j, err := d.DB.Job(bg, t.ns, t.name)
			if err != nil {
				return err
			}
			out = append(out, j)
			if jobStatus(j) != "Complete" {
				failures = append(failures, fmt.Sprintf("job/%s %s%s", t.name, jobStatus(j), jobReason(j)))
			}
		}
	}
	if *output == "json" {
		if err := printJSON(e.stdout, out, false); err != nil {
			return err
		}
	}
	switch {
	case stopped && !interrupted:
		return &exitError{code: exitTimeout, err: fmt.Errorf("timed out after %s waiting for %s", *timeout, waitedFor)}
	case stopped:
		return &exitError{code: 130, err: errors.New("interrupted")}
	case len(failures) > 0:
		return &exitError{code: exitFailed, err: fmt.Errorf("not successful: %s", strings.Join(failures, ", "))}
	}
	return nil
}

func jobReason(j *manifest.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Type == manifest.JobFailed && c.Status == "True" {
			return " (" + c.Reason + ": " + c.Message + ")"
		}
	}
	return ""
}

type runTarget struct{ kind, ns, name string }

// waitingFor describes what the unfinished targets were waiting on, e.g.
// `pod/x (ImagePullBackOff: Back-off pulling image "nope:1")`.
func (e *env) waitingFor(ctx context.Context, d *daemon.Daemon, targets []runTarget) string {
	var parts []string
	describe := func(r *runner.PodRecord) {
		if runner.IsTerminalPhase(r.Pod.Status.Phase) && r.TerminateAt.IsZero() {
			return
		}
		s := fmt.Sprintf("pod/%s", r.Pod.Name)
		for _, c := range r.Containers {
			if c.Waiting != nil {
				s += fmt.Sprintf(" (%s: %s)", c.Waiting.Reason, c.Waiting.Message)
				break
			}
		}
		parts = append(parts, s)
	}
	for _, t := range targets {
		switch t.kind {
		case "pod":
			if r, err := d.DB.Pod(ctx, t.ns, t.name); err == nil {
				describe(r)
			}
		case "job":
			parts = append(parts, "job/"+t.name)
			if j, err := d.DB.Job(ctx, t.ns, t.name); err == nil {
				pods, _ := d.DB.PodsOfJob(ctx, j.UID)
				for _, r := range pods {
					describe(r)
				}
			}
		}
	}
	return strings.Join(parts, ", ")
}

// runPrinter writes run's output: a kubectl-watch row whenever a pod's
// READY, STATUS or RESTARTS changes, and container output prefixed with
// its pod, compose-style.
type runPrinter struct {
	mu      sync.Mutex
	out     io.Writer
	header  bool
	last    map[string]string
	widths  [4]int
	partial map[string][]byte
}

func (p *runPrinter) podChanged(pod *manifest.Pod) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[string]string{}
	}
	row := podRow(pod, time.Now())
	k := row.Ready + "|" + row.Status + "|" + row.Restarts
	if p.last[pod.Name] == k {
		return
	}
	p.last[pod.Name] = k
	cols := []string{row.Name, row.Ready, row.Status, row.Restarts}
	if !p.header {
		p.header = true
		for i, h := range []string{"NAME", "READY", "STATUS", "RESTARTS"} {
			p.widths[i] = max(len(h), len(cols[i]))
		}
		p.widths[2] = max(p.widths[2], len("ContainerCreating"))
		fmt.Fprintf(p.out, "%-*s   %-*s   %-*s   %-*s   %s\n", p.widths[0], "NAME", p.widths[1], "READY", p.widths[2], "STATUS", p.widths[3], "RESTARTS", "AGE")
	}
	fmt.Fprintf(p.out, "%-*s   %-*s   %-*s   %-*s   %s\n", p.widths[0], cols[0], p.widths[1], cols[1], p.widths[2], cols[2], p.widths[3], cols[3], row.Age)
}

func (p *runPrinter) logLine(pod *manifest.Pod, container string, _ time.Time, _ string, line []byte, partial bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.partial == nil {
		p.partial = map[string][]byte{}
	}
	k := pod.Name + "/" + container
	if partial {
		p.partial[k] = append(p.partial[k], line...)
		return
	}
	full := append(p.partial[k], line...)
	delete(p.partial, k)
	prefix := pod.Name
	if len(pod.Spec.Containers)+len(pod.Spec.InitContainers) > 1 {
		prefix += "/" + container
	}
	fmt.Fprintf(p.out, "%s | %s\n", prefix, full)
}
