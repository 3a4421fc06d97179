package state

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

func testCronJob(ns, name, uid string, sec int) *manifest.CronJob {
	return &manifest.CronJob{
		TypeMeta: manifest.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: manifest.ObjectMeta{Namespace: ns, Name: name, UID: uid,
			CreationTimestamp: manifest.Time{Time: time.Unix(int64(1_700_000_000+sec), 0).UTC()}},
		Spec:   manifest.CronJobSpec{Schedule: "*/5 * * * *"},
		Status: manifest.CronJobStatus{LastScheduleTime: manifest.NewTime(time.Unix(1_700_000_300, 0).UTC())},
	}
}

func TestDB_CronJobs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	want := testCronJob("default", "nightly", "cj-1", 5)
	for _, cj := range []*manifest.CronJob{want, testCronJob("default", "early", "cj-2", 1), testCronJob("ci", "other", "cj-3", 3)} {
		if err := db.SaveCronJob(ctx, cj); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddEvent(ctx, testEvent("default", "cj-1", "SuccessfulCreate", 1)); err != nil {
		t.Fatal(err)
	}
	got, err := db.CronJob(ctx, "default", "nightly")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("CronJob() = %s, want %s", g, w)
	}
	for _, tt := range []struct {
		ns   string
		want []string
	}{
		{"default", []string{"early", "nightly"}},
		{"ci", []string{"other"}},
		{"", []string{"early", "other", "nightly"}},
	} {
		cjs, err := db.CronJobs(ctx, tt.ns)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, cj := range cjs {
			names = append(names, cj.Name)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("CronJobs(%q) = %v, want %v", tt.ns, names, tt.want)
		}
	}
	if err := db.DeleteCronJob(ctx, "default", "nightly"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CronJob(ctx, "default", "nightly"); !errors.Is(err, runner.ErrObjectNotFound) {
		t.Errorf("CronJob after delete: %v, want ErrObjectNotFound", err)
	}
	if evs, _ := db.Events(ctx, "default", "cj-1"); len(evs) != 0 {
		t.Errorf("%d events left after deleting the cronjob", len(evs))
	}
	if err := db.DeleteCronJob(ctx, "default", "nightly"); !errors.Is(err, runner.ErrObjectNotFound) {
		t.Errorf("second delete: %v, want ErrObjectNotFound", err)
	}
	if err := db.SaveCronJob(ctx, testCronJob("default", "a/b", "x", 0)); err == nil {
		t.Error("SaveCronJob accepted a name with '/'")
	}
}
