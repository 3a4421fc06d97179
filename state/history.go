package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/runner"
)

// Run history and the notification outbox (see the package doc for the
// buckets). A run is filed under its Job's name and, for a CronJob's Job,
// under the CronJob too; index keys end with the finish time (8 bytes,
// big-endian Unix nanoseconds) and the Job UID, so a prefix scan lists one
// owner's runs oldest first.

func timeKey(t time.Time, uid string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(max(t.UnixNano(), 0))), uid...)
}

func ownerPrefix(ns, kind, name string) []byte { return []byte(ns + "/" + kind + "/" + name + "/") }

// ownerPrefixes are the owner prefixes a run is filed under.
func ownerPrefixes(r *history.Run) [][]byte {
	ps := [][]byte{ownerPrefix(r.Namespace, "job", r.Job)}
	if r.CronJob != "" {
		ps = append(ps, ownerPrefix(r.Namespace, "cronjob", r.CronJob))
	}
	return ps
}

// ownerKeys are the runsByOwner keys of a run.
func ownerKeys(r *history.Run) [][]byte {
	tk := timeKey(r.Finished, r.UID)
	keys := ownerPrefixes(r)
	for i, p := range keys {
		keys[i] = append(p, tk...)
	}
	return keys
}

// RecordRun stores the record of a Job run and, if note is set, its
// notification as Pending, in one transaction; then it drops the oldest runs
// of the run's owners beyond keep.Limit. It does nothing and returns false if
// the Job (by UID) already has a record: recording is idempotent, so the
// recorder's restart reconcile and its change stream may both try.
//
// Exactly-once: a run is pruned only once its Job is gone from the store
// and its notification is not pending, so a finished Job is recorded, and
// its notification queued, once.
func (db *DB) RecordRun(ctx context.Context, r *history.Run, note *history.Notification, keep history.Retention) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if r.UID == "" || checkKey("job", r.Namespace, r.Job) != nil || strings.Contains(r.CronJob, "/") {
		return false, fmt.Errorf("record run of %s/%s: bad key (uid %q)", r.Namespace, r.Job, r.UID)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("record run of %s/%s: %w", r.Namespace, r.Job, err)
	}
	var ndata []byte
	if note != nil {
		if ndata, err = json.Marshal(note); err != nil {
			return false, fmt.Errorf("record run of %s/%s: %w", r.Namespace, r.Job, err)
		}
	}
	keep = keep.OrDefault()
	created := false
	err = db.update(func(tx *bolt.Tx) error {
		created = false // set afresh on each run (commit.go)
		runs := tx.Bucket(bucketRuns)
		if runs.Get([]byte(r.UID)) != nil {
			return nil
		}
		created = true
		if err := runs.Put([]byte(r.UID), data); err != nil {
			return err
		}
		byOwner := tx.Bucket(bucketRunsByOwner)
		for _, k := range ownerKeys(r) {
			if err := byOwner.Put(k, nil); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketRunsByTime).Put(timeKey(r.Finished, r.UID), nil); err != nil {
			return err
		}
		if err := updateLast(tx, r); err != nil {
			return err
		}
		if ndata != nil {
			nb := tx.Bucket(bucketNotifications)
			if nb.Get([]byte(r.UID)) == nil {
				if err := nb.Put([]byte(r.UID), ndata); err != nil {
					return err
				}
			}
		}
		for _, p := range ownerPrefixes(r) {
			if _, err := pruneOwner(tx, p, keep.Limit); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record run of %s/%s: %w", r.Namespace, r.Job, err)
	}
	return created, nil
}

// updateLast keeps the runsLast entry of a CronJob's run.
func updateLast(tx *bolt.Tx, r *history.Run) error {
	if r.CronJob == "" || (r.Outcome != history.OutcomeComplete && r.Outcome != history.OutcomeFailed) {
		return nil
	}
	b := tx.Bucket(bucketRunsLast)
	key := objectKey(r.Namespace, r.CronJob)
	last := history.Last{Namespace: r.Namespace, CronJob: r.CronJob}
	if v := b.Get(key); v != nil {
		if err := json.Unmarshal(v, &last); err != nil {
			return fmt.Errorf("decode last runs of %s: %w", key, err)
		}
	}
	if r.Outcome == history.OutcomeComplete && r.Finished.After(last.LastSucceeded) {
		last.LastSucceeded = r.Finished
	}
	if r.Outcome == history.OutcomeFailed && r.Finished.After(last.LastFailed) {
		last.LastFailed = r.Finished
	}
	data, err := json.Marshal(&last)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// pruneOwner deletes the oldest runs under prefix beyond limit, but for
// protected ones.
func pruneOwner(tx *bolt.Tx, prefix []byte, limit int) (int, error) {
	var keys [][]byte
	err := scanPrefix(tx.Bucket(bucketRunsByOwner), prefix, func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	if err != nil || len(keys) <= limit {
		return 0, err
	}
	n := 0
	for _, k := range keys[:len(keys)-limit] {
		uid := string(k[len(prefix)+8:])
		gone, err := deleteRunIfFree(tx, uid)
		if err != nil {
			return n, err
		}
		if gone {
			n++
		}
	}
	return n, nil
}

// deleteRunIfFree deletes a run with its index entries and its notification
// unless its Job still exists or its notification is pending.
func deleteRunIfFree(tx *bolt.Tx, uid string) (bool, error) {
	v := tx.Bucket(bucketRuns).Get([]byte(uid))
	if v == nil {
		return false, nil
	}
	var r history.Run
	if err := json.Unmarshal(v, &r); err != nil {
		return false, fmt.Errorf("decode run %s: %w", uid, err)
	}
	if jobExists(tx, r.Namespace, r.Job, uid) {
		return false, nil
	}
	nb := tx.Bucket(bucketNotifications)
	if nv := nb.Get([]byte(uid)); nv != nil {
		var n history.Notification
		if err := json.Unmarshal(nv, &n); err != nil {
			return false, fmt.Errorf("decode notification %s: %w", uid, err)
		}
		if n.State == history.NotifyPending {
			return false, nil
		}
		if err := nb.Delete([]byte(uid)); err != nil {
			return false, err
		}
	}
	byOwner := tx.Bucket(bucketRunsByOwner)
	for _, k := range ownerKeys(&r) {
		if err := byOwner.Delete(k); err != nil {
			return false, err
		}
	}
	if err := tx.Bucket(bucketRunsByTime).Delete(timeKey(r.Finished, uid)); err != nil {
		return false, err
	}
	return true, tx.Bucket(bucketRuns).Delete([]byte(uid))
}

func jobExists(tx *bolt.Tx, ns, name, uid string) bool {
	v := tx.Bucket(bucketJobs).Get(objectKey(ns, name))
	if v == nil {
		return false
	}
	var j struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
	}
	// A Job that cannot be decoded is kept as if it were this one: never
	// prune on a failed read.
	return json.Unmarshal(v, &j) != nil || j.Metadata.UID == uid
}

// PruneRuns applies keep to every owner and drops runs older than
// keep.MaxAge (but protected ones, see RecordRun), and the runsLast entries
// of CronJobs left with no run. It returns how many runs it deleted.
func (db *DB) PruneRuns(ctx context.Context, keep history.Retention, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	keep = keep.OrDefault()
	cutoff := timeKey(now.Add(-keep.MaxAge), "")
	n := 0
	err := db.update(func(tx *bolt.Tx) error {
		n = 0 // set afresh on each run (commit.go)
		var old []string
		c := tx.Bucket(bucketRunsByTime).Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], cutoff) < 0; k, _ = c.Next() {
			old = append(old, string(k[8:]))
		}
		for _, uid := range old {
			gone, err := deleteRunIfFree(tx, uid)
			if err != nil {
				return err
			}
			if gone {
				n++
			}
		}
		owners := map[string]bool{}
		err := tx.Bucket(bucketRunsByOwner).ForEach(func(k, _ []byte) error {
			if p := ownerOf(k); p != "" {
				owners[p] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range slices.Sorted(maps.Keys(owners)) {
			m, err := pruneOwner(tx, []byte(p), keep.Limit)
			if err != nil {
				return err
			}
			n += m
		}
		var stale [][]byte
		err = tx.Bucket(bucketRunsLast).ForEach(func(k, _ []byte) error {
			ns, name, _ := strings.Cut(string(k), "/")
			if !owners[string(ownerPrefix(ns, "cronjob", name))] {
				stale = append(stale, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range stale {
			if err := tx.Bucket(bucketRunsLast).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune run history: %w", err)
	}
	return n, nil
}

// ownerOf is the owner prefix (ns/kind/name/) of a runsByOwner key: up to
// its third '/', as namespaces, kinds and names hold none.
func ownerOf(k []byte) string {
	slashes := 0
	for i, b := range k {
		if b == '/' {
			if slashes++; slashes == 3 {
				return string(k[:i+1])
			}
		}
	}
	return ""
}

// HasRun reports whether the Job with this UID has a record.
func (db *DB) HasRun(ctx context.Context, uid string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	found := false
	err := db.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketRuns); b != nil {
			found = b.Get([]byte(uid)) != nil
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("run %s: %w", uid, err)
	}
	return found, nil
}

// Runs lists the runs q selects, newest first (by finish time). A database
// from before run history existed, opened read-only, has none.
func (db *DB) Runs(ctx context.Context, q history.Query) ([]*history.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Kind != "" && (q.Kind != "cronjob" && q.Kind != "job" || q.Namespace == "" || q.Name == "") {
		return nil, fmt.Errorf("list runs: want kind cronjob or job, a namespace and a name (got %q %q %q)", q.Kind, q.Namespace, q.Name)
	}
	var out []*history.Run
	err := db.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		if runs == nil {
			return nil
		}
		var uids []string
		switch {
		case q.Kind != "":
			p := ownerPrefix(q.Namespace, q.Kind, q.Name)
			err := scanPrefix(tx.Bucket(bucketRunsByOwner), p, func(k, _ []byte) error {
				uids = append(uids, string(k[len(p)+8:]))
				return nil
			})
			if err != nil {
				return err
			}
			slices.Reverse(uids)
		case q.Namespace != "":
			// Every run is filed under its Job's name once.
			p := []byte(q.Namespace + "/job/")
			err := scanPrefix(tx.Bucket(bucketRunsByOwner), p, func(k, _ []byte) error {
				if o := ownerOf(k); o != "" {
					uids = append(uids, string(k[len(o)+8:]))
				}
				return nil
			})
			if err != nil {
				return err
			}
		default:
			c := tx.Bucket(bucketRunsByTime).Cursor()
			for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
				uids = append(uids, string(k[8:]))
			}
		}
		for _, uid := range uids {
			v := runs.Get([]byte(uid))
			if v == nil {
				return fmt.Errorf("index names run %s, which is missing", uid)
			}
			r := new(history.Run)
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("decode run %s: %w", uid, err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	slices.SortStableFunc(out, func(a, b *history.Run) int { return b.Finished.Compare(a.Finished) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// LastRuns lists, per CronJob with recorded runs, when its newest
// successful and failed runs finished.
func (db *DB) LastRuns(ctx context.Context) ([]*history.Last, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*history.Last
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRunsLast)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			l := new(history.Last)
			if err := json.Unmarshal(v, l); err != nil {
				return fmt.Errorf("decode last runs of %s: %w", k, err)
			}
			out = append(out, l)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list last runs: %w", err)
	}
	return out, nil
}

// PendingNotifications lists the notifications still to deliver, oldest
// first.
func (db *DB) PendingNotifications(ctx context.Context) ([]*history.Notification, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*history.Notification
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNotifications)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			n := new(history.Notification)
			if err := json.Unmarshal(v, n); err != nil {
				return fmt.Errorf("decode notification %s: %w", k, err)
			}
			if n.State == history.NotifyPending {
				out = append(out, n)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list pending notifications: %w", err)
	}
	slices.SortStableFunc(out, func(a, b *history.Notification) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// Notification returns the outbox entry of the Job with this UID, or an
// error wrapping runner.ErrObjectNotFound.
func (db *DB) Notification(ctx context.Context, uid string) (*history.Notification, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var n *history.Notification
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNotifications)
		var v []byte
		if b != nil {
			v = b.Get([]byte(uid))
		}
		if v == nil {
			return runner.ErrObjectNotFound
		}
		n = new(history.Notification)
		return json.Unmarshal(v, n)
	})
	if err != nil {
		return nil, fmt.Errorf("notification %s: %w", uid, err)
	}
	return n, nil
}

// SaveNotification updates an outbox entry (its state, attempts, last
// error). A Sent entry is never turned back into a Pending one.
func (db *DB) SaveNotification(ctx context.Context, n *history.Notification) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("save notification %s: %w", n.UID, err)
	}
	err = db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNotifications)
		if v := b.Get([]byte(n.UID)); v != nil && n.State == history.NotifyPending {
			var cur history.Notification
			if err := json.Unmarshal(v, &cur); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			if cur.State == history.NotifySent {
				return nil
			}
		}
		return b.Put([]byte(n.UID), data)
	})
	if err != nil {
		return fmt.Errorf("save notification %s: %w", n.UID, err)
	}
	return nil
}
