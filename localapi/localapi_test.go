package localapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localjobs/localjobs/apply"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// fakeReader serves one pod and one job; lookups of anything else are
// NotFound, and fail makes every call fail.
type fakeReader struct {
	fail error
}

var _ localapi.Reader = fakeReader{}

func rec(name string) *runner.PodRecord {
	return &runner.PodRecord{Pod: manifest.Pod{
		TypeMeta:   manifest.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: manifest.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + name},
	}}
}

func (f fakeReader) Pods(context.Context, string) ([]*runner.PodRecord, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	return []*runner.PodRecord{rec("a")}, nil
}

func (f fakeReader) Pod(_ context.Context, ns, name string) (*runner.PodRecord, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	if name != "a" {
		return nil, fmt.Errorf("pod %s/%s: %w", ns, name, runner.ErrObjectNotFound)
	}
	return rec("a"), nil
}

func (f fakeReader) PodsLabelled(context.Context, string, string, []string) ([]*runner.PodRecord, error) {
	return nil, f.fail
}

func (f fakeReader) PodsOfJob(context.Context, string) ([]*runner.PodRecord, error) {
	return []*runner.PodRecord{rec("j-1")}, f.fail
}

func (f fakeReader) Jobs(context.Context, string) ([]*manifest.Job, error) { return nil, f.fail }

func (f fakeReader) Job(_ context.Context, ns, name string) (*manifest.Job, error) {
	if name != "j" {
		return nil, fmt.Errorf("job %s/%s: %w", ns, name, runner.ErrObjectNotFound)
	}
	return &manifest.Job{ObjectMeta: manifest.ObjectMeta{Name: "j", Namespace: ns, UID: "uid-j"}}, f.fail
}

func (f fakeReader) CronJobs(context.Context, string) ([]*manifest.CronJob, error) {
	return nil, f.fail
}
func (f fakeReader) CronJob(_ context.Context, ns, name string) (*manifest.CronJob, error) {
	return nil, fmt.Errorf("cronjob %s/%s: %w", ns, name, runner.ErrObjectNotFound)
}
func (f fakeReader) Events(context.Context, string, string) ([]*manifest.Event, error) {
	return nil, f.fail
}
func (f fakeReader) AppliedObjects(context.Context) ([]*apply.Record, error) {
	return []*apply.Record{{Kind: "Job", Namespace: "default", Name: "j", Source: apply.SourceUp, File: "/s/j.yaml"}}, f.fail
}

// History answers one run of cronjob/nightly, and records the query.
func (f fakeReader) History(_ context.Context, q localapi.HistoryQuery) ([]*localapi.HistoryRun, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	code := int32(3)
	return []*localapi.HistoryRun{{UID: "u1", Namespace: q.Namespace, Job: "nightly-1", CronJob: q.Name, Outcome: "Failed",
		Reason: "BackoffLimitExceeded", ExitCode: &code, AttemptCount: q.Limit}}, nil
}

func (f fakeReader) Logs(_ context.Context, w io.Writer, req localapi.LogRequest) error {
	if req.Pod != "a" {
		return &localapi.BadRequestError{Msg: "container x is not valid for pod " + req.Pod}
	}
	_, err := io.WriteString(w, "line 1\nline 2\n")
	return err
}

// fakeControl records what it was asked and publishes through a real
// controller.Controller's subscriptions.
type fakeControl struct {
	mu    sync.Mutex
	calls []string
	ctrl  *controller.Controller
	err   error
}

var _ localapi.Controller = (*fakeControl)(nil)

func (f *fakeControl) call(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return f.err
}

func (f *fakeControl) Apply(_ context.Context, req localapi.ApplyRequest) (localapi.ApplyResponse, error) {
	return localapi.ApplyResponse{Results: []localapi.ApplyResult{{Kind: "Job", Name: "j", Action: "created", UID: "u1"}}},
		f.call(fmt.Sprintf("apply %d files fresh=%v", len(req.Files), req.Fresh))
}
func (f *fakeControl) DeletePod(_ context.Context, ns, name string, grace *int64) error {
	g := "nil"
	if grace != nil {
		g = fmt.Sprint(*grace)
	}
	return f.call("delete pod " + ns + "/" + name + " grace " + g)
}
func (f *fakeControl) DeleteJob(_ context.Context, ns, name string) error {
	return f.call("delete job " + ns + "/" + name)
}
func (f *fakeControl) DeleteCronJob(_ context.Context, ns, name string) error {
	return f.call("delete cronjob " + ns + "/" + name)
}
func (f *fakeControl) SetSuspend(_ context.Context, ns, name string, s bool) error {
	return f.call(fmt.Sprintf("suspend job %s/%s %v", ns, name, s))
}
func (f *fakeControl) SetCronJobSuspend(_ context.Context, ns, name string, s bool) error {
	return f.call(fmt.Sprintf("suspend cronjob %s/%s %v", ns, name, s))
}
func (f *fakeControl) InstantiateCronJob(_ context.Context, ns, cj, job string, force bool) (*manifest.Job, error) {
	if err := f.call(fmt.Sprintf("instantiate %s/%s as %s force=%v", ns, cj, job, force)); err != nil {
		return nil, err
	}
	return &manifest.Job{ObjectMeta: manifest.ObjectMeta{Name: job, Namespace: ns}}, nil
}
func (f *fakeControl) CreateJob(_ context.Context, j *manifest.Job) (*manifest.Job, error) {
	return j, f.call("create job " + j.Namespace + "/" + j.Name)
}
func (f *fakeControl) TerminatePod(_ context.Context, ns, name string, kill bool) error {
	return f.call(fmt.Sprintf("terminate %s/%s kill=%v", ns, name, kill))
}
func (f *fakeControl) Exec(_ context.Context, req localapi.ExecRequest, stdout, stderr io.Writer) (int, error) {
	if err := f.call("exec " + strings.Join(req.Command, " ")); err != nil {
		return 0, err
	}
	fmt.Fprintln(stdout, "out")
	fmt.Fprintln(stderr, "err")
	return 3, nil
}
func (f *fakeControl) Subscribe(keep func(*runner.Change) bool) *runner.Subscription {
	return f.ctrl.SubscribeFilter(keep)
}

// serve starts a server over an in-process pipe and dials it.
func serve(t *testing.T, srv *localapi.Server, clientVersion string) (*localapi.Client, error) {
	t.Helper()
	ln := localapi.NewPipeListener()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	return localapi.DialFunc(context.Background(), ln.Dial, clientVersion)
}

func newControl() *fakeControl {
	return &fakeControl{ctrl: &controller.Controller{Store: runnertest.NewStore(), Runtime: runnertest.NewRuntime()}}
}

func TestErrorMapping(t *testing.T) {
	ctx := context.Background()
	ctl := newControl()
	c, err := serve(t, &localapi.Server{Read: fakeReader{}, Control: ctl, Version: "v1"}, "v1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pod(ctx, "default", "missing")
	if !errors.Is(err, localapi.ErrNotFound) || !strings.Contains(err.Error(), "pod default/missing") {
		t.Errorf("missing pod: %v, want NotFound naming it", err)
	}
	if _, err := c.CronJob(ctx, "default", "nope"); !errors.Is(err, localapi.ErrNotFound) {
		t.Errorf("missing cronjob: %v", err)
	}
	var buf bytes.Buffer
	err = c.Logs(ctx, &buf, localapi.LogRequest{Namespace: "default", Pod: "b", TailLines: -1})
	var se *localapi.StatusError
	if !errors.As(err, &se) || se.Status.Code != 400 || se.Status.Reason != "BadRequest" {
		t.Errorf("bad log request: %v, want a 400", err)
	}
	ctl.err = &localapi.ConflictError{Msg: "jobs.batch \"x\" already exists"}
	if _, err := c.InstantiateCronJob(ctx, "default", "cj", "x", false); !errors.Is(err, localapi.ErrConflict) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("conflict: %v", err)
	}
	ctl.err = errors.New("disk on fire")
	if err := c.DeleteJob(ctx, "default", "j"); !errors.As(err, &se) || se.Status.Code != 500 || se.Status.Message != "disk on fire" {
		t.Errorf("internal error: %v", err)
	}
	// A failed read is an error, never an empty answer.
	c2, err := serve(t, &localapi.Server{Read: fakeReader{fail: errors.New("store: corrupt")}, Version: "v1"}, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if pods, err := c2.Pods(ctx, "default"); err == nil || len(pods) != 0 {
		t.Errorf("failing read: %v %v, want an error", pods, err)
	}
}

// TestHistory: the history route passes the query through, refuses a bad
// kind with 400, and a failed read is an error, never an empty list.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	c, err := serve(t, &localapi.Server{Read: fakeReader{}, Version: "v1"}, "v1")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := c.History(ctx, localapi.HistoryQuery{Namespace: "ops", Kind: "cronjob", Name: "nightly", Limit: 5})
	if err != nil || len(runs) != 1 {
		t.Fatalf("history: %v %v", runs, err)
	}
	if r := runs[0]; r.Namespace != "ops" || r.CronJob != "nightly" || r.AttemptCount != 5 || r.ExitCode == nil || *r.ExitCode != 3 {
		t.Errorf("run %+v: the query did not arrive whole, or the run came back changed", r)
	}
	var se *localapi.StatusError
	if _, err := c.History(ctx, localapi.HistoryQuery{Namespace: "ops", Kind: "pod", Name: "x"}); !errors.As(err, &se) || se.Status.Code != 400 {
		t.Errorf("kind pod: %v, want a 400", err)
	}
	c2, err := serve(t, &localapi.Server{Read: fakeReader{fail: errors.New("store: corrupt")}, Version: "v1"}, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if runs, err := c2.History(ctx, localapi.HistoryQuery{}); err == nil || !strings.Contains(err.Error(), "store: corrupt") {
		t.Errorf("failing read: %v %v, want the error", runs, err)
	}
}

func TestReadOnlyServer(t *testing.T) {
	ctx := context.Background()
	c, err := serve(t, &localapi.Server{Read: fakeReader{}, Version: "v1"}, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if !c.ReadOnly {
		t.Error("client of a read-only server does not know it")
	}
	if pods, err := c.Pods(ctx, "default"); err != nil || len(pods) != 1 {
		t.Errorf("read: %v %v", pods, err)
	}
	if err := c.DeletePod(ctx, "default", "a", nil); !errors.Is(err, localapi.ErrNoDaemon) {
		t.Errorf("write to a read-only server: %v, want ErrNoDaemon", err)
	}
	if _, err := c.Watch(ctx, "", "pods"); !errors.Is(err, localapi.ErrNoDaemon) {
		t.Errorf("watch on a read-only server: %v, want ErrNoDaemon", err)
	}
}

func TestVersionSkew(t *testing.T) {
	c, err := serve(t, &localapi.Server{Read: fakeReader{}, Version: "v2"}, "v1")
	var vm *localapi.VersionMismatchError
	if !errors.As(err, &vm) || vm.Client != "v1" || vm.Daemon != "v2" || c == nil {
		t.Fatalf("dial v1 → v2: client %v, err %v; want the client and a VersionMismatchError", c, err)
	}
	if !strings.Contains(err.Error(), "restart the daemon") {
		t.Errorf("message %q gives no remedy", err)
	}
}

func TestControlRoutes(t *testing.T) {
	ctx := context.Background()
	ctl := newControl()
	c, err := serve(t, &localapi.Server{Read: fakeReader{}, Control: ctl, Version: "v1"}, "v1")
	if err != nil {
		t.Fatal(err)
	}
	grace := int64(0)
	resp, err := c.Apply(ctx, localapi.ApplyRequest{Files: []localapi.File{{Name: "a.yaml"}}, Fresh: true})
	if err != nil || len(resp.Results) != 1 || resp.Results[0].UID != "u1" {
		t.Fatalf("apply: %+v %v", resp, err)
	}
	for _, step := range []func() error{
		func() error { return c.DeletePod(ctx, "default", "a", &grace) },
		func() error { return c.DeletePod(ctx, "default", "a", nil) },
		func() error { return c.DeleteCronJob(ctx, "team", "cj") },
		func() error { return c.SetSuspend(ctx, "default", "j", true) },
		func() error { return c.SetCronJobSuspend(ctx, "default", "cj", false) },
		func() error { return c.TerminatePod(ctx, "default", "a", true) },
		func() error { _, err := c.InstantiateCronJob(ctx, "default", "cj", "manual", true); return err },
		func() error {
			_, err := c.CreateJob(ctx, &manifest.Job{ObjectMeta: manifest.ObjectMeta{Name: "x", Namespace: "default"}})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	code, err := c.Exec(ctx, localapi.ExecRequest{Namespace: "default", Pod: "a", Command: []string{"ls", "/"}}, &out, &errb)
	if err != nil || code != 3 || out.String() != "out\n" || errb.String() != "err\n" {
		t.Errorf("exec: code %d err %v out %q err %q", code, err, out.String(), errb.String())
	}
	want := []string{
		"apply 1 files fresh=true",
		"delete pod default/a grace 0",
		"delete pod default/a grace nil",
		"delete cronjob team/cj",
		"suspend job default/j true",
		"suspend cronjob default/cj false",
		"terminate default/a kill=true",
		"instantiate default/cj as manual force=true",
		"create job default/x",
		"exec ls /",
	}
	if strings.Join(ctl.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(ctl.calls, "\n"), strings.Join(want, "\n"))
	}
	pods, err := c.PodsOfJob(ctx, "default", "j")
	if err != nil || len(pods) != 1 || pods[0].Name != "j-1" {
		t.Errorf("pods of job: %v %v", pods, err)
	}
	recs, err := c.AppliedObjects(ctx)
	if err != nil || len(recs) != 1 || recs[0].File != "/s/j.yaml" {
		t.Errorf("applied: %v %v", recs, err)
	}
	var buf bytes.Buffer
	if err := c.Logs(ctx, &buf, localapi.LogRequest{Namespace: "default", Pod: "a", TailLines: -1}); err != nil || buf.String() != "line 1\nline 2\n" {
		t.Errorf("logs: %q %v", buf.String(), err)
	}
}

// TestWatch: one watch delivers the kinds asked for, in the order they
// were published (a container's output before the change recording its
// exit); a watch that falls too far behind is cut off with an error the
// client sees.
func TestWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctl := newControl()
	rt := runnertest.NewRuntime("busybox")
	rt.Script = func(runner.ContainerSpec) runnertest.Behavior {
		return runnertest.Behavior{Lines: []string{"hello"}, RunFor: 10 * time.Millisecond}
	}
	ctl.ctrl.Runtime = rt
	// A small queue: publishing runner.MaxQueue events took minutes under
	// the race detector on a loaded machine.
	const queue = 1000
	ctl.ctrl.WatchQueue = queue
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { ctl.ctrl.Run(runCtx); close(ran) }()
	defer func() { stop(); <-ran }()
	c, err := serve(t, &localapi.Server{Read: fakeReader{}, Control: ctl, Version: "v1"}, "v1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Watch(ctx, "default", "pods", "logs")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	elsewhere := &manifest.Pod{ObjectMeta: manifest.ObjectMeta{Name: "x", Namespace: "other"}, Spec: manifest.PodSpec{RestartPolicy: "Never",
		Containers: []manifest.Container{{Name: "main", Image: "busybox", ImagePullPolicy: "IfNotPresent"}}}}
	if _, err := ctl.ctrl.ApplyPod(ctx, elsewhere); err != nil {
		t.Fatal(err)
	}
	p := *elsewhere
	p.Namespace = "default"
	if _, err := ctl.ctrl.ApplyPod(ctx, &p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		ev, err := s.Next()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		var o struct {
			Metadata manifest.ObjectMeta
			Status   manifest.PodStatus
			Line     string
		}
		if err := json.Unmarshal(ev.Object, &o); err != nil {
			t.Fatal(err)
		}
		if o.Metadata.Namespace == "other" {
			t.Fatalf("a pod of another namespace was sent: %s", ev.Object)
		}
		if ev.Type == localapi.WatchLog {
			got = append(got, "LOG "+o.Line)
			continue
		}
		got = append(got, ev.Type+" "+o.Status.Phase)
		if o.Status.Phase == manifest.PodSucceeded {
			break
		}
	}
	i := slices.Index(got, "LOG hello")
	if i < 0 || i == len(got)-1 || got[0] != "MODIFIED Pending" {
		t.Errorf("events %v: want pod changes, the line, then Succeeded", got)
	}
	if err := ctl.ctrl.DeletePod(ctx, "default", "x"); err != nil {
		t.Fatal(err)
	}
	ev, err := s.Next()
	if err != nil || ev.Type != localapi.WatchDeleted || !strings.Contains(string(ev.Object), `"kind":"Pod"`) {
		t.Errorf("deletion: %s %s %v, want DELETED naming its kind", ev.Type, ev.Object, err)
	}

	// A reader that stops reading is cut off once its queue is full (what
	// the socket's buffers hold comes on top: publish well past it).
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	slow, err := c.Watch(ctx, "", "events")
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	ref := manifest.ObjectReference{Namespace: "default", Name: "a"}
	const published = queue + 5000
	for range published {
		ctl.ctrl.RecordEvent(ctx, ref, "Normal", "Tick", "tick", "test")
	}
	n := 0
	for {
		_, err := slow.Next()
		if errors.Is(err, localapi.ErrWatchExpired) {
			break
		}
		if err != nil {
			t.Fatalf("slow watch ended with %v after %d events, want ErrWatchExpired", err, n)
		}
		n++
	}
	if n >= published {
		t.Errorf("the slow watch got all %d events: never cut off", n)
	}
}
