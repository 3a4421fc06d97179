package controller_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// crashStore stands in for a daemon killed (kill -9) in the middle of a
// delete: once armed, the second pod delete and everything after it fail.
type crashStore struct {
	*runnertest.Store
	mu      sync.Mutex
	armed   bool
	deletes int
}

var errCrashed = errors.New("killed")

func (s *crashStore) DeletePod(ctx context.Context, ns, name string) error {
	s.mu.Lock()
	if s.armed {
		s.deletes++
		if s.deletes >= 2 {
			s.mu.Unlock()
			return errCrashed
		}
	}
	s.mu.Unlock()
	return s.Store.DeletePod(ctx, ns, name)
}

func (s *crashStore) DeleteJob(ctx context.Context, ns, name string) error {
	s.mu.Lock()
	armed := s.armed
	s.mu.Unlock()
	if armed {
		return errCrashed
	}
	return s.Store.DeleteJob(ctx, ns, name)
}

// TestDeleteJobFinishedAfterCrash: a daemon dies in the middle of `delete
// job` (one of three pods deleted); the next daemon finishes the delete —
// the Job and all its pods are gone and no pod is created again — rather
// than bring the Job back to re-run what the delete removed (issue #10
// item 9e).
func TestDeleteJobFinishedAfterCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &crashStore{Store: runnertest.NewStore()}
		rt := runnertest.NewRuntime("busybox")
		rt.Script = runFor(time.Hour)
		c1, _, stop1 := startDaemon(store, rt, nil)
		job, err := c1.ApplyJob(context.Background(), newJob("doomed", func(s *manifest.JobSpec) {
			s.Completions, s.Parallelism = p32(3), p32(3)
		}))
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // three pods running
		store.mu.Lock()
		store.armed = true
		store.mu.Unlock()
		if err := c1.DeleteJob(context.Background(), "default", "doomed"); !errors.Is(err, errCrashed) {
			t.Fatalf("delete: %v, want the crash", err)
		}
		stop1()
		created := len(rt.Created)

		store.mu.Lock()
		store.armed = false
		store.mu.Unlock()
		c2, _, stop2 := startDaemon(store, rt, nil)
		defer stop2()
		if _, err := c2.Restore(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // fake time: the restored daemon does its work
		synctest.Wait()
		if j, err := store.Job(context.Background(), "default", "doomed"); err == nil {
			t.Errorf("job still there after the restart: %+v", j.Status)
		}
		if pods, _ := store.PodsOfJob(context.Background(), job.UID); len(pods) != 0 {
			t.Errorf("%d pods of the deleted job remain", len(pods))
		}
		if n := len(rt.Created) - created; n != 0 {
			t.Errorf("%d pods created after the restart, want none", n)
		}
		stop2()
		rt.KillAll()
	})
}
