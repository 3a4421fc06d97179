package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/runner"
)

// TestGroupCommit: the writes that arrive while a commit is in progress
// share the next transaction, and a write that fails in it fails alone.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir(), Options{})
	const writers = 10
	queued := make(chan struct{})
	db.commits.queued = func(n int) {
		if n == writers {
			close(queued)
		}
	}
	// A first write holds its transaction open until every writer queued.
	hold, entered := make(chan struct{}), make(chan struct{})
	leader := make(chan error, 1)
	go func() {
		leader <- db.update(func(tx *bolt.Tx) error {
			close(entered)
			<-hold
			return nil
		})
	}()
	<-entered
	before := db.commits.committed.Load()
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == writers/2 {
				// Fails in the shared transaction: its error alone.
				errs[i] = db.DeletePod(ctx, "default", "missing")
				return
			}
			errs[i] = db.SavePod(ctx, testPod("default", fmt.Sprintf("p%d", i), fmt.Sprintf("uid-%d", i), "", i))
		}()
	}
	<-queued
	close(hold)
	wg.Wait()
	if err := <-leader; err != nil {
		t.Fatalf("leader: %v", err)
	}
	for i, err := range errs {
		if i == writers/2 {
			if !errors.Is(err, runner.ErrObjectNotFound) {
				t.Errorf("DeletePod of a missing pod in a shared commit = %v, want ErrObjectNotFound", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("SavePod p%d: %v", i, err)
		}
	}
	// Before the grouping: one commit for each of the nine writes.
	if got := db.commits.committed.Load() - before; got != 2 {
		t.Errorf("%d commits for the held write and the %d queued behind it, want 2 (its own, then one for the nine that succeed)", got, writers)
	}
	pods, err := db.Pods(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != writers-1 {
		t.Errorf("stored %d pods, want %d", len(pods), writers-1)
	}
}
