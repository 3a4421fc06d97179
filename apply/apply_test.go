package apply_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localjobs/localjobs/apply"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// fakeTarget is an in-memory Target: every ApplyPod/ApplyJob is a new run
// with a new UID.
type fakeTarget struct {
	mu       sync.Mutex
	seq      int
	pods     map[string]*manifest.Pod
	jobs     map[string]*manifest.Job
	cronJobs map[string]*manifest.CronJob
	config   map[string]bool
	refuse   string // CheckPodSpec refuses images named so
	runs     []string
}

func newTarget() *fakeTarget {
	return &fakeTarget{pods: map[string]*manifest.Pod{}, jobs: map[string]*manifest.Job{}, cronJobs: map[string]*manifest.CronJob{}, config: map[string]bool{}}
}

func (f *fakeTarget) uid() string { f.seq++; return fmt.Sprintf("uid-%d", f.seq) }

func notFound(kind, ns, name string) error {
	return fmt.Errorf("%s %s/%s: %w", kind, ns, name, runner.ErrObjectNotFound)
}

func (f *fakeTarget) CheckPodSpec(_ *manifest.ObjectMeta, spec *manifest.PodSpec) error {
	for _, c := range spec.Containers {
		if f.refuse != "" && c.Image == f.refuse {
			return fmt.Errorf("image %s: Forbidden", c.Image)
		}
	}
	return nil
}

func (f *fakeTarget) ApplyPod(_ context.Context, p *manifest.Pod) (*manifest.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *p
	c.UID = f.uid()
	f.pods[p.Namespace+"/"+p.Name] = &c
	f.runs = append(f.runs, "pod/"+p.Name+"="+c.UID)
	return &c, nil
}

func (f *fakeTarget) ApplyJob(_ context.Context, j *manifest.Job) (*manifest.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *j
	c.UID = f.uid()
	f.jobs[j.Namespace+"/"+j.Name] = &c
	f.runs = append(f.runs, "job/"+j.Name+"="+c.UID)
	return &c, nil
}

func (f *fakeTarget) UpdateJob(_ context.Context, j *manifest.Job) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.jobs[j.Namespace+"/"+j.Name]
	if !ok {
		return notFound("job", j.Namespace, j.Name)
	}
	cur.Spec.Parallelism = j.Spec.Parallelism
	cur.Spec.Suspend = j.Spec.Suspend
	return nil
}

func (f *fakeTarget) Job(_ context.Context, ns, name string) (*manifest.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j, ok := f.jobs[ns+"/"+name]; ok {
		c := *j
		return &c, nil
	}
	return nil, notFound("job", ns, name)
}

func (f *fakeTarget) ApplyCronJob(_ context.Context, cj *manifest.CronJob) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := cj.Namespace + "/" + cj.Name
	if cur, ok := f.cronJobs[k]; ok {
		c := *cj
		c.UID = cur.UID
		f.cronJobs[k] = &c
		return c.UID, false, nil
	}
	c := *cj
	c.UID = f.uid()
	f.cronJobs[k] = &c
	return c.UID, true, nil
}

func (f *fakeTarget) CronJob(_ context.Context, ns, name string) (*manifest.CronJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cj, ok := f.cronJobs[ns+"/"+name]; ok {
		return cj, nil
	}
	return nil, notFound("cronjob", ns, name)
}

func (f *fakeTarget) ApplyConfigMap(_ context.Context, cm *manifest.ConfigMap) error {
	f.config["configmap/"+cm.Name] = true
	return nil
}

func (f *fakeTarget) ApplySecret(_ context.Context, s *manifest.Secret) error {
	f.config["secret/"+s.Name] = true
	return nil
}

func (f *fakeTarget) DeletePod(_ context.Context, ns, name string, _ *time.Duration) error {
	return deleteFrom(&f.mu, f.pods, "pod", ns, name)
}

func (f *fakeTarget) DeleteJob(_ context.Context, ns, name string) error {
	return deleteFrom(&f.mu, f.jobs, "job", ns, name)
}

func (f *fakeTarget) DeleteCronJob(_ context.Context, ns, name string) error {
	return deleteFrom(&f.mu, f.cronJobs, "cronjob", ns, name)
}

// deleteFrom deletes ns/name from one of the fake's maps (under mu), or
// returns kind's NotFound.
func deleteFrom[T any](mu *sync.Mutex, m map[string]T, kind, ns, name string) error {
	mu.Lock()
	defer mu.Unlock()
	if _, ok := m[ns+"/"+name]; !ok {
		return notFound(kind, ns, name)
	}
	delete(m, ns+"/"+name)
	return nil
}

// memRecords is an in-memory Records.
type memRecords struct {
	mu   sync.Mutex
	recs map[string]apply.Record
	fail error // every call fails with it when set
}

func newRecords() *memRecords { return &memRecords{recs: map[string]apply.Record{}} }

func (m *memRecords) Applied(_ context.Context, kind, ns, name string) (*apply.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	r, ok := m.recs[kind+"/"+ns+"/"+name]
	if !ok {
		return nil, notFound("applied "+kind, ns, name)
	}
	return &r, nil
}

func (m *memRecords) SaveApplied(_ context.Context, r *apply.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.recs[r.Kind+"/"+r.Namespace+"/"+r.Name] = *r
	return nil
}

func (m *memRecords) DeleteApplied(_ context.Context, kind, ns, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	delete(m.recs, kind+"/"+ns+"/"+name)
	return nil
}

func (m *memRecords) AppliedObjects(context.Context) ([]*apply.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	var out []*apply.Record
	for _, k := range slices.Sorted(maps.Keys(m.recs)) {
		r := m.recs[k]
		out = append(out, &r)
	}
	return out, nil
}

// world is an Applier over the fakes, with a fake clock and file system.
type world struct {
	t       *testing.T
	a       *apply.Applier
	target  *fakeTarget
	records *memRecords
	now     time.Time
	files   map[string]string // absolute path → content
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, target: newTarget(), records: newRecords(), now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), files: map[string]string{}}
	w.a = &apply.Applier{Target: w.target, Records: w.records, Settle: 3 * time.Second,
		Now:    func() time.Time { return w.now },
		Exists: func(p string) (bool, error) { _, ok := w.files[p]; return ok, nil }}
	return w
}

// up is one scan of up over roots: every file below them is sent, then
// the objects of vanished files are pruned after the settle time.
func (w *world) up(roots ...string) apply.Response {
	w.t.Helper()
	var fs []apply.File
	for _, p := range slices.Sorted(maps.Keys(w.files)) {
		for _, r := range roots {
			if strings.HasPrefix(p, r+"/") {
				fs = append(fs, apply.File{Name: p, Path: p, Data: []byte(w.files[p])})
			}
		}
	}
	resp, err := w.a.Apply(context.Background(), apply.Request{Files: fs, Source: apply.SourceUp, Sync: true, Roots: roots})
	if err != nil {
		w.t.Fatalf("apply: %v", err)
	}
	return resp
}

func (w *world) applyFile(path string) apply.Response {
	w.t.Helper()
	resp, err := w.a.Apply(context.Background(), apply.Request{Files: []apply.File{{Name: path, Path: path, Data: []byte(w.files[path])}}})
	if err != nil {
		w.t.Fatalf("apply: %v", err)
	}
	return resp
}

func actions(resp apply.Response) []string {
	var out []string
	for _, r := range resp.Results {
		out = append(out, strings.ToLower(r.Kind)+"/"+r.Name+" "+r.Action)
	}
	out = append(out, resp.Errors...)
	return out
}

func jobYAML(name string, parallelism int, image string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
  parallelism: %d
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: %s
`, name, parallelism, image)
}

const podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: task
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
`

const cronYAML = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: busybox
`

func TestApplyActions(t *testing.T) {
	w := newWorld(t)
	w.files["/s/job.yaml"] = jobYAML("work", 1, "busybox")
	if got := actions(w.up("/s")); !slices.Equal(got, []string{"job/work created"}) {
		t.Fatalf("first up: %v", got)
	}
	uid := w.target.jobs["default/work"].UID
	if got := actions(w.up("/s")); !slices.Equal(got, []string{"job/work unchanged"}) {
		t.Errorf("unchanged file: %v", got)
	}
	w.files["/s/job.yaml"] = jobYAML("work", 3, "busybox")
	if got := actions(w.up("/s")); !slices.Equal(got, []string{"job/work configured"}) {
		t.Errorf("parallelism edit: %v", got)
	}
	if j := w.target.jobs["default/work"]; j.UID != uid || *j.Spec.Parallelism != 3 {
		t.Errorf("after the parallelism edit: uid %s parallelism %d, want %s and 3 in place", j.UID, *j.Spec.Parallelism, uid)
	}
	w.files["/s/job.yaml"] = jobYAML("work", 3, "alpine")
	resp := w.up("/s")
	if got := actions(resp); !slices.Equal(got, []string{"job/work replaced"}) || !strings.Contains(resp.Results[0].Notice, "spec.template") {
		t.Errorf("image edit: %v %q", got, resp.Results[0].Notice)
	}
	if w.target.jobs["default/work"].UID == uid {
		t.Error("an immutable change must replace the Job")
	}
}

// TestRenameAwayAndBack: a file that disappears for less than the settle
// time (a save by rename, a git checkout) prunes nothing, and the Job keeps
// its UID; gone for longer, its objects are pruned.
func TestRenameAwayAndBack(t *testing.T) {
	w := newWorld(t)
	w.files["/s/job.yaml"] = jobYAML("work", 1, "busybox")
	w.up("/s")
	uid := w.target.jobs["default/work"].UID
	content := w.files["/s/job.yaml"]
	delete(w.files, "/s/job.yaml")
	for range 5 { // 2.5 s of scans every 500 ms with the file gone
		if got := actions(w.up("/s")); len(got) != 0 {
			t.Fatalf("file gone %v: %v, want nothing yet", w.now.Sub(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)), got)
		}
		w.now = w.now.Add(500 * time.Millisecond)
	}
	w.files["/s/job.yaml"] = content
	if got := actions(w.up("/s")); !slices.Equal(got, []string{"job/work unchanged"}) {
		t.Errorf("back: %v", got)
	}
	if j, ok := w.target.jobs["default/work"]; !ok || j.UID != uid {
		t.Fatalf("after the rename and back: job %+v, want uid %s kept", j, uid)
	}
	// Gone for good: pruned once the settle time has passed.
	delete(w.files, "/s/job.yaml")
	w.now = w.now.Add(time.Second)
	w.up("/s")
	w.now = w.now.Add(2999 * time.Millisecond)
	if got := actions(w.up("/s")); len(got) != 0 {
		t.Fatalf("2.999 s after removal: %v", got)
	}
	w.now = w.now.Add(time.Millisecond)
	if got := actions(w.up("/s")); !slices.Equal(got, []string{"job/work pruned"}) {
		t.Fatalf("3 s after removal: %v, want pruned", got)
	}
	if _, ok := w.target.jobs["default/work"]; ok {
		t.Error("pruned job still exists")
	}
	if _, ok := w.records.recs["Job/default/work"]; ok {
		t.Error("pruned job's record is still there")
	}
}

// TestDeleteThenApply: kubectl users re-run a Job (and the seed article a
// Pod) by deleting it and applying the same file: that creates it anew.
func TestDeleteThenApply(t *testing.T) {
	w := newWorld(t)
	w.files["/s/job.yaml"] = jobYAML("work", 1, "busybox")
	w.files["/s/pod.yaml"] = podYAML
	for _, f := range []string{"/s/job.yaml", "/s/pod.yaml"} {
		if got := actions(w.applyFile(f)); len(got) != 1 || !strings.HasSuffix(got[0], " created") {
			t.Fatalf("apply %s: %v", f, got)
		}
	}
	ctx := context.Background()
	for _, k := range []struct{ kind, name, file string }{{manifest.KindJob, "work", "/s/job.yaml"}, {manifest.KindPod, "task", "/s/pod.yaml"}} {
		runs := len(w.target.runs)
		if err := w.a.Delete(ctx, k.kind, "default", k.name, nil); err != nil {
			t.Fatal(err)
		}
		if got := actions(w.applyFile(k.file)); !slices.Equal(got, []string{strings.ToLower(k.kind) + "/" + k.name + " created"}) {
			t.Errorf("delete %s then apply: %v, want created", k.name, got)
		}
		if len(w.target.runs) != runs+1 {
			t.Errorf("delete %s then apply: runs %v, want one new run", k.name, w.target.runs[runs:])
		}
	}
	// Deleting what does not exist says so, and forgets a tombstone.
	if err := w.a.Delete(ctx, manifest.KindJob, "default", "nope", nil); err == nil {
		t.Error("deleting a missing job: no error")
	}
}

// TestTTLDeletionStaysDeleted: a Job deleted by its TTL (or a CronJob
// history limit) is not run again by an unchanged file, nor by a restart;
// an edit of its file runs it again.
func TestTTLDeletionStaysDeleted(t *testing.T) {
	w := newWorld(t)
	w.files["/s/job.yaml"] = jobYAML("work", 1, "busybox")
	w.up("/s")
	delete(w.target.jobs, "default/work") // the controller's TTL deletion
	resp := w.up("/s")
	if got := actions(resp); !slices.Equal(got, []string{"job/work unchanged"}) || !strings.Contains(resp.Results[0].Notice, "TTL") {
		t.Fatalf("after TTL deletion: %v %q", got, resp.Results[0].Notice)
	}
	// A restarted daemon: a new Applier over the same records.
	w.a = &apply.Applier{Target: w.target, Records: w.records, Now: w.a.Now, Exists: w.a.Exists}
	if got := actions(w.up("/s")); !slices.Equal(got, []string{"job/work unchanged"}) {
		t.Fatalf("after a restart: %v", got)
	}
	if _, ok := w.target.jobs["default/work"]; ok {
		t.Fatal("the TTL-deleted job ran again")
	}
	w.files["/s/job.yaml"] = jobYAML("work", 2, "busybox")
	if got := actions(w.up("/s")); !slices.Equal(got, []string{"job/work created"}) {
		t.Errorf("after an edit: %v, want created", got)
	}
}

// TestUpOfAnotherFolder: `up A` on a state dir that `up B` used announces
// B's objects, and prunes them once B's files are gone; apply -f objects
// are announced but never pruned.
func TestUpOfAnotherFolder(t *testing.T) {
	w := newWorld(t)
	w.files["/b/cron.yaml"] = cronYAML
	w.files["/other/pod.yaml"] = podYAML
	w.up("/b")
	w.applyFile("/other/pod.yaml")
	w.files["/a/job.yaml"] = jobYAML("work", 1, "busybox")
	resp := w.up("/a")
	var elsewhere []string
	for _, r := range resp.Elsewhere {
		elsewhere = append(elsewhere, r.Kind+"/"+r.Name+" from "+r.File+" ("+r.Source+")")
	}
	want := []string{"CronJob/tick from /b/cron.yaml (up)", "Pod/task from /other/pod.yaml (apply)"}
	if !slices.Equal(elsewhere, want) {
		t.Fatalf("elsewhere %v, want %v", elsewhere, want)
	}
	delete(w.files, "/b/cron.yaml")
	delete(w.files, "/other/pod.yaml")
	w.up("/a")
	w.now = w.now.Add(3 * time.Second)
	if got := actions(w.up("/a")); !slices.Equal(got, []string{"job/work unchanged", "cronjob/tick pruned"}) {
		t.Fatalf("B's file gone for the settle time: %v", got)
	}
	if _, ok := w.target.cronJobs["default/tick"]; ok {
		t.Error("B's CronJob still runs")
	}
	if _, ok := w.target.pods["default/task"]; !ok {
		t.Error("an apply -f object was pruned with its file; kubectl keeps it")
	}
}

// TestRunIsFreshAndAllOrNothing: run -f makes every Pod and Job a fresh
// run without a record, and a refused object leaves nothing behind.
func TestRunIsFreshAndAllOrNothing(t *testing.T) {
	w := newWorld(t)
	run := func(files ...string) apply.Response {
		var fs []apply.File
		for _, f := range files {
			fs = append(fs, apply.File{Name: f, Path: f, Data: []byte(w.files[f])})
		}
		resp, err := w.a.Apply(context.Background(), apply.Request{Files: fs, Fresh: true})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	w.files["/r/job.yaml"] = jobYAML("work", 1, "busybox")
	w.files["/r/bad.yaml"] = jobYAML("evil", 1, "privileged-image")
	w.target.refuse = "privileged-image"
	resp := run("/r/job.yaml", "/r/bad.yaml")
	if len(w.target.runs) != 0 || len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0], "/r/bad.yaml:1: job/evil: image privileged-image: Forbidden (nothing was run)") {
		t.Fatalf("refused run: runs %v errors %q", w.target.runs, resp.Errors)
	}
	run("/r/job.yaml")
	run("/r/job.yaml")
	if len(w.target.runs) != 2 || w.target.runs[0] == w.target.runs[1] {
		t.Errorf("two runs of the same file: %v, want two fresh runs", w.target.runs)
	}
	if len(w.records.recs) != 0 {
		t.Errorf("run left records %v", w.records.recs)
	}
}

// TestFailedRecordReadActsOnNothing: a record that cannot be read is not a
// missing record: nothing is created or pruned.
func TestFailedRecordReadActsOnNothing(t *testing.T) {
	w := newWorld(t)
	w.files["/s/job.yaml"] = jobYAML("work", 1, "busybox")
	w.up("/s")
	w.records.fail = fmt.Errorf("disk on fire")
	w.files["/s/job.yaml"] = jobYAML("work", 1, "alpine")
	delete(w.files, "/s/other.yaml")
	resp, err := w.a.Apply(context.Background(), apply.Request{Files: []apply.File{{Name: "/s/job.yaml", Path: "/s/job.yaml", Data: []byte(w.files["/s/job.yaml"])}}, Source: apply.SourceUp, Sync: true, Roots: []string{"/s"}})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("sync with failing records: err %v", err)
	}
	if len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0], "disk on fire") {
		t.Errorf("errors %q, want the record failure", resp.Errors)
	}
	if len(w.target.runs) != 1 {
		t.Errorf("runs %v: acted on a failed read", w.target.runs)
	}
}

// TestRetryNamesFilesThatFailedForNoFaultOfTheirs: an object that failed
// for a reason other than its content (here a failed record read) names its
// file in Retry, so up applies it again; one refused for its content
// (Pod Security) does not, nor does a file that applied.
func TestRetryNamesFilesThatFailedForNoFaultOfTheirs(t *testing.T) {
	w := newWorld(t)
	w.target.refuse = "evil"
	w.records.fail = fmt.Errorf("no space left on device")
	file := func(name, yaml string) apply.File {
		return apply.File{Name: name, Path: name, Data: []byte(yaml)}
	}
	resp, _ := w.a.Apply(context.Background(), apply.Request{Source: apply.SourceUp, Files: []apply.File{
		file("/s/ok.yaml", jobYAML("ok", 1, "busybox")),
		file("/s/evil.yaml", jobYAML("evil", 1, "evil")),
	}})
	if len(resp.Errors) != 2 {
		t.Fatalf("errors %q, want both objects' failures", resp.Errors)
	}
	if !slices.Equal(resp.Retry, []string{"/s/ok.yaml"}) {
		t.Errorf("retry %q, want only the admitted file /s/ok.yaml", resp.Retry)
	}
	w.records.fail = nil
	resp, _ = w.a.Apply(context.Background(), apply.Request{Source: apply.SourceUp, Files: []apply.File{file("/s/ok.yaml", jobYAML("ok", 1, "busybox"))}})
	if len(resp.Errors) != 0 || len(resp.Retry) != 0 {
		t.Errorf("once the store works: errors %q retry %q, want none", resp.Errors, resp.Retry)
	}
}
