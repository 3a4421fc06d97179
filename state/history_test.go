package state

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/runner"
)

func testRun(ns, job, cronJob string, finished time.Time, outcome string) *history.Run {
	return &history.Run{UID: "uid-" + job, Namespace: ns, Job: job, CronJob: cronJob, Finished: finished, Outcome: outcome}
}

func runJobs(runs []*history.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Job)
	}
	return out
}

func TestDB_RecordRunOnce(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	r := testRun("default", "backup-1", "backup", baseTime, history.OutcomeFailed)
	note := &history.Notification{UID: r.UID, Target: history.Target{URL: "http://127.0.0.1:1/x"}, Run: *r, State: history.NotifyPending}
	for i, want := range []bool{true, false} {
		created, err := db.RecordRun(ctx, r, note, history.Retention{})
		if err != nil || created != want {
			t.Fatalf("RecordRun #%d: created %v, err %v; want %v", i+1, created, err, want)
		}
	}
	pend, err := db.PendingNotifications(ctx)
	if err != nil || len(pend) != 1 {
		t.Fatalf("pending %v %v, want one", pend, err)
	}
	// Once sent it is never pending again, even if a stale copy is saved.
	sent := *pend[0]
	sent.State = history.NotifySent
	if err := db.SaveNotification(ctx, &sent); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveNotification(ctx, pend[0]); err != nil {
		t.Fatal(err)
	}
	if pend, err := db.PendingNotifications(ctx); err != nil || len(pend) != 0 {
		t.Errorf("pending after sent %v %v, want none", pend, err)
	}
	if has, err := db.HasRun(ctx, r.UID); err != nil || !has {
		t.Errorf("HasRun %v %v", has, err)
	}
	last, err := db.LastRuns(ctx)
	if err != nil || len(last) != 1 || !last[0].LastFailed.Equal(baseTime) || !last[0].LastSucceeded.IsZero() {
		t.Errorf("last runs %+v %v", last, err)
	}
}

func TestDB_Runs(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	for i, r := range []*history.Run{
		testRun("default", "backup-1", "backup", baseTime.Add(1*time.Minute), history.OutcomeComplete),
		testRun("default", "backup-2", "backup", baseTime.Add(3*time.Minute), history.OutcomeFailed),
		testRun("default", "migrate", "", baseTime.Add(2*time.Minute), history.OutcomeComplete),
		testRun("ops", "backup-3", "backup", baseTime.Add(4*time.Minute), history.OutcomeComplete),
	} {
		if _, err := db.RecordRun(ctx, r, nil, history.Retention{}); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	tests := []struct {
		q    history.Query
		want []string
	}{
		{history.Query{Namespace: "default", Kind: "cronjob", Name: "backup"}, []string{"backup-2", "backup-1"}},
		{history.Query{Namespace: "default", Kind: "job", Name: "migrate"}, []string{"migrate"}},
		{history.Query{Namespace: "default", Kind: "job", Name: "backup-1"}, []string{"backup-1"}},
		{history.Query{Namespace: "default"}, []string{"backup-2", "migrate", "backup-1"}},
		{history.Query{}, []string{"backup-3", "backup-2", "migrate", "backup-1"}},
		{history.Query{Limit: 2}, []string{"backup-3", "backup-2"}},
		{history.Query{Namespace: "default", Kind: "cronjob", Name: "nope"}, nil},
	}
	for _, tt := range tests {
		got, err := db.Runs(ctx, tt.q)
		if err != nil {
			t.Errorf("Runs(%+v): %v", tt.q, err)
			continue
		}
		if !slices.Equal(runJobs(got), tt.want) {
			t.Errorf("Runs(%+v) got %v, want %v", tt.q, runJobs(got), tt.want)
		}
	}
	if _, err := db.Runs(ctx, history.Query{Kind: "pod", Namespace: "default", Name: "x"}); err == nil {
		t.Error("Runs of kind pod: no error")
	}
}

// TestDB_RunRetention: per owner the newest Limit runs stay, none older
// than MaxAge; a run whose Job is still stored, or whose notification is
// pending, is never pruned (so it can never be recorded, or notified,
// twice).
func TestDB_RunRetention(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	keep := history.Retention{Limit: 2, MaxAge: time.Hour}
	// cj-0's Job still exists; cj-1's notification is pending.
	if err := db.SaveJob(ctx, testJob("default", "cj-0", "uid-cj-0", 0)); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r := testRun("default", "cj-"+string(rune('0'+i)), "cj", baseTime.Add(time.Duration(i)*time.Minute), history.OutcomeFailed)
		var note *history.Notification
		if i == 1 {
			note = &history.Notification{UID: r.UID, Target: history.Target{URL: "http://127.0.0.1:1/"}, Run: *r, State: history.NotifyPending}
		}
		if _, err := db.RecordRun(ctx, r, note, keep); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := db.Runs(ctx, history.Query{Namespace: "default", Kind: "cronjob", Name: "cj"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := runJobs(runs), []string{"cj-4", "cj-3", "cj-1", "cj-0"}; !slices.Equal(got, want) {
		t.Errorf("after 5 runs with limit 2: %v, want %v", got, want)
	}
	// The Job goes and the notification is sent: both may go now; age
	// prunes the rest but for the newest, which is within the hour.
	if err := db.DeleteJob(ctx, "default", "cj-0"); err != nil {
		t.Fatal(err)
	}
	n, err := db.Notification(ctx, "uid-cj-1")
	if err != nil {
		t.Fatal(err)
	}
	n.State = history.NotifySent
	if err := db.SaveNotification(ctx, n); err != nil {
		t.Fatal(err)
	}
	pruned, err := db.PruneRuns(ctx, keep, baseTime.Add(4*time.Minute+30*time.Minute))
	if err != nil || pruned != 2 {
		t.Fatalf("PruneRuns: %d, %v; want 2", pruned, err)
	}
	runs, _ = db.Runs(ctx, history.Query{})
	if got, want := runJobs(runs), []string{"cj-4", "cj-3"}; !slices.Equal(got, want) {
		t.Errorf("after pruning: %v, want %v", got, want)
	}
	if _, err := db.Notification(ctx, "uid-cj-1"); !errors.Is(err, runner.ErrObjectNotFound) {
		t.Errorf("notification of a pruned run: %v, want gone", err)
	}
	pruned, err = db.PruneRuns(ctx, keep, baseTime.Add(2*time.Hour))
	if err != nil || pruned != 2 {
		t.Fatalf("PruneRuns after 2h: %d, %v; want 2", pruned, err)
	}
	if last, err := db.LastRuns(ctx); err != nil || len(last) != 0 {
		t.Errorf("last runs of a CronJob with no runs left: %+v %v", last, err)
	}
	// Every index is empty with the runs.
	err = db.bolt.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRuns, bucketRunsByOwner, bucketRunsByTime, bucketNotifications} {
			if k, _ := tx.Bucket(b).Cursor().First(); k != nil {
				t.Errorf("bucket %s still has %q", b, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDB_RunsReadOnlyOld: a database written before run history existed,
// opened read-only, has no runs (not an error).
func TestDB_RunsReadOnlyOld(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rw, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = rw.bolt.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRuns, bucketRunsByOwner, bucketRunsByTime, bucketRunsLast, bucketNotifications} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	rw.Close()
	if err != nil {
		t.Fatal(err)
	}
	ro := mustOpen(t, dir, Options{ReadOnly: true})
	if runs, err := ro.Runs(ctx, history.Query{Namespace: "default"}); err != nil || len(runs) != 0 {
		t.Errorf("runs %v %v", runs, err)
	}
	if last, err := ro.LastRuns(ctx); err != nil || len(last) != 0 {
		t.Errorf("last %v %v", last, err)
	}
}
