package state

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/localjobs/localjobs/manifest"
)

// TestPodsOfJobDecodesOnlyChanges: a second PodsOfJob hands back the
// records it decoded before for the pods that did not change, and a fresh
// decode for the one that did, a re-created one, and none for a deleted
// one; past the cache's bound every answer is still right.
func TestPodsOfJobDecodesOnlyChanges(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	for i := range 5 {
		if err := db.SavePod(ctx, testPod("default", fmt.Sprintf("p-%d", i), fmt.Sprintf("u%d", i), "job-a", i)); err != nil {
			t.Fatal(err)
		}
	}
	first, err := db.PodsOfJob(ctx, "job-a")
	if err != nil || len(first) != 5 {
		t.Fatalf("PodsOfJob = %d pods, %v", len(first), err)
	}
	changed := testPod("default", "p-1", "u1", "job-a", 1)
	changed.Pod.Status.Phase = manifest.PodSucceeded
	if err := db.SavePod(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePod(ctx, "default", "p-2"); err != nil {
		t.Fatal(err)
	}
	second, err := db.PodsOfJob(ctx, "job-a")
	if err != nil || len(second) != 4 {
		t.Fatalf("PodsOfJob = %v, %v; want 4 pods", podNames(second), err)
	}
	for i, want := range map[int]int{0: 0, 2: 3, 3: 4} { // unchanged: second[i] is first[want]
		if second[i] != first[want] {
			t.Errorf("unchanged pod %s decoded again", second[i].Pod.Name)
		}
	}
	if second[1] == first[1] || second[1].Pod.Status.Phase != manifest.PodSucceeded {
		t.Errorf("changed pod p-1: same record %v, phase %s; want a new decode, Succeeded", second[1] == first[1], second[1].Pod.Status.Phase)
	}
	if n := db.podsOfJob.len(); n != 4 {
		t.Errorf("cache holds %d records after a delete; want 4", n)
	}

	// A bound smaller than one record: nothing stays, answers stay right.
	db.podsOfJob.mu.Lock()
	db.podsOfJob.max = 1
	db.podsOfJob.mu.Unlock()
	changed.Pod.Status.Phase = manifest.PodFailed
	if err := db.SavePod(ctx, changed); err != nil {
		t.Fatal(err)
	}
	third, err := db.PodsOfJob(ctx, "job-a")
	if err != nil || len(third) != 4 || third[1].Pod.Status.Phase != manifest.PodFailed {
		t.Fatalf("PodsOfJob past the bound = %v, %v", podNames(third), err)
	}
	if third[2] == second[2] || third[3] == second[3] {
		t.Errorf("pods after the changed one were not decoded again: the cache held more than its bound")
	}
	if n := db.podsOfJob.len(); n != 0 {
		t.Errorf("cache holds %d records past its bound; want 0", n)
	}
}

// BenchmarkPodsOfJob: one list of a 200-pod Job of which one pod changed
// since the last list, as a Job's worker does after each pod change.
func BenchmarkPodsOfJob(b *testing.B) {
	ctx := context.Background()
	db, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for i := range 200 {
		if err := db.SavePod(ctx, testPod("default", fmt.Sprintf("p-%03d", i), fmt.Sprintf("u%d", i), "job-a", i)); err != nil {
			b.Fatal(err)
		}
	}
	p := testPod("default", "p-000", "u0", "job-a", 0)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		p.Containers[0].RestartCount = int32(i)
		if err := db.SavePod(ctx, p); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := db.PodsOfJob(ctx, "job-a"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSharedListsDecodeOnlyChanges: JobsShared and CronJobsShared hand
// back the records they decoded before for what did not change, a fresh
// decode for what did, nothing for what was deleted; Jobs and CronJobs
// decode afresh every time (their callers may change what they get).
func TestSharedListsDecodeOnlyChanges(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	for i := range 3 {
		if err := db.SaveJob(ctx, testJob("default", fmt.Sprintf("j-%d", i), fmt.Sprintf("ju%d", i), i)); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveCronJob(ctx, testCronJob("default", fmt.Sprintf("c-%d", i), fmt.Sprintf("cu%d", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	jobs1, err := db.JobsShared(ctx, "default")
	if err != nil || len(jobs1) != 3 {
		t.Fatalf("JobsShared = %v, %v", jobNames(jobs1), err)
	}
	cjs1, err := db.CronJobsShared(ctx, "")
	if err != nil || len(cjs1) != 3 {
		t.Fatalf("CronJobsShared = %d, %v", len(cjs1), err)
	}

	j := testJob("default", "j-1", "ju1", 1)
	j.Status.Succeeded = 1
	if err := db.SaveJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteJob(ctx, "default", "j-2"); err != nil {
		t.Fatal(err)
	}
	cj := testCronJob("default", "c-0", "cu0", 0)
	cj.Spec.Schedule = "@hourly"
	if err := db.SaveCronJob(ctx, cj); err != nil {
		t.Fatal(err)
	}

	jobs2, err := db.JobsShared(ctx, "default")
	if err != nil || !slices.Equal(jobNames(jobs2), []string{"j-0", "j-1"}) {
		t.Fatalf("JobsShared after changes = %v, %v", jobNames(jobs2), err)
	}
	if jobs2[0] != jobs1[0] {
		t.Error("unchanged Job j-0 decoded again")
	}
	if jobs2[1] == jobs1[1] || jobs2[1].Status.Succeeded != 1 {
		t.Errorf("changed Job j-1: same record %v, succeeded %d; want a new decode", jobs2[1] == jobs1[1], jobs2[1].Status.Succeeded)
	}
	cjs2, err := db.CronJobsShared(ctx, "default")
	if err != nil || len(cjs2) != 3 {
		t.Fatalf("CronJobsShared after a change = %d, %v", len(cjs2), err)
	}
	if cjs2[0] == cjs1[0] || cjs2[0].Spec.Schedule != "@hourly" || cjs2[1] != cjs1[1] || cjs2[2] != cjs1[2] {
		t.Errorf("CronJobsShared: changed c-0 new %v (schedule %s), unchanged kept %v %v",
			cjs2[0] != cjs1[0], cjs2[0].Spec.Schedule, cjs2[1] == cjs1[1], cjs2[2] == cjs1[2])
	}
	if n := db.sharedJobs.len(); n != 2 {
		t.Errorf("Job cache holds %d records after a delete; want 2", n)
	}

	own1, err := db.Jobs(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	own2, err := db.Jobs(ctx, "default")
	if err != nil || own1[0] == own2[0] || own1[0] == jobs2[0] {
		t.Errorf("Jobs handed out a shared record (%v)", err)
	}
	cown, err := db.CronJobs(ctx, "default")
	if err != nil || cown[1] == cjs2[1] {
		t.Errorf("CronJobs handed out a shared record (%v)", err)
	}
}
