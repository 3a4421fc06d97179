package state

import (
	"errors"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// Group commit: the writers that arrive while a transaction is being
// committed share the next one. Each commit syncs the file to disk, and
// a pod's attempt is several small writes (its steps, its events): with
// a Job's pods running side by side, one sync serves them all. A lone
// writer commits at once, as before — nothing waits to gather a batch
// (bbolt's own Batch would hold every write for its MaxBatchDelay).
//
// Every caller still returns only once its own write is durable, or with
// the error that write met: a write that fails in a shared transaction
// is taken out of it (the transaction is rolled back and the others run
// again without it), so one write's error never undoes another's. The
// functions run again after such a rollback: they must leave nothing
// behind but their writes in tx (outputs they set are set afresh on
// each run).

// commitCall is one writer's function and the channel of its result.
type commitCall struct {
	fn   func(tx *bolt.Tx) error
	done chan error
}

// committer queues the writes of DB.update.
type committer struct {
	mu         sync.Mutex
	queue      []*commitCall
	committing bool // a goroutine runs commitQueued
	// queued, if set (tests), is called with the queue's length each
	// time a write joins the queue behind a commit in progress.
	queued func(n int)
	// committed counts the transactions committed.
	committed atomic.Int64
}

// errFnFailed marks a rolled-back batch whose function at index failed.
type errFnFailed struct {
	index int
	err   error
}

func (e *errFnFailed) Error() string { return e.err.Error() }

// update runs fn in a read-write transaction, shared with the writes
// queued at the same time (see above), failing early when read-only; a
// bbolt panic (a damaged page) is returned as ErrCorrupt.
func (db *DB) update(fn func(tx *bolt.Tx) error) error {
	if db.readOnly {
		return ErrReadOnly
	}
	call := &commitCall{fn: fn, done: make(chan error, 1)}
	c := &db.commits
	c.mu.Lock()
	c.queue = append(c.queue, call)
	lead := !c.committing
	c.committing = true
	if !lead && c.queued != nil {
		c.queued(len(c.queue))
	}
	c.mu.Unlock()
	if lead {
		db.commitQueued()
	}
	return <-call.done
}

// commitQueued commits the queued writes as one transaction, then hands
// the writes queued meanwhile to a new goroutine, so that the writer
// that led this batch returns with it.
func (db *DB) commitQueued() {
	c := &db.commits
	c.mu.Lock()
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()
	db.commitBatch(batch)
	c.mu.Lock()
	if len(c.queue) > 0 {
		go db.commitQueued()
	} else {
		c.committing = false
	}
	c.mu.Unlock()
}

// commitBatch runs the batch's functions in one transaction and answers
// each caller; a failing function is answered with its error and the
// rest committed without it.
func (db *DB) commitBatch(batch []*commitCall) {
	for len(batch) > 0 {
		err := db.updateTx(func(tx *bolt.Tx) error {
			for i, call := range batch {
				if err := call.fn(tx); err != nil {
					return &errFnFailed{index: i, err: err}
				}
			}
			return nil
		})
		var failed *errFnFailed
		if !errors.As(err, &failed) {
			// Committed, or the commit itself failed: the same answer
			// for every write in it.
			for _, call := range batch {
				call.done <- err
			}
			return
		}
		// The function saw the state the writes before it in the batch
		// left, as it would have after their own commits: its error is
		// its answer; it wrote nothing.
		batch[failed.index].done <- failed.err
		batch = append(batch[:failed.index:failed.index], batch[failed.index+1:]...)
	}
}

// updateTx runs fn in one read-write transaction; a bbolt panic (a
// damaged page) is returned as ErrCorrupt.
func (db *DB) updateTx(fn func(tx *bolt.Tx) error) (err error) {
	defer db.recoverCorrupt(&err)
	if err := db.bolt.Update(fn); err != nil {
		return err
	}
	db.commits.committed.Add(1)
	return nil
}
