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
	"sync/atomic"
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
	df := addDaemonFlags(fs)
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
	var todo, config []manifest.Object
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
			config = append(config, o) // ConfigMaps and Secrets, applied first
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
		// One code path with up: the running daemon runs them (DESIGN §6).
		return e.runViaDaemon(ctx, c, *files, todo, *output, *timeout)
	}
	// Logs go to stdout, or to stderr when stdout carries -o json.
	logOut := e.stdout
	if *output != "" {
		logOut = e.stderr
	}
	p := &runPrinter{out: logOut}
	// run is one code path with up: an in-process daemon, socket included,
	// for the duration of the run (DESIGN §6).
	cfg := daemon.Config{StateDir: dir, Version: Version, OnLog: p.logLine, Runtime: e.runtime, NoCronJobs: true}
	if err := df.apply(&cfg, *files); err != nil {
		return err
	}
	d, err := daemon.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Stop()

	sub := d.Controller.Subscribe()
	defer sub.Close()

	for _, o := range config {
		var err error
		switch v := o.Obj.(type) {
		case *manifest.ConfigMap:
			err = d.Controller.ApplyConfigMap(ctx, v)
		case *manifest.Secret:
			err = d.Controller.ApplySecret(ctx, v)
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %s/%s: %w", o.File, o.Line, strings.ToLower(o.Kind), o.Meta().Name, err)
		}
	}
	// Refuse what cannot run before anything runs, so a refusal never
	// leaves earlier pods behind.
	for _, o := range todo {
		var meta *manifest.ObjectMeta
		var spec *manifest.PodSpec
		switch v := o.Obj.(type) {
		case *manifest.Pod:
			meta, spec = &v.ObjectMeta, &v.Spec
		case *manifest.Job:
			meta, spec = &v.Spec.Template.ObjectMeta, &v.Spec.Template.Spec
		}
		if err := d.Controller.CheckPodSpec(meta, spec); err != nil {
			return &exitError{code: exitFailed, err: fmt.Errorf("%s:%d: %s/%s: %w (nothing was run)", o.File, o.Line, strings.ToLower(o.Kind), o.Meta().Name, err)}
		}
	}

	// Signals: the first stops the run's jobs and pods with their grace
	// period, a second kills the containers at once.
	rc := e.runSignals(bg, *timeout, func() { fmt.Fprintf(e.stderr, "localjobs: killed %d containers\n", d.Controller.KillAll(bg)) })
	defer rc.stop()
	waitCtx, drainCtx := rc.waitCtx, rc.drainCtx

	var targets []runTarget
	jobUIDs := map[string]bool{}
	// Only this run's pods are printed, not what the daemon resumed.
	p.setOurs(func(pod *manifest.Pod) bool { return ownedBy(pod, targets, jobUIDs) })
	for _, o := range todo {
		switch v := o.Obj.(type) {
		case *manifest.Pod:
			got, err := d.Controller.ApplyPod(bg, v)
			if err != nil {
				d.Controller.TerminateAll("", "")
				return fmt.Errorf("%s:%d: pod/%s: %w", o.File, o.Line, v.Name, err)
			}
			targets = append(targets, runTarget{"pod", got.Namespace, got.Name})
		case *manifest.Job:
			got, err := d.Controller.ApplyJob(bg, v)
			if err != nil {
				d.Controller.TerminateAll("", "")
				return fmt.Errorf("%s:%d: job/%s: %w", o.File, o.Line, v.Name, err)
			}
			fmt.Fprintf(logOut, "job.batch/%s created\n", got.Name)
			targets = append(targets, runTarget{"job", got.Namespace, got.Name})
			jobUIDs[got.UID] = true
		}
	}

	// halted is set once the run's jobs were stopped: a stopped job is done
	// when its pods are.
	halted := false
	finished := func() bool { return allFinished(bg, storeSource{d.DB}, targets, halted) }
	follow := func(ctx context.Context) {
		for !finished() {
			ch, err := sub.Next(ctx)
			if err != nil {
				return
			}
			if ch.Pod != nil {
				p.podChanged(ch.Pod)
			}
		}
	}
	follow(waitCtx)
	stopped := waitCtx.Err() != nil && !finished()
	waitedFor := ""
	if stopped {
		waitedFor = describeWaiting(bg, storeSource{d.DB}, targets)
		// Timeout or signal: suspend the run's Jobs (persisted, so a later
		// daemon does not resume them; their pods stop without counting
		// as failures) and stop its pods, with their grace periods (at most
		// a minute, then kill).
		for _, t := range targets {
			switch t.kind {
			case "job":
				if j, err := d.DB.Job(bg, t.ns, t.name); err == nil && !runner.IsJobFinished(j) {
					suspend := true
					j.Spec.Suspend = &suspend
					if err := d.Controller.UpdateJob(bg, j); err != nil {
						fmt.Fprintf(e.stderr, "localjobs: suspend job/%s: %v\n", t.name, err)
					}
				}
			case "pod":
				d.Controller.TerminatePod(t.ns, t.name, "", "")
			}
		}
		halted = true
		drain, cancel := context.WithTimeout(drainCtx, time.Minute)
		follow(drain)
		cancel()
		if !finished() {
			d.Controller.KillAll(bg)
		}
	}

	p.finalRows(bg, storeSource{d.DB})
	return e.verdict(bg, storeSource{d.DB}, targets, *output, *timeout, stopped, rc.interrupted.Load(), waitedFor)
}

// verdict prints the final objects (-o json) and turns the outcome into
// run's exit: 0 all succeeded, 1 a failure, 124 timeout, 130 interrupted.
func (e *env) verdict(ctx context.Context, src source, targets []runTarget, output string, timeout time.Duration, stopped, interrupted bool, waitedFor string) error {
	var out []any
	var failures []string
	for _, t := range targets {
		switch t.kind {
		case "pod":
			r, err := src.PodRecord(ctx, t.ns, t.name)
			if err != nil {
				return err
			}
			out = append(out, &r.Pod)
			if r.Pod.Status.Phase != manifest.PodSucceeded {
				failures = append(failures, fmt.Sprintf("pod/%s %s", t.name, podRow(&r.Pod, time.Now()).Status))
			}
		case "job":
			j, err := src.Job(ctx, t.ns, t.name)
			if err != nil {
				return err
			}
			out = append(out, j)
			if jobStatus(j) != "Complete" {
				failures = append(failures, fmt.Sprintf("job/%s %s%s", t.name, jobStatus(j), jobReason(j)))
			}
		}
	}
	if output == "json" {
		if err := printJSON(e.stdout, out, false); err != nil {
			return err
		}
	}
	switch {
	case stopped && !interrupted:
		return &exitError{code: exitTimeout, err: fmt.Errorf("timed out after %s waiting for %s", timeout, waitedFor)}
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

// ownedBy reports whether pod is one of run's targets or a pod of one of
// its Jobs.
func ownedBy(pod *manifest.Pod, targets []runTarget, jobUIDs map[string]bool) bool {
	for _, t := range targets {
		if t.kind == "pod" && t.ns == pod.Namespace && t.name == pod.Name {
			return true
		}
	}
	for _, o := range pod.OwnerReferences {
		if jobUIDs[o.UID] {
			return true
		}
	}
	return false
}

// allFinished reports whether every target is done: pods terminal, Jobs
// finished (or stopped, once halted) with all their pods terminal.
func allFinished(ctx context.Context, src source, targets []runTarget, halted bool) bool {
	for _, t := range targets {
		switch t.kind {
		case "pod":
			r, err := src.PodRecord(ctx, t.ns, t.name)
			if err != nil || !runner.IsTerminalPhase(r.Pod.Status.Phase) {
				return false
			}
		case "job":
			j, err := src.Job(ctx, t.ns, t.name)
			if err != nil || (!halted && !runner.IsJobFinished(j)) {
				return false
			}
			pods, _ := podsOfJob(ctx, src, j)
			for _, pod := range pods {
				if !runner.IsTerminalPhase(pod.Status.Phase) {
					return false
				}
			}
		}
	}
	return true
}

// describeWaiting names what the unfinished targets wait on, e.g.
// `pod/x (ImagePullBackOff: Back-off pulling image "nope:1")`.
func describeWaiting(ctx context.Context, src source, targets []runTarget) string {
	var parts []string
	describe := func(pod *manifest.Pod) {
		if runner.IsTerminalPhase(pod.Status.Phase) {
			return
		}
		s := "pod/" + pod.Name
		for _, cs := range append(append([]manifest.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && w.Message != "" {
				s += fmt.Sprintf(" (%s: %s)", w.Reason, w.Message)
				break
			}
		}
		parts = append(parts, s)
	}
	for _, t := range targets {
		switch t.kind {
		case "pod":
			if r, err := src.PodRecord(ctx, t.ns, t.name); err == nil {
				describe(&r.Pod)
			}
		case "job":
			parts = append(parts, "job/"+t.name)
			if j, err := src.Job(ctx, t.ns, t.name); err == nil {
				pods, _ := podsOfJob(ctx, src, j)
				for _, pod := range pods {
					describe(pod)
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
	ours    func(*manifest.Pod) bool // nil = every pod
	out     io.Writer
	header  bool
	last    map[string]string
	widths  [4]int
	partial map[string][]byte
}

// finalRows prints the final row of every pod of the run whose last
// change had not been printed yet: run may see everything finished before
// the last transition reached it.
func (p *runPrinter) finalRows(ctx context.Context, src source) {
	pods, err := src.Pods(ctx, "")
	if err != nil {
		return
	}
	for _, pod := range pods {
		p.podChanged(pod)
	}
}

func (p *runPrinter) setOurs(f func(*manifest.Pod) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ours = f
}

func (p *runPrinter) podChanged(pod *manifest.Pod) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ours != nil && !p.ours(pod) {
		return
	}
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
	if p.ours != nil && !p.ours(pod) {
		return
	}
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

// runContexts are run's two phases: waitCtx ends at the timeout or the
// first signal (stop gracefully), drainCtx at the second signal (after
// kill has run). interrupted reports whether a signal came.
type runContexts struct {
	waitCtx, drainCtx context.Context
	interrupted       atomic.Bool
	stop              func()
}

func (e *env) runSignals(bg context.Context, timeout time.Duration, kill func()) *runContexts {
	rc := &runContexts{}
	waitCtx, cancelWait := context.WithCancel(bg)
	var cancelTimeout context.CancelFunc = func() {}
	if timeout > 0 {
		waitCtx, cancelTimeout = context.WithTimeout(waitCtx, timeout)
	}
	drainCtx, cancelDrain := context.WithCancel(bg)
	rc.waitCtx, rc.drainCtx = waitCtx, drainCtx
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	rc.stop = func() {
		signal.Stop(sigs)
		close(done)
		cancelTimeout()
		cancelWait()
		cancelDrain()
	}
	go func() {
		for n := 1; ; n++ {
			select {
			case <-sigs:
			case <-done:
				return
			}
			if n == 1 {
				rc.interrupted.Store(true)
				fmt.Fprintln(e.stderr, "localjobs: interrupted; stopping the pods (again to kill them)")
				cancelWait()
				continue
			}
			kill()
			cancelDrain()
			return
		}
	}()
	return rc
}
