package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/localjobs/localjobs/kubectl"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// run applies Pods and Jobs as fresh runs and follows them until every one
// has finished, printing status transitions like `kubectl get --watch` and
// the container output. It is a client of a daemon: the running one, or
// one it starts in this process for its duration; either way the same
// code. Exit: 0 all succeeded, 1 something failed, 124 timeout, 130
// interrupted, 2 usage.
func (e *env) run(ctx context.Context, args []string) error {
	fs := e.flags("run", "run -f FILE|DIR [-o json|yaml] [--timeout D] [--wait-for-image] [--dry-run]")
	files := fs.StringArrayP("filename", "f", nil, "file or directory of manifests (repeatable; - for stdin)")
	output := fs.StringP("output", "o", "", "print the final objects: json or yaml (logs then go to stderr)")
	timeout := fs.Duration("timeout", 0, "give up after this long (exit 124), e.g. 90s or 5m; 0 = no limit")
	waitForImage := fs.Bool("wait-for-image", false, "keep retrying an image the registry says does not exist (by default run gives up after "+fmt.Sprint(giveUpAfterPulls)+" such pulls)")
	dry := fs.String("dry-run", "none", `"client" (or a bare --dry-run): validate and print what would run, without running it`)
	fs.Lookup("dry-run").NoOptDefVal = "client"
	df := addDaemonFlags(fs, e.stderr, "warn") // run's output is its pods'; the daemon speaks up on problems
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(*files) == 0 {
		return &usageError{msg: "run needs -f FILE|DIR", hint: "localjobs run -f job.yaml"}
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0)), hint: "localjobs run -f job.yaml"}
	}
	switch *output {
	case "", "json", "yaml":
	default:
		return &usageError{msg: fmt.Sprintf("unsupported output format %q", *output), hint: "-o json or -o yaml"}
	}
	isDry, err := dryRun(*dry)
	if err != nil {
		return err
	}
	sent, objs, err := e.runFiles(*files)
	if err != nil {
		return err
	}
	if isDry {
		return e.runDryRun(objs, *output)
	}
	opts, err := df.options(*files)
	if err != nil {
		return err
	}
	c, stop, err := e.daemonFor(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintf(e.stderr, "error: %v\n", err)
		}
	}()
	// Logs go to stdout, or to stderr when stdout carries -o json|yaml.
	logOut := e.stdout
	if *output != "" {
		logOut = e.stderr
	}
	r := &runState{e: e, c: c, p: &runPrinter{out: logOut}, pods: map[string]*manifest.Pod{}, jobs: map[string]*manifest.Job{},
		podTargets: map[string]bool{}, jobTargets: map[string]bool{}, waitForImage: *waitForImage}
	r.p.setOurs(r.ours)
	return r.run(ctx, sent, *output, *timeout)
}

// runDryRun prints what run would run, as kubectl's --dry-run=client
// prints what it would create: "job.batch/x created (dry run)", or the
// objects with -o json|yaml.
func (e *env) runDryRun(objs []manifest.Object, output string) error {
	var all []any
	for _, o := range objs {
		if o.Kind == manifest.KindCronJob {
			continue // skipped, with the warning already printed
		}
		all = append(all, o.Obj)
	}
	switch output {
	case "json", "yaml":
		return printStructured(e.stdout, outputFormat{kind: output}, all, len(all) != 1, manifestName)
	}
	for _, o := range all {
		fmt.Fprintf(e.stdout, "%s created (dry run)\n", manifestName(o))
	}
	return nil
}

// runFiles reads and checks run's manifests before anything runs: every
// problem is printed, and a Pod that would never finish (restartPolicy
// Always) is refused. CronJobs are skipped with a one-line warning (up runs
// them); a folder of only CronJobs is refused with a hint. It returns the
// files to send and the objects they hold.
func (e *env) runFiles(paths []string) ([]localapi.File, []manifest.Object, error) {
	names, err := manifestFiles(paths)
	if err != nil {
		return nil, nil, err
	}
	var sent []localapi.File
	var objs []manifest.Object
	bad, runnable := false, 0
	var cronJobs []string
	for _, f := range names {
		file := localapi.File{Name: f}
		if f == "-" {
			file.Name = "<stdin>"
			file.Data, err = io.ReadAll(e.stdin)
		} else {
			file.Path, _ = filepath.Abs(f)
			file.Data, err = os.ReadFile(f)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "error: %s: %v\n", file.Name, err)
			bad = true
			continue
		}
		res := manifest.Decode(file.Name, file.Data)
		for _, w := range res.Warnings {
			fmt.Fprintf(e.stderr, "Warning: %s\n", w.Error())
		}
		for _, err := range res.Errors {
			fmt.Fprintf(e.stderr, "error: %s\n", err.Error())
			bad = true
		}
		for _, o := range res.Objects {
			switch v := o.Obj.(type) {
			case *manifest.Pod:
				if v.Spec.RestartPolicy == manifest.RestartPolicyAlways {
					return nil, nil, &usageError{
						msg:  fmt.Sprintf("%s:%d: pod/%s has restartPolicy Always (the default for a Pod) and would never finish", o.File, o.Line, v.Name),
						hint: "set spec.restartPolicy: Never (or OnFailure) to run it to completion",
					}
				}
				runnable++
			case *manifest.Job:
				runnable++
			case *manifest.CronJob:
				cronJobs = append(cronJobs, v.Name)
				fmt.Fprintf(e.stderr, "Warning: %s:%d: cronjob/%s skipped: run runs Pods and Jobs; `localjobs up` runs CronJobs\n", o.File, o.Line, v.Name)
			}
		}
		objs = append(objs, res.Objects...)
		sent = append(sent, file)
	}
	if bad {
		return nil, nil, &exitError{code: exitFailed, err: errors.New("invalid manifests: nothing was run")}
	}
	if runnable == 0 && len(cronJobs) > 0 {
		return nil, nil, &usageError{
			msg:  fmt.Sprintf("cronjob/%s runs on a schedule; run only runs Pods and Jobs", cronJobs[0]),
			hint: "run one now with: localjobs create job NAME --from=cronjob/" + cronJobs[0] + " (under localjobs up)",
		}
	}
	if runnable == 0 {
		return nil, nil, &exitError{code: exitFailed, err: errors.New("no Pod or Job to run")}
	}
	return sent, objs, nil
}

// runState follows one run through the daemon's watch of pods, jobs and
// logs: the run's objects are known by UID from the apply's results.
type runState struct {
	e          *env
	c          *localapi.Client
	p          *runPrinter
	podTargets map[string]bool // UIDs of the run's bare pods
	jobTargets map[string]bool // UIDs of its Jobs
	targets    []localapi.ApplyResult
	pods       map[string]*manifest.Pod // by UID, the run's only
	jobs       map[string]*manifest.Job // by UID
	halted     bool                     // the run's Jobs were stopped: done when their pods are
	// waitForImage keeps waiting for images the registry says do not
	// exist; pulls follows the pull failures, imageGaveUp is set when
	// run stops waiting for one.
	waitForImage bool
	pulls        pullWatch
	imageGaveUp  *imageProblem
}

func (r *runState) run(ctx context.Context, files []localapi.File, output string, timeout time.Duration) error {
	bg := context.WithoutCancel(ctx)
	// Watch first, so no change of what is applied is missed.
	stream, err := r.c.Watch(bg, "", "pods", "jobs", "logs")
	if err != nil {
		return err
	}
	defer stream.Close()
	events := make(chan localapi.WatchEvent, 1024)
	streamErr := make(chan error, 1)
	go func() {
		for {
			ev, err := stream.Next()
			if err != nil {
				streamErr <- err
				close(events)
				return
			}
			events <- ev
		}
	}()
	resp, err := r.c.Apply(bg, localapi.ApplyRequest{Files: files, Fresh: true})
	if err != nil {
		return err
	}
	for _, m := range resp.Errors {
		fmt.Fprintf(r.e.stderr, "error: %s\n", m)
	}
	for _, res := range resp.Results {
		switch res.Kind {
		case manifest.KindPod:
			r.podTargets[res.UID] = true
		case manifest.KindJob:
			r.jobTargets[res.UID] = true
			fmt.Fprintf(r.p.out, "job.batch/%s created\n", res.Name)
		default:
			continue
		}
		r.targets = append(r.targets, res)
	}
	if len(resp.Errors) > 0 {
		r.stopTargets(bg, true)
		return &exitError{code: exitFailed, err: errors.New("the daemon refused some objects")}
	}

	rc := r.e.runSignals(ctx, timeout, func() { r.stopTargets(bg, true) })
	defer rc.stop()
	follow := func(ctx context.Context) {
		for !r.finished() && (r.imageGaveUp == nil || r.halted) {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					r.lost(bg, <-streamErr)
					return
				}
				r.apply(ev)
			}
		}
	}
	follow(rc.waitCtx)
	stopped := rc.waitCtx.Err() != nil && !r.finished()
	waitedFor := ""
	// halt stops the run's targets with their grace periods (following
	// them for at most a minute), then kills what is left.
	halt := func() {
		r.stopTargets(bg, false)
		r.halted = true
		drain, cancel := context.WithTimeout(rc.drainCtx, time.Minute)
		follow(drain)
		cancel()
		if !r.finished() {
			r.stopTargets(bg, true)
		}
	}
	if r.imageGaveUp != nil && !r.finished() {
		// An image that will not appear: stop like a timeout, exit 1.
		halt()
		r.p.flush()
		return r.verdict(bg, output, timeout, false, false, "")
	}
	if stopped {
		// Timeout or signal: suspend the run's Jobs (persisted, so a later
		// daemon does not resume them; their pods stop without counting
		// as failures) and stop its pods, with their grace periods (at
		// most a minute, then kill).
		waitedFor = r.describeWaiting()
		halt()
	}
	r.p.flush()
	return r.verdict(bg, output, timeout, stopped, rc.interrupted.Load(), waitedFor)
}

// lost reports a watch that ended early (the daemon stopped, or the watch
// fell behind): run goes on from the objects' current state.
func (r *runState) lost(ctx context.Context, err error) {
	fmt.Fprintf(r.e.stderr, "Warning: the daemon's watch ended (%v); output may be incomplete\n", err)
	for uid := range r.podTargets {
		delete(r.pods, uid)
	}
	for _, t := range r.targets {
		switch t.Kind {
		case manifest.KindPod:
			if p, err := r.c.Pod(ctx, t.Namespace, t.Name); err == nil && p.UID == t.UID {
				r.pods[p.UID] = p
			}
		case manifest.KindJob:
			if j, err := r.c.Job(ctx, t.Namespace, t.Name); err == nil && j.UID == t.UID {
				r.jobs[j.UID] = j
				if pods, err := r.c.PodsOfJob(ctx, t.Namespace, t.Name); err == nil {
					for _, p := range pods {
						r.pods[p.UID] = p
					}
				}
			}
		}
	}
	r.halted = true // nothing more will be seen: finish with what is known
}

// apply takes in one watch event.
func (r *runState) apply(ev localapi.WatchEvent) {
	switch {
	case ev.Type == localapi.WatchLog:
		var l localapi.LogLine
		if decodeObject(ev, &l) {
			r.p.logLine(&l)
		}
	case ev.Type == localapi.WatchDeleted:
		var m struct {
			Kind     string
			Metadata manifest.ObjectMeta
		}
		if !decodeObject(ev, &m) {
			return
		}
		// Deletions carry only the name: a deleted target is done.
		for _, t := range r.targets {
			if t.Namespace == m.Metadata.Namespace && t.Name == m.Metadata.Name {
				delete(r.podTargets, t.UID)
				delete(r.jobTargets, t.UID)
			}
		}
		for uid, p := range r.pods {
			if p.Namespace == m.Metadata.Namespace && p.Name == m.Metadata.Name {
				delete(r.pods, uid)
				r.p.podDeleted(p.Name)
			}
		}
	default:
		var k struct{ Kind string }
		if !decodeObject(ev, &k) {
			return
		}
		switch k.Kind {
		case manifest.KindPod:
			var p manifest.Pod
			if decodeObject(ev, &p) && r.ours(&p) {
				r.pods[p.UID] = &p
				r.p.podChanged(&p)
				r.imagePulls(&p)
			}
		case manifest.KindJob:
			var j manifest.Job
			if decodeObject(ev, &j) && r.jobTargets[j.UID] {
				r.jobs[j.UID] = &j
			}
		}
	}
}

// imagePulls prints each new image pull error of a pod once, plainly, and
// notes when run should stop waiting for an image (giveUpOnImage).
func (r *runState) imagePulls(p *manifest.Pod) {
	for _, pr := range r.pulls.observe(p, r.waitForImage) {
		if pr.new {
			fmt.Fprintf(r.e.stderr, "Warning: pod/%s: %s\n", pr.pod, pr.message)
		}
		if pr.giveUp && r.imageGaveUp == nil {
			r.imageGaveUp = &pr
		}
	}
}

// ours reports whether a pod is one of the run's, or a pod of its Jobs.
func (r *runState) ours(p *manifest.Pod) bool {
	if r.podTargets[p.UID] {
		return true
	}
	for _, o := range p.OwnerReferences {
		if r.jobTargets[o.UID] {
			return true
		}
	}
	return false
}

// finished reports whether every target is done: pods terminal, Jobs
// finished (or stopped, once halted) with all their pods terminal.
func (r *runState) finished() bool {
	for uid := range r.podTargets {
		if p := r.pods[uid]; p == nil || !podTerminal(p) {
			return false
		}
	}
	for uid := range r.jobTargets {
		j := r.jobs[uid]
		if !r.halted && (j == nil || !jobFinished(j)) {
			return false
		}
	}
	for _, p := range r.pods {
		if !podTerminal(p) {
			return false
		}
	}
	return true
}

func podTerminal(p *manifest.Pod) bool {
	return p.Status.Phase == manifest.PodSucceeded || p.Status.Phase == manifest.PodFailed
}

func jobFinished(j *manifest.Job) bool {
	s := kubectl.JobStatus(j)
	return s == "Complete" || s == "Failed"
}

// stopTargets suspends the run's unfinished Jobs (their pods stop, not
// counted as failures) and stops its pods with their grace periods; kill
// stops every container of the run at once.
func (r *runState) stopTargets(ctx context.Context, kill bool) {
	for _, t := range r.targets {
		switch {
		case t.Kind == manifest.KindPod:
			r.c.TerminatePod(ctx, t.Namespace, t.Name, kill)
		case !kill:
			if j := r.jobs[t.UID]; j == nil || !jobFinished(j) {
				r.c.SetSuspend(ctx, t.Namespace, t.Name, true)
			}
		}
	}
	if kill {
		for _, p := range r.pods {
			if !podTerminal(p) && !r.podTargets[p.UID] {
				r.c.TerminatePod(ctx, p.Namespace, p.Name, true)
			}
		}
	}
}

// describeWaiting names what the unfinished targets wait on, e.g.
// `pod/x (ImagePullBackOff: Back-off pulling image "nope:1")`.
func (r *runState) describeWaiting() string {
	var parts []string
	for _, t := range r.targets {
		if t.Kind == manifest.KindJob {
			if j := r.jobs[t.UID]; j == nil || !jobFinished(j) {
				parts = append(parts, "job/"+t.Name)
			}
		}
	}
	for _, p := range r.pods {
		if podTerminal(p) {
			continue
		}
		s := "pod/" + p.Name
		for _, cs := range append(append([]manifest.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && w.Message != "" {
				s += fmt.Sprintf(" (%s: %s)", w.Reason, w.Message)
				break
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// verdict prints the final objects (-o json) and turns the outcome into
// run's exit: 0 all succeeded, 1 a failure, 124 timeout, 130 interrupted.
func (r *runState) verdict(ctx context.Context, output string, timeout time.Duration, stopped, interrupted bool, waitedFor string) error {
	var out []any
	var failures []string
	for _, t := range r.targets {
		switch t.Kind {
		case manifest.KindPod:
			p, err := r.c.Pod(ctx, t.Namespace, t.Name)
			if err != nil {
				failures = append(failures, fmt.Sprintf("pod/%s: %v", t.Name, err))
				continue
			}
			r.p.podChanged(p) // the final row, if the watch had not shown it
			out = append(out, p)
			if p.Status.Phase != manifest.PodSucceeded {
				failures = append(failures, fmt.Sprintf("pod/%s %s", t.Name, podRow(p, time.Now()).Status))
			}
		case manifest.KindJob:
			j, err := r.c.Job(ctx, t.Namespace, t.Name)
			if err != nil {
				failures = append(failures, fmt.Sprintf("job/%s: %v", t.Name, err))
				continue
			}
			out = append(out, j)
			if kubectl.JobStatus(j) != "Complete" {
				failures = append(failures, fmt.Sprintf("job/%s %s%s", t.Name, kubectl.JobStatus(j), jobReason(j)))
			}
		}
	}
	switch output {
	case "json":
		if err := printJSON(r.e.stdout, out, false); err != nil {
			return err
		}
	case "yaml":
		if err := printStructured(r.e.stdout, outputFormat{kind: "yaml"}, out, len(out) != 1, objectName); err != nil {
			return err
		}
	}
	switch {
	case r.imageGaveUp != nil:
		return &exitError{code: exitFailed, err: errors.New(r.imageGaveUp.String())}
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

// runContexts are run's two phases: waitCtx ends at the timeout or the
// first signal (stop gracefully), drainCtx at the second signal (after
// kill has run). interrupted reports whether a signal came.
type runContexts struct {
	waitCtx, drainCtx context.Context
	interrupted       atomic.Bool
	stop              func()
}

func (e *env) runSignals(ctx context.Context, timeout time.Duration, kill func()) *runContexts {
	bg := context.WithoutCancel(ctx)
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
	interrupt := func() {
		if rc.interrupted.CompareAndSwap(false, true) {
			fmt.Fprintln(e.stderr, "localjobs: interrupted; stopping the pods (again to kill them)")
		}
		cancelWait()
	}
	// The caller's ctx ending (main's first signal, or an embedding
	// caller giving up) is the first interrupt; only a signal counts as
	// the second one.
	go func() {
		select {
		case <-ctx.Done():
			interrupt()
		case <-done:
		}
	}()
	go func() {
		for n := 1; ; n++ {
			select {
			case <-sigs:
			case <-done:
				return
			}
			if n == 1 {
				interrupt()
				continue
			}
			kill()
			cancelDrain()
			return
		}
	}()
	return rc
}

// decodeObject decodes a watch event's object into v.
func decodeObject(ev localapi.WatchEvent, v any) bool {
	return json.Unmarshal(ev.Object, v) == nil
}
