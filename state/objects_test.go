package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	bolt "go.etcd.io/bbolt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// mustJSON is v encoded, for comparing objects whose times differ only in
// location after a round trip.
func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func podNames(pods []*runner.PodRecord) []string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Pod.Namespace+"/"+p.Pod.Name)
	}
	return names
}

func jobNames(jobs []*manifest.Job) []string {
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	return names
}

func TestDB_PodRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	want := testPod("default", "simple-task", "uid-1", "", 0)
	want.TerminateReason = "DeadlineExceeded"
	want.Containers[0].Waiting = &manifest.StateWaiting{Reason: "CrashLoopBackOff", Message: "back-off"}
	want.Containers[0].Backoff = 20 * time.Second
	if err := db.SavePod(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := db.Pod(ctx, "default", "simple-task")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("Pod() = %s, want %s", g, w)
	}

	// A save replaces; the stored copy does not alias the caller's record.
	want.Pod.Status.Phase = manifest.PodFailed
	if err := db.SavePod(ctx, want); err != nil {
		t.Fatal(err)
	}
	want.Pod.Status.Phase = "mutated after save"
	got, err = db.Pod(ctx, "default", "simple-task")
	if err != nil {
		t.Fatal(err)
	}
	if got.Pod.Status.Phase != manifest.PodFailed {
		t.Errorf("phase after second save = %q, want %q", got.Pod.Status.Phase, manifest.PodFailed)
	}
}

func TestDB_SaveRejectsBadKeys(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	for _, c := range []struct{ ns, name string }{{"", "p"}, {"default", ""}, {"a/b", "p"}} {
		if err := db.SavePod(ctx, testPod(c.ns, c.name, "u", "", 0)); err == nil {
			t.Errorf("SavePod(%q, %q) succeeded, want an error", c.ns, c.name)
		}
		j := &manifest.Job{ObjectMeta: manifest.ObjectMeta{Namespace: c.ns, Name: c.name}}
		if err := db.SaveJob(ctx, j); err == nil {
			t.Errorf("SaveJob(%q, %q) succeeded, want an error", c.ns, c.name)
		}
	}
	if err := db.AddEvent(ctx, &manifest.Event{Reason: "x"}); err == nil {
		t.Error("AddEvent without involved object uid succeeded, want an error")
	}
}

func TestDB_PodsOrder(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	// Saved out of order; same second for b and a (name breaks the tie).
	for _, p := range []*runner.PodRecord{
		testPod("default", "c", "u1", "", 30),
		testPod("default", "b", "u2", "", 10),
		testPod("other", "z", "u3", "", 5),
		testPod("default", "a", "u4", "", 10),
		testPod("defaults", "d", "u5", "", 1), // shares a prefix with "default"
	} {
		if err := db.SavePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		ns   string
		want []string
	}{
		{"default", []string{"default/a", "default/b", "default/c"}},
		{"other", []string{"other/z"}},
		{"none", nil},
		{"", []string{"defaults/d", "other/z", "default/a", "default/b", "default/c"}},
	}
	for _, tt := range tests {
		t.Run("ns="+tt.ns, func(t *testing.T) {
			pods, err := db.Pods(ctx, tt.ns)
			if err != nil {
				t.Fatal(err)
			}
			if got := podNames(pods); !slices.Equal(got, tt.want) {
				t.Errorf("Pods(%q) = %v, want %v", tt.ns, got, tt.want)
			}
		})
	}
}

func TestDB_PodsOfJob(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	notController := testPod("default", "nc", "u9", "", 0)
	no := false
	notController.Pod.OwnerReferences = []manifest.OwnerReference{{Kind: "Job", Name: "j", UID: "job-a", Controller: &no}}
	for _, p := range []*runner.PodRecord{
		testPod("default", "a-2", "u1", "job-a", 20),
		testPod("default", "a-1", "u2", "job-a", 10),
		testPod("default", "b-1", "u3", "job-b", 10),
		testPod("default", "loose", "u4", "", 0),
		testPod("ns2", "a-3", "u5", "job-a", 30),
		notController,
	} {
		if err := db.SavePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	check := func(job string, want []string) {
		t.Helper()
		pods, err := db.PodsOfJob(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		if got := podNames(pods); !slices.Equal(got, want) {
			t.Errorf("PodsOfJob(%q) = %v, want %v", job, got, want)
		}
	}
	check("job-a", []string{"default/a-1", "default/a-2", "ns2/a-3"})
	check("job-b", []string{"default/b-1"})
	check("job-", nil)
	check("", nil)

	// Re-saving a pod under another controller moves its index entry.
	if err := db.SavePod(ctx, testPod("default", "a-2", "u1", "job-b", 20)); err != nil {
		t.Fatal(err)
	}
	check("job-a", []string{"default/a-1", "ns2/a-3"})
	check("job-b", []string{"default/b-1", "default/a-2"})

	// Dropping the owner reference removes it from the index.
	if err := db.SavePod(ctx, testPod("default", "b-1", "u3", "", 10)); err != nil {
		t.Fatal(err)
	}
	check("job-b", []string{"default/a-2"})

	if err := db.DeletePod(ctx, "default", "a-1"); err != nil {
		t.Fatal(err)
	}
	check("job-a", []string{"ns2/a-3"})
}

func TestDB_NotFound(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	if err := db.SavePod(ctx, testPod("default", "p", "u", "", 0)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"Pod", func() error { _, err := db.Pod(ctx, "default", "nope"); return err }},
		{"PodOtherNamespace", func() error { _, err := db.Pod(ctx, "other", "p"); return err }},
		{"DeletePod", func() error { return db.DeletePod(ctx, "default", "nope") }},
		{"Job", func() error { _, err := db.Job(ctx, "default", "nope"); return err }},
		{"DeleteJob", func() error { return db.DeleteJob(ctx, "default", "nope") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, runner.ErrObjectNotFound) {
				t.Errorf("err = %v, want ErrObjectNotFound", err)
			}
		})
	}
}

func testJob(ns, name, uid string, sec int) *manifest.Job {
	limit := int32(2)
	return &manifest.Job{
		TypeMeta: manifest.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: manifest.ObjectMeta{
			Name: name, Namespace: ns, UID: uid,
			CreationTimestamp: manifest.Time{Time: baseTime.Add(time.Duration(sec) * time.Second)},
		},
		Spec: manifest.JobSpec{
			BackoffLimit: &limit,
			Template: manifest.PodTemplateSpec{Spec: manifest.PodSpec{
				RestartPolicy: manifest.RestartPolicyNever,
				Containers:    []manifest.Container{{Name: "main", Image: "busybox", Command: []string{"sh", "-c", "exit 1"}}},
			}},
		},
		Status: manifest.JobStatus{Failed: 3, Conditions: []manifest.JobCondition{{
			Type: manifest.JobFailed, Status: "True", Reason: "BackoffLimitExceeded",
			LastTransitionTime: manifest.Time{Time: baseTime.Add(time.Minute)},
		}}},
	}
}

func TestDB_Jobs(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	want := testJob("default", "retry", "job-1", 5)
	for _, j := range []*manifest.Job{want, testJob("default", "early", "job-2", 1), testJob("ci", "other", "job-3", 3)} {
		if err := db.SaveJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Job(ctx, "default", "retry")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("Job() = %s, want %s", g, w)
	}
	tests := []struct {
		ns   string
		want []string
	}{
		{"default", []string{"early", "retry"}},
		{"ci", []string{"other"}},
		{"", []string{"early", "other", "retry"}},
	}
	for _, tt := range tests {
		jobs, err := db.Jobs(ctx, tt.ns)
		if err != nil {
			t.Fatal(err)
		}
		if names := jobNames(jobs); !slices.Equal(names, tt.want) {
			t.Errorf("Jobs(%q) = %v, want %v", tt.ns, names, tt.want)
		}
	}
}

// TestDB_JobsOwnedBy: the Jobs with an owner reference to a uid, in
// order; not those whose own uid, name or another field holds it.
func TestDB_JobsOwnedBy(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	owned := func(ns, name, uid string, sec int, owner string) *manifest.Job {
		j := testJob(ns, name, uid, sec)
		if owner != "" {
			yes := true
			j.OwnerReferences = []manifest.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "c", UID: owner, Controller: &yes}}
		}
		return j
	}
	decoy := owned("default", "decoy", "cj-1", 0, "") // its own uid is the owner's
	decoy.Annotations = map[string]string{"note": `"uid":"cj-1"`}
	for _, j := range []*manifest.Job{
		owned("default", "b", "j1", 5, "cj-1"),
		owned("default", "a", "j2", 1, "cj-1"),
		owned("default", "other", "j3", 2, "cj-2"),
		owned("ci", "c", "j4", 3, "cj-1"),
		owned("default", "loose", "j5", 4, ""),
		decoy,
	} {
		if err := db.SaveJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		ns, owner string
		want      []string
	}{
		{"default", "cj-1", []string{"a", "b"}},
		{"", "cj-1", []string{"a", "c", "b"}},
		{"default", "cj-2", []string{"other"}},
		{"default", "cj-", nil},
		{"default", "", nil},
	} {
		jobs, err := db.JobsOwnedBy(ctx, tt.ns, tt.owner)
		if err != nil {
			t.Fatal(err)
		}
		if names := jobNames(jobs); !slices.Equal(names, tt.want) {
			t.Errorf("JobsOwnedBy(%q, %q) = %v, want %v", tt.ns, tt.owner, names, tt.want)
		}
	}

	// The owner index follows a change of owner and a delete.
	if err := db.SaveJob(ctx, owned("default", "b", "j1", 5, "cj-2")); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteJob(ctx, "default", "a"); err != nil {
		t.Fatal(err)
	}
	for owner, want := range map[string][]string{"cj-1": {"c"}, "cj-2": {"other", "b"}} {
		jobs, err := db.JobsOwnedBy(ctx, "", owner)
		if names := jobNames(jobs); err != nil || !slices.Equal(names, want) {
			t.Errorf("after changes: JobsOwnedBy(%q) = %v, %v; want %v", owner, names, err, want)
		}
	}
	var entries int
	if err := db.view(func(tx *bolt.Tx) error {
		entries = tx.Bucket(bucketJobsByOwner).Stats().KeyN
		return nil
	}); err != nil || entries != 3 {
		t.Errorf("owner index: %d entries (%v), want 3 (b, other, c)", entries, err)
	}
}

func testEvent(ns, uid, reason string, sec int) *manifest.Event {
	ts := baseTime.Add(time.Duration(sec) * time.Second)
	return &manifest.Event{
		TypeMeta:       manifest.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:     manifest.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s.%d", uid, sec)},
		InvolvedObject: manifest.ObjectReference{Kind: "Pod", Namespace: ns, UID: uid},
		Reason:         reason, Type: "Normal", Count: 1,
		FirstTimestamp: manifest.Time{Time: ts}, LastTimestamp: manifest.Time{Time: ts},
	}
}

func eventReasons(evs []*manifest.Event) []string {
	var r []string
	for _, e := range evs {
		r = append(r, e.Reason)
	}
	return r
}

func TestDB_Events(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	for _, e := range []*manifest.Event{
		testEvent("default", "pod-a", "Scheduled", 1),
		testEvent("default", "pod-b", "Scheduled", 2),
		testEvent("default", "pod-a", "Pulled", 3),
		testEvent("other", "pod-c", "Scheduled", 0),
		testEvent("default", "pod-b", "Late", 0), // added last, oldest by time
		testEvent("default", "pod-a", "Started", 3),
		func() *manifest.Event { // eventTime only, within second 2
			e := testEvent("default", "pod-d", "Micro", 0)
			e.FirstTimestamp, e.LastTimestamp = manifest.Time{}, manifest.Time{}
			e.EventTime = manifest.MicroTime{Time: ms(2500)}
			return e
		}(),
	} {
		if err := db.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		ns, uid string
		want    []string
	}{
		{"default", "pod-a", []string{"Scheduled", "Pulled", "Started"}},
		{"default", "pod-b", []string{"Scheduled", "Late"}},
		{"other", "pod-a", nil},
		{"default", "", []string{"Late", "Scheduled", "Scheduled", "Micro", "Pulled", "Started"}},
		{"other", "", []string{"Scheduled"}},
		{"", "", []string{"Scheduled", "Late", "Scheduled", "Scheduled", "Micro", "Pulled", "Started"}},
		{"default", "pod-", nil},
	}
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.uid, func(t *testing.T) {
			evs, err := db.Events(ctx, tt.ns, tt.uid)
			if err != nil {
				t.Fatal(err)
			}
			if got := eventReasons(evs); !slices.Equal(got, tt.want) {
				t.Errorf("Events(%q, %q) = %v, want %v", tt.ns, tt.uid, got, tt.want)
			}
		})
	}
	evs, err := db.Events(ctx, "default", "pod-a")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(t, evs[0]), mustJSON(t, testEvent("default", "pod-a", "Scheduled", 1)); g != w {
		t.Errorf("event round trip = %s, want %s", g, w)
	}
}

func TestDB_EventsCapped(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	const extra = 7
	for i := range MaxEventsPerObject + extra {
		if err := db.AddEvent(ctx, testEvent("default", "pod-a", fmt.Sprint("R", i), i)); err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			if err := db.AddEvent(ctx, testEvent("default", "pod-b", fmt.Sprint("B", i), i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	evs, err := db.Events(ctx, "default", "pod-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != MaxEventsPerObject {
		t.Fatalf("len(Events) = %d, want %d", len(evs), MaxEventsPerObject)
	}
	if got, want := evs[0].Reason, fmt.Sprint("R", extra); got != want {
		t.Errorf("oldest kept event = %s, want %s", got, want)
	}
	if got, want := evs[len(evs)-1].Reason, fmt.Sprint("R", MaxEventsPerObject+extra-1); got != want {
		t.Errorf("newest event = %s, want %s", got, want)
	}
	other, err := db.Events(ctx, "default", "pod-b")
	if err != nil {
		t.Fatal(err)
	}
	if got := eventReasons(other); !slices.Equal(got, []string{"B0", "B1", "B2"}) {
		t.Errorf("events of another object = %v, want untouched", got)
	}
}

func TestDB_DeleteRemovesEventsAndLogs(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	if err := db.SavePod(ctx, testPod("default", "p", "pod-uid", "job-uid", 0)); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveJob(ctx, testJob("default", "j", "job-uid", 0)); err != nil {
		t.Fatal(err)
	}
	for _, uid := range []string{"pod-uid", "job-uid", "keep-uid"} {
		if err := db.AddEvent(ctx, testEvent("default", uid, "R-"+uid, 0)); err != nil {
			t.Fatal(err)
		}
	}
	lf, err := db.OpenLog("default", "p", "pod-uid", "main", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := lf.WriteLine(baseTime, "stdout", []byte("hi"), false); err != nil {
		t.Fatal(err)
	}
	if err := lf.Close(); err != nil {
		t.Fatal(err)
	}

	if err := db.DeletePod(ctx, "default", "p"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteJob(ctx, "default", "j"); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := eventReasons(evs); !slices.Equal(got, []string{"R-keep-uid"}) {
		t.Errorf("events after deletes = %v, want [R-keep-uid]", got)
	}
	if _, err := os.Stat(db.podLogDir("default", "p", "pod-uid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pod log dir after DeletePod: stat err = %v, want not exist", err)
	}
	if _, err := db.Pod(ctx, "default", "p"); !errors.Is(err, runner.ErrObjectNotFound) {
		t.Errorf("Pod after DeletePod: err = %v, want ErrObjectNotFound", err)
	}
	if _, err := db.Job(ctx, "default", "j"); !errors.Is(err, runner.ErrObjectNotFound) {
		t.Errorf("Job after DeleteJob: err = %v, want ErrObjectNotFound", err)
	}
	if pods, err := db.PodsOfJob(ctx, "job-uid"); err != nil || len(pods) != 0 {
		t.Errorf("PodsOfJob after DeletePod = %v, %v; want none", podNames(pods), err)
	}
}
