package apply

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// DefaultSettle is how long an up file must stay gone before what it
// applied is pruned: longer than an editor's save by rename or a git
// checkout takes, short enough that removing a file feels immediate.
const DefaultSettle = 3 * time.Second

// Applier applies manifests to a Target and keeps their Records. Fill the
// exported fields; it is safe for concurrent use (one apply at a time).
type Applier struct {
	Target  Target
	Records Records
	// Settle is how long an up file must be gone before its objects are
	// pruned (0 = DefaultSettle).
	Settle time.Duration
	// Now is the clock (nil = time.Now); Exists tells whether a source
	// file exists (nil = os.Stat).
	Now    func() time.Time
	Exists func(path string) (bool, error)

	mu   sync.Mutex
	gone map[string]time.Time // up source file → when it was first seen missing
}

func (a *Applier) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *Applier) exists(path string) (bool, error) {
	if a.Exists != nil {
		return a.Exists(path)
	}
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, err
}

func (a *Applier) settle() time.Duration {
	if a.Settle <= 0 {
		return DefaultSettle
	}
	return a.Settle
}

// Apply decodes the request's files and applies every object; one bad
// object or file does not stop the others. With Sync it then prunes.
func (a *Applier) Apply(ctx context.Context, req Request) (Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var resp Response
	if err := checkDocuments(req.Files); err != nil {
		return resp, err
	}
	var objs []decoded
	for _, f := range req.Files {
		res := manifest.DecodeIn(f.Name, f.Data, req.Namespace)
		for _, w := range res.Warnings {
			resp.Warnings = append(resp.Warnings, w.Error())
		}
		for _, e := range res.Errors {
			resp.Errors = append(resp.Errors, e.Error())
		}
		for _, o := range res.Objects {
			if req.Fresh && o.Kind == manifest.KindCronJob {
				// run -f runs Pods and Jobs; its client says that it
				// skips the CronJob (up runs it).
				continue
			}
			objs = append(objs, decoded{file: f, obj: o})
		}
		if len(objs) > MaxObjects { // List items count too
			return Response{}, tooMany(f.Name, len(objs))
		}
	}
	if req.Fresh {
		// Admit everything before anything runs.
		bad := false
		for _, d := range objs {
			if err := a.admit(d.obj); err != nil {
				resp.Errors = append(resp.Errors, d.fail(err, " (nothing was run)"))
				bad = true
			}
		}
		if bad {
			return resp, nil
		}
	}
	source := req.Source
	if source == "" {
		source = SourceApply
	}
	for _, d := range objs {
		var r Result
		var err error
		if req.Fresh {
			r, err = a.run(ctx, d)
		} else {
			r, err = a.applyObject(ctx, d, source)
		}
		if err != nil {
			resp.Errors = append(resp.Errors, d.fail(err, ""))
			if !req.Fresh && a.admit(d.obj) == nil && !slices.Contains(resp.Retry, d.file.Name) {
				resp.Retry = append(resp.Retry, d.file.Name) // admitted: not its content
			}
			continue
		}
		r.File = d.file.Name
		resp.Results = append(resp.Results, r)
	}
	if req.Sync {
		if err := a.sync(ctx, req.Roots, &resp); err != nil {
			return resp, err
		}
	}
	return resp, nil
}

// decoded is one object and the file it came from.
type decoded struct {
	file File
	obj  manifest.Object
}

func (d decoded) fail(err error, suffix string) string {
	return fmt.Sprintf("%s:%d: %s/%s: %v%s", d.obj.File, d.obj.Line, strings.ToLower(d.obj.Kind), d.obj.Meta().Name, err, suffix)
}

// admit checks what a fresh run would refuse.
func (a *Applier) admit(o manifest.Object) error {
	switch v := o.Obj.(type) {
	case *manifest.Pod:
		return a.Target.CheckPodSpec(&v.ObjectMeta, &v.Spec)
	case *manifest.Job:
		return a.Target.CheckPodSpec(&v.Spec.Template.ObjectMeta, &v.Spec.Template.Spec)
	}
	return nil
}

// run applies one object of `run -f`: a Pod or Job is a fresh run with no
// record; ConfigMaps and Secrets apply as usual.
func (a *Applier) run(ctx context.Context, d decoded) (Result, error) {
	o := d.obj
	res := Result{Kind: o.Kind, Namespace: o.Meta().Namespace, Name: o.Meta().Name, Action: Created}
	switch v := o.Obj.(type) {
	case *manifest.Pod:
		p, err := a.Target.ApplyPod(ctx, v)
		if err != nil {
			return res, err
		}
		res.Name, res.UID = p.Name, p.UID
		return res, nil
	case *manifest.Job:
		j, err := a.Target.ApplyJob(ctx, v)
		if err != nil {
			return res, err
		}
		res.Name, res.UID = j.Name, j.UID
		return res, nil
	}
	return a.applyObject(ctx, d, SourceApply)
}

// Hash is the hash of an object as applied (after defaults), which decides
// whether a file change changed it.
func Hash(obj any) string {
	b, _ := json.Marshal(obj)
	return fmt.Sprintf("%x", sha256.Sum256(b))[:16]
}

func (a *Applier) applyObject(ctx context.Context, d decoded, source string) (Result, error) {
	o := d.obj
	name, ns := o.Meta().Name, o.Meta().Namespace
	res := Result{Kind: o.Kind, Namespace: ns, Name: name}
	hash := Hash(o.Obj)
	prev, err := a.Records.Applied(ctx, o.Kind, ns, name)
	if err != nil && !errors.Is(err, runner.ErrObjectNotFound) {
		return res, err // never act on a failed read
	}
	unchanged := prev != nil && prev.Hash == hash
	record := func(res Result, uid string) (Result, error) {
		res.UID = uid
		r := &Record{Kind: o.Kind, Namespace: ns, Name: name, Source: source, File: d.file.Path, Hash: hash, UID: uid}
		if unchanged && source == SourceApply && prev.Source == SourceUp && prev.File == d.file.Path {
			r.Source = SourceUp // apply -f of a file up watches: up still owns it
		}
		return res, a.Records.SaveApplied(ctx, r)
	}
	if unchanged {
		res.Action, res.UID = Unchanged, prev.UID
		notice, err := a.tombstone(ctx, o)
		if err != nil {
			return res, err
		}
		res.Notice = notice
		if prev.Source != source || prev.File != d.file.Path {
			return record(res, prev.UID)
		}
		return res, nil
	}
	switch v := o.Obj.(type) {
	case *manifest.Pod:
		if v.Spec.RestartPolicy == "" {
			v.Spec.RestartPolicy = manifest.RestartPolicyAlways
		}
		p, err := a.Target.ApplyPod(ctx, v)
		if err != nil {
			return res, err
		}
		res.Action = Created
		if prev != nil {
			res.Action = Replaced
		}
		return record(res, p.UID)
	case *manifest.Job:
		return a.applyJob(ctx, v, prev, res, record)
	case *manifest.CronJob:
		// Every CronJob field is mutable: a changed file updates it in
		// place. Its Jobs get no record.
		uid, created, err := a.Target.ApplyCronJob(ctx, v)
		if err != nil {
			return res, err
		}
		res.Action = Configured
		if created {
			res.Action = Created
		}
		return record(res, uid)
	case *manifest.ConfigMap:
		if err := a.Target.ApplyConfigMap(ctx, v); err != nil {
			return res, err
		}
	case *manifest.Secret:
		if err := a.Target.ApplySecret(ctx, v); err != nil {
			return res, err
		}
	default:
		res.Action = Unchanged
		res.Notice = fmt.Sprintf("%s is not run by this version of localjobs", o.Kind)
		return record(res, "")
	}
	res.Action = Created
	if prev != nil {
		res.Action = Configured
	}
	return record(res, "")
}

// tombstone explains an unchanged object that no longer exists: its TTL
// or its CronJob's history limit deleted it, and the record keeps it
// deleted until its file changes.
func (a *Applier) tombstone(ctx context.Context, o manifest.Object) (string, error) {
	var err error
	switch o.Obj.(type) {
	case *manifest.Job:
		_, err = a.Target.Job(ctx, o.Meta().Namespace, o.Meta().Name)
		if errors.Is(err, runner.ErrObjectNotFound) {
			return "deleted (TTL or history); edit its file to run it again", nil
		}
	case *manifest.CronJob:
		_, err = a.Target.CronJob(ctx, o.Meta().Namespace, o.Meta().Name)
		if errors.Is(err, runner.ErrObjectNotFound) {
			return "deleted; edit its file to create it again", nil
		}
	}
	return "", err
}

func (a *Applier) applyJob(ctx context.Context, v *manifest.Job, prev *Record, res Result, record func(Result, string) (Result, error)) (Result, error) {
	cur, err := a.Target.Job(ctx, v.Namespace, v.Name)
	if err != nil && !errors.Is(err, runner.ErrObjectNotFound) {
		return res, err
	}
	if prev != nil && cur != nil {
		reason := immutableChange(cur, v)
		if reason == "" {
			if err := a.Target.UpdateJob(ctx, v); err != nil {
				return res, err
			}
			res.Action = Configured
			return record(res, cur.UID)
		}
		res.Notice = fmt.Sprintf("%s changed, which a Job cannot change in place: the Job was replaced", reason)
	}
	j, err := a.Target.ApplyJob(ctx, v)
	if err != nil {
		return res, err
	}
	res.Action = Created
	if res.Notice != "" {
		res.Action = Replaced
	}
	return record(res, j.UID)
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
	if Hash(a.Template) != Hash(b.Template) {
		return "spec.template"
	}
	if Hash(a) != Hash(b) {
		return "spec"
	}
	return ""
}

// Delete is a user's delete (kubectl delete): it deletes the object and
// its record, so the next apply of the same file creates it anew. grace
// applies to pods (nil = the pod's own period).
func (a *Applier) Delete(ctx context.Context, kind, ns, name string, grace *time.Duration) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.delete(ctx, kind, ns, name, grace)
}

func (a *Applier) delete(ctx context.Context, kind, ns, name string, grace *time.Duration) error {
	var err error
	switch kind {
	case manifest.KindPod:
		err = a.Target.DeletePod(ctx, ns, name, grace)
	case manifest.KindJob:
		err = a.Target.DeleteJob(ctx, ns, name)
	case manifest.KindCronJob:
		err = a.Target.DeleteCronJob(ctx, ns, name)
	default:
		return fmt.Errorf("delete %s: not a kind localjobs deletes", kind)
	}
	notFound := errors.Is(err, runner.ErrObjectNotFound)
	if err != nil && !notFound {
		return err
	}
	// A record without its object (a tombstone) is forgotten too: the
	// user asked for the object to be gone, and the next apply creates it.
	if derr := a.Records.DeleteApplied(ctx, kind, ns, name); derr != nil && !errors.Is(derr, runner.ErrObjectNotFound) {
		return derr
	}
	return err
}

// sync prunes what up applied from files gone for the settle time, and
// lists the objects whose source is not below roots.
func (a *Applier) sync(ctx context.Context, roots []string, resp *Response) error {
	recs, err := a.Records.AppliedObjects(ctx)
	if err != nil {
		return fmt.Errorf("list applied objects: %w", err)
	}
	if a.gone == nil {
		a.gone = map[string]time.Time{}
	}
	now := a.now()
	missing := map[string]bool{}
	for _, r := range recs {
		if !below(r.File, roots) {
			resp.Elsewhere = append(resp.Elsewhere, *r)
		}
		if r.Source != SourceUp || !filepath.IsAbs(r.File) {
			continue
		}
		if _, seen := missing[r.File]; !seen {
			ok, err := a.exists(r.File)
			if err != nil {
				continue // cannot tell: never prune on a failed look
			}
			missing[r.File] = !ok
		}
		if !missing[r.File] {
			delete(a.gone, r.File)
			continue
		}
		since, ok := a.gone[r.File]
		if !ok {
			a.gone[r.File] = now
			continue
		}
		if now.Sub(since) < a.settle() {
			continue
		}
		if err := a.delete(ctx, r.Kind, r.Namespace, r.Name, nil); err != nil && !errors.Is(err, runner.ErrObjectNotFound) {
			resp.Errors = append(resp.Errors, fmt.Sprintf("pruning %s/%s: %v", strings.ToLower(r.Kind), r.Name, err))
			continue
		}
		resp.Results = append(resp.Results, Result{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Action: Pruned, File: r.File})
	}
	for f := range a.gone {
		if _, ok := missing[f]; !ok {
			delete(a.gone, f) // no record refers to it any more
		}
	}
	slices.SortFunc(resp.Elsewhere, func(x, y Record) int { return strings.Compare(x.File+x.Kind+x.Name, y.File+y.Kind+y.Name) })
	return nil
}

// below reports whether path is one of roots or inside one of them.
func below(path string, roots []string) bool {
	for _, r := range roots {
		if rel, err := filepath.Rel(r, path); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}
