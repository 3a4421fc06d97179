package state

import (
	"context"
	"slices"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

func labelled(p *runner.PodRecord, kv ...string) *runner.PodRecord {
	p.Pod.Labels = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Pod.Labels[kv[i]] = kv[i+1]
	}
	return p
}

// TestDB_PodsLabelled: the label index answers exactly the pods whose
// label has one of the values, in the namespace asked (all with ""), and
// follows label changes and deletes.
func TestDB_PodsLabelled(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	const jn = "batch.kubernetes.io/job-name"
	for _, p := range []*runner.PodRecord{
		labelled(testPod("default", "x-2", "u1", "", 20), jn, "x", "app", "web"),
		labelled(testPod("default", "x-1", "u2", "", 10), jn, "x"),
		labelled(testPod("default", "xy-1", "u3", "", 10), jn, "xy"), // a value sharing a prefix
		labelled(testPod("default", "y-1", "u4", "", 10), jn, "y"),
		labelled(testPod("defaults", "x-9", "u5", "", 5), jn, "x"), // a namespace sharing a prefix
		labelled(testPod("default", "loose", "u6", "", 0)),
		labelled(testPod("default", "other-key", "u7", "", 0), jn+"x", "x"), // a key sharing a prefix
	} {
		if err := db.SavePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	check := func(ns, key string, values []string, want []string) {
		t.Helper()
		pods, err := db.PodsLabelled(ctx, ns, key, values)
		if err != nil {
			t.Fatal(err)
		}
		if got := podNames(pods); !slices.Equal(got, want) {
			t.Errorf("PodsLabelled(%q, %q, %q) = %v, want %v", ns, key, values, got, want)
		}
	}
	check("default", jn, []string{"x"}, []string{"default/x-1", "default/x-2"})
	check("", jn, []string{"x"}, []string{"defaults/x-9", "default/x-1", "default/x-2"})
	check("default", jn, []string{"x", "y"}, []string{"default/x-1", "default/y-1", "default/x-2"})
	check("default", jn, []string{"x", "x"}, []string{"default/x-1", "default/x-2"})
	check("default", jn, []string{"z"}, nil)
	check("default", jn, nil, nil)
	check("default", "app", []string{"web"}, []string{"default/x-2"})
	check("default", jn, []string{""}, nil) // no pod has the label with an empty value

	// A relabelled pod moves; an unlabelled one leaves the index.
	if err := db.SavePod(ctx, labelled(testPod("default", "x-2", "u1", "", 20), jn, "y")); err != nil {
		t.Fatal(err)
	}
	if err := db.SavePod(ctx, labelled(testPod("default", "x-1", "u2", "", 10))); err != nil {
		t.Fatal(err)
	}
	check("default", jn, []string{"x"}, nil)
	check("default", jn, []string{"y"}, []string{"default/y-1", "default/x-2"})
	check("default", "app", []string{"web"}, nil)

	// SavePods (one transaction) indexes each.
	if err := db.SavePods(ctx, []*runner.PodRecord{
		labelled(testPod("default", "b-1", "u8", "", 1), jn, "b"),
		labelled(testPod("default", "b-2", "u9", "", 2), jn, "b"),
	}); err != nil {
		t.Fatal(err)
	}
	check("default", jn, []string{"b"}, []string{"default/b-1", "default/b-2"})

	if err := db.DeletePod(ctx, "default", "y-1"); err != nil {
		t.Fatal(err)
	}
	check("default", jn, []string{"y"}, []string{"default/x-2"})
}

// TestOpen_MigratesIndexes: a schema 1 database (no label, live-pod or
// Job owner index) is indexed when the daemon opens it read-write; read-only, it is
// read without the indexes (the answers are the same).
func TestOpen_MigratesIndexes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpen(t, dir, Options{})
	for i := range 50 {
		p := labelled(testPod("default", "p-"+strconv.Itoa(i), "u"+strconv.Itoa(i), "", i), "job-name", "j"+strconv.Itoa(i%5))
		if i >= 2 {
			p.Pod.Status.Phase = manifest.PodSucceeded // two live pods, p-0 and p-1
		}
		if err := db.SavePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	yes := true
	owned := testJob("default", "owned", "ju", 0)
	owned.OwnerReferences = []manifest.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "c", UID: "cj-uid", Controller: &yes}}
	if err := db.SaveJob(ctx, owned); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Make it a schema 1 database, as the previous release wrote it.
	rewriteDB(t, dir, func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketPodsByLabel, bucketPodsLive, bucketJobsByOwner} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("1"))
	})
	want := []string{"default/p-3", "default/p-8", "default/p-13", "default/p-18", "default/p-23", "default/p-28", "default/p-33", "default/p-38", "default/p-43", "default/p-48"}

	ro, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only Open of schema 1: %v", err)
	}
	pods, err := ro.PodsLabelled(ctx, "default", "job-name", []string{"j3"})
	if err != nil || !slices.Equal(podNames(pods), want) {
		t.Errorf("read-only schema 1: PodsLabelled = %v, %v; want %v", podNames(pods), err, want)
	}
	wantLive := []string{"default/p-0", "default/p-1"}
	live, err := ro.LivePods(ctx)
	if err != nil || !slices.Equal(podNames(live), wantLive) {
		t.Errorf("read-only schema 1: LivePods = %v, %v; want %v", podNames(live), err, wantLive)
	}
	if jobs, err := ro.JobsOwnedBy(ctx, "default", "cj-uid"); err != nil || !slices.Equal(jobNames(jobs), []string{"owned"}) {
		t.Errorf("read-only schema 1: JobsOwnedBy = %v, %v; want [owned]", jobNames(jobs), err)
	}
	ro.Close()

	db = mustOpen(t, dir, Options{})
	defer db.Close()
	var entries, liveEntries, ownerEntries int
	if err := db.view(func(tx *bolt.Tx) error {
		entries = tx.Bucket(bucketPodsByLabel).Stats().KeyN
		liveEntries = tx.Bucket(bucketPodsLive).Stats().KeyN
		ownerEntries = tx.Bucket(bucketJobsByOwner).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if entries != 50 || liveEntries != 2 || ownerEntries != 1 {
		t.Errorf("indexes after migration: %d label entries, %d live, %d owner; want 50, 2, 1", entries, liveEntries, ownerEntries)
	}
	if jobs, err := db.JobsOwnedBy(ctx, "default", "cj-uid"); err != nil || !slices.Equal(jobNames(jobs), []string{"owned"}) {
		t.Errorf("migrated: JobsOwnedBy = %v, %v; want [owned]", jobNames(jobs), err)
	}
	if live, err := db.LivePods(ctx); err != nil || !slices.Equal(podNames(live), wantLive) {
		t.Errorf("migrated: LivePods = %v, %v; want %v", podNames(live), err, wantLive)
	}
	pods, err = db.PodsLabelled(ctx, "default", "job-name", []string{"j3"})
	if err != nil || !slices.Equal(podNames(pods), want) {
		t.Errorf("migrated: PodsLabelled = %v, %v; want %v", podNames(pods), err, want)
	}
}

// TestDB_LivePods: the live-pod index answers exactly the pods not in a
// terminal phase, and follows phase changes and deletes.
func TestDB_LivePods(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	phased := func(p *runner.PodRecord, phase string) *runner.PodRecord {
		p.Pod.Status.Phase = phase
		return p
	}
	if err := db.SavePods(ctx, []*runner.PodRecord{
		phased(testPod("default", "pending", "u1", "", 1), manifest.PodPending),
		phased(testPod("default", "running", "u2", "", 2), manifest.PodRunning),
		phased(testPod("default", "done", "u3", "", 3), manifest.PodSucceeded),
		phased(testPod("other", "failed", "u4", "", 4), manifest.PodFailed),
		phased(testPod("other", "unknown", "u5", "", 0), manifest.PodUnknown),
	}); err != nil {
		t.Fatal(err)
	}
	check := func(want ...string) {
		t.Helper()
		pods, err := db.LivePods(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := podNames(pods); !slices.Equal(got, want) {
			t.Errorf("LivePods = %v, want %v", got, want)
		}
	}
	check("other/unknown", "default/pending", "default/running")
	if err := db.SavePod(ctx, phased(testPod("default", "running", "u2", "", 2), manifest.PodFailed)); err != nil {
		t.Fatal(err)
	}
	if err := db.SavePod(ctx, phased(testPod("default", "pending", "u1", "", 1), manifest.PodRunning)); err != nil {
		t.Fatal(err)
	}
	check("other/unknown", "default/pending")
	if err := db.DeletePod(ctx, "other", "unknown"); err != nil {
		t.Fatal(err)
	}
	check("default/pending")
}
