package daemon

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/state"
)

// specHash is the hash of an object as applied (after defaults), which
// decides whether a file change changed it.
func specHash(obj any) string {
	b, _ := json.Marshal(obj)
	return fmt.Sprintf("%x", sha256.Sum256(b))[:16]
}

// Apply implements localapi.Backend: the apply semantics of DESIGN §6.
// Each object remembers its source file and the hash of the applied spec;
// an unchanged object is left alone (so an object deleted by its TTL is not
// re-created until its file changes); a changed Job has its mutable fields
// updated in place or, for an immutable change, is replaced with a notice;
// a changed Pod is replaced.
func (d *Daemon) Apply(ctx context.Context, req localapi.ApplyRequest) (localapi.ApplyResponse, error) {
	d.applyMu.Lock()
	defer d.applyMu.Unlock()
	var resp localapi.ApplyResponse
	results, err := decodeApply(req.Files)
	if err != nil {
		return resp, err
	}
	for i, f := range req.Files {
		res := results[i]
		for _, w := range res.Warnings {
			resp.Warnings = append(resp.Warnings, w.Error())
		}
		for _, e := range res.Errors {
			resp.Errors = append(resp.Errors, e.Error())
		}
		for _, o := range res.Objects {
			apply := d.applyObject
			if req.Fresh {
				apply = d.runObject
			}
			r, err := apply(ctx, f.Name, o)
			if err != nil {
				resp.Errors = append(resp.Errors, fmt.Sprintf("%s:%d: %s/%s: %v", o.File, o.Line, strings.ToLower(o.Kind), o.Meta().Name, err))
				continue
			}
			resp.Results = append(resp.Results, r)
		}
	}
	return resp, nil
}

// decodeApply decodes the files of one apply, within the limits of
// DESIGN §9b: a *localapi.TooLargeError naming the file that crosses
// MaxApplyBytes or MaxApplyObjects refuses the whole apply before anything
// is applied. Documents are counted before they are parsed, objects (List
// items included) after.
func decodeApply(files []localapi.File) ([]manifest.Result, error) {
	if err := localapi.CheckApplySize(files); err != nil {
		return nil, err
	}
	tooMany := func(file string, n int) error {
		return &localapi.TooLargeError{Msg: fmt.Sprintf("%s: too many objects: one apply may carry at most %d objects, and the files hold %d with this one; apply them in parts",
			file, localapi.MaxApplyObjects, n)}
	}
	docs := 0
	for _, f := range files {
		if docs += manifest.Documents(f.Data); docs > localapi.MaxApplyObjects {
			return nil, tooMany(f.Name, docs)
		}
	}
	out := make([]manifest.Result, len(files))
	objs := 0
	for i, f := range files {
		out[i] = manifest.Decode(f.Name, f.Data)
		if objs += len(out[i].Objects); objs > localapi.MaxApplyObjects {
			return nil, tooMany(f.Name, objs)
		}
	}
	return out, nil
}

func (d *Daemon) applyObject(ctx context.Context, file string, o manifest.Object) (localapi.ApplyResult, error) {
	name, ns := o.Meta().Name, o.Meta().Namespace
	res := localapi.ApplyResult{Kind: o.Kind, Namespace: ns, Name: name}
	hash := specHash(o.Obj)
	prev := d.applied(ctx, o.Kind, ns, name)
	record := func(uid string) error {
		return d.DB.SaveApplied(ctx, &state.Applied{Kind: o.Kind, Namespace: ns, Name: name, File: file, Hash: hash, UID: uid})
	}
	switch v := o.Obj.(type) {
	case *manifest.Pod:
		if prev != nil && prev.Hash == hash {
			res.Action = "unchanged"
			return res, nil
		}
		if v.Spec.RestartPolicy == "" {
			v.Spec.RestartPolicy = manifest.RestartPolicyAlways
		}
		p, err := d.Controller.ApplyPod(ctx, v)
		if err != nil {
			return res, err
		}
		res.Action = "created"
		if prev != nil {
			res.Action = "replaced"
		}
		return res, record(p.UID)
	case *manifest.Job:
		if prev != nil && prev.Hash == hash {
			res.Action = "unchanged"
			if _, err := d.DB.Job(ctx, ns, name); errors.Is(err, runner.ErrObjectNotFound) {
				res.Notice = "deleted (TTL or history); edit its file to run it again"
			}
			return res, nil
		}
		cur, err := d.DB.Job(ctx, ns, name)
		if prev != nil && err == nil {
			if reason := immutableChange(cur, v); reason == "" {
				if err := d.Controller.UpdateJob(ctx, v); err != nil {
					return res, err
				}
				res.Action = "configured"
				return res, record(cur.UID)
			} else {
				res.Notice = fmt.Sprintf("%s changed, which a Job cannot change in place: the Job was replaced", reason)
			}
		}
		j, err := d.Controller.ApplyJob(ctx, v)
		if err != nil {
			return res, err
		}
		res.Action = "created"
		if res.Notice != "" {
			res.Action = "replaced"
		}
		return res, record(j.UID)
	case *manifest.CronJob:
		// Every CronJob field is mutable: a changed file updates it in
		// place. Its Jobs get no applied record (cronjobs.go).
		if prev != nil && prev.Hash == hash {
			res.Action = "unchanged"
			if _, err := d.DB.CronJob(ctx, ns, name); errors.Is(err, runner.ErrObjectNotFound) {
				res.Notice = "deleted; edit its file to create it again"
			}
			return res, nil
		}
		cj, created, err := d.cron.applyCronJob(ctx, v)
		if err != nil {
			return res, err
		}
		res.Action = "configured"
		if created {
			res.Action = "created"
		}
		return res, record(cj.UID)
	case *manifest.ConfigMap, *manifest.Secret:
		if prev != nil && prev.Hash == hash {
			res.Action = "unchanged"
			return res, nil
		}
		var err error
		if cm, ok := v.(*manifest.ConfigMap); ok {
			err = d.Controller.ApplyConfigMap(ctx, cm)
		} else {
			err = d.Controller.ApplySecret(ctx, v.(*manifest.Secret))
		}
		if err != nil {
			return res, err
		}
		res.Action = "created"
		if prev != nil {
			res.Action = "configured"
		}
		return res, record("")
	default:
		res.Action = "unchanged"
		res.Notice = fmt.Sprintf("%s is not run by this version of localjobs yet", o.Kind)
		return res, record("")
	}
}

func (d *Daemon) applied(ctx context.Context, kind, ns, name string) *state.Applied {
	a, err := d.DB.Applied(ctx, kind, ns, name)
	if err != nil {
		return nil
	}
	return a
}

// immutableChange names the first immutable part of a Job spec that
// differs between the running Job and the new one, or "" if only mutable
// fields (parallelism, suspend, activeDeadlineSeconds, ttl, labels,
// annotations) changed.
func immutableChange(cur, next *manifest.Job) string {
	a, b := cur.Spec, next.Spec
	// The running Job carries the generated selector and labels; compare
	// the template as the user wrote it.
	strip := func(s *manifest.JobSpec) {
		s.Parallelism, s.Suspend, s.ActiveDeadlineSeconds, s.TTLSecondsAfterFinished = nil, nil, nil, nil
		s.Selector = nil
		s.Template.Labels = nil
	}
	strip(&a)
	strip(&b)
	if specHash(a.Template) != specHash(b.Template) {
		return "spec.template"
	}
	if specHash(a) != specHash(b) {
		return "spec"
	}
	return ""
}

// Logs implements localapi.Backend.
func (d *Daemon) Logs(ctx context.Context, w io.Writer, req localapi.LogRequest) error {
	rec, err := d.DB.Pod(ctx, req.Namespace, req.Pod)
	if err != nil {
		return err
	}
	cr, err := pickContainer(rec, req.Container)
	if err != nil {
		return err
	}
	run := cr.Current
	if req.Previous {
		run = cr.Last
		if run == nil {
			return &localapi.BadRequestError{Msg: fmt.Sprintf("previous terminated container %q in pod %q not found", cr.Name, req.Pod)}
		}
	}
	if run == nil {
		return &localapi.BadRequestError{Msg: fmt.Sprintf("container %q in pod %q is waiting to start", cr.Name, req.Pod)}
	}
	path := d.DB.LogPath(rec.Pod.Namespace, rec.Pod.Name, rec.Pod.UID, cr.Name, run.Restart)
	opts := state.ReadOptions{Timestamps: req.Timestamps, Tail: req.TailLines}
	if req.SinceSeconds > 0 {
		opts.Since = time.Now().Add(-time.Duration(req.SinceSeconds) * time.Second)
	}
	if !req.Follow {
		if err := state.ReadLog(path, w, opts); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	// Follow: print what is there, then poll for newer lines until the
	// instance has exited; one last pass after the exit picks up the end.
	var last time.Time
	first, final := true, false
	for {
		var buf bytes.Buffer
		o := opts
		o.Timestamps = true
		if !first {
			o.Tail = -1
		}
		first = false
		if err := state.ReadLog(path, &buf, o); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		sc := bufio.NewScanner(&buf)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			tsText, text, _ := strings.Cut(line, " ")
			ts, err := time.Parse(time.RFC3339Nano, tsText)
			if err != nil || !ts.After(last) {
				continue
			}
			last = ts
			if req.Timestamps {
				text = line
			}
			if _, err := fmt.Fprintln(w, text); err != nil {
				return err
			}
		}
		if final {
			return nil
		}
		r, err := d.DB.Pod(ctx, req.Namespace, req.Pod)
		if err != nil {
			return nil
		}
		c2, _ := pickContainer(r, cr.Name)
		final = c2 == nil || c2.Current == nil || c2.Current.Restart != run.Restart || c2.Current.Step == runner.StepExited
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func pickContainer(rec *runner.PodRecord, name string) (*runner.ContainerRecord, error) {
	if name == "" {
		var apps []*runner.ContainerRecord
		for _, c := range rec.Containers {
			if !c.Init {
				apps = append(apps, c)
			}
		}
		if len(apps) >= 1 {
			def := rec.Pod.Annotations["kubectl.kubernetes.io/default-container"]
			for _, c := range apps {
				if c.Name == def {
					return c, nil
				}
			}
			return apps[0], nil
		}
	}
	for _, c := range rec.Containers {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, &localapi.BadRequestError{Msg: fmt.Sprintf("container %s is not valid for pod %s", name, rec.Pod.Name)}
}

// runObject applies one object for `run -f` through the daemon: a Pod or
// Job is a fresh run (replacing one of the same name), not recorded as
// applied desired state; ConfigMaps and Secrets apply as usual.
func (d *Daemon) runObject(ctx context.Context, file string, o manifest.Object) (localapi.ApplyResult, error) {
	res := localapi.ApplyResult{Kind: o.Kind, Namespace: o.Meta().Namespace, Name: o.Meta().Name, Action: "created"}
	switch v := o.Obj.(type) {
	case *manifest.Pod:
		p, err := d.Controller.ApplyPod(ctx, v)
		if err != nil {
			return res, err
		}
		res.Name = p.Name
		return res, nil
	case *manifest.Job:
		j, err := d.Controller.ApplyJob(ctx, v)
		if err != nil {
			return res, err
		}
		res.Name = j.Name
		return res, nil
	case *manifest.CronJob:
		return res, errors.New("run only runs Pods and Jobs; a CronJob runs under up")
	}
	return d.applyObject(ctx, file, o)
}

// TerminatePod implements localapi.RunBackend.
func (d *Daemon) TerminatePod(ctx context.Context, ns, name string, kill bool) error {
	if !kill {
		if _, err := d.DB.Pod(ctx, ns, name); err != nil {
			return err
		}
		d.Controller.TerminatePod(ns, name, "", "")
		return nil
	}
	return d.Controller.KillPod(ctx, ns, name)
}
