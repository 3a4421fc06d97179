package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// AddEvent appends an event to those of its involved object (by UID),
// dropping the oldest beyond MaxEventsPerObject.
func (db *DB) AddEvent(ctx context.Context, e *manifest.Event) error {
	return db.SavePodEvents(ctx, nil, []*manifest.Event{e})
}

// SavePodEvents stores the events, each as AddEvent does, and then the pod
// record (nil: none), in one transaction: one sync to disk for what a step
// of a pod's worker records.
func (db *DB) SavePodEvents(ctx context.Context, p *runner.PodRecord, events []*manifest.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data := make([][]byte, len(events))
	for i, e := range events {
		if uid := e.InvolvedObject.UID; uid == "" || strings.Contains(uid, "/") {
			return fmt.Errorf("add event %s: bad involved object uid %q", e.Reason, uid)
		}
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("add event %s: %w", e.Reason, err)
		}
		data[i] = b
	}
	var pod []byte
	if p != nil {
		b, err := encodePod(p)
		if err != nil {
			return err
		}
		pod = b
	}
	err := db.update(func(tx *bolt.Tx) error {
		for i, e := range events {
			if err := putEvent(tx, e, data[i]); err != nil {
				return err
			}
		}
		if p != nil {
			return putPod(tx, p, pod)
		}
		return nil
	})
	switch {
	case err == nil:
		return nil
	case p != nil:
		return fmt.Errorf("save pod %s/%s: %w", p.Pod.Namespace, p.Pod.Name, err)
	case len(events) > 0:
		return fmt.Errorf("add event %s for %s: %w", events[0].Reason, events[0].InvolvedObject.UID, err)
	}
	return err
}

// putEvent writes one event (data: e encoded), folded into the newest
// one it repeats, and drops the object's oldest beyond the cap.
func putEvent(tx *bolt.Tx, e *manifest.Event, data []byte) error {
	b := tx.Bucket(bucketEvents)
	prefix := []byte(e.InvolvedObject.UID + "/")
	if folded, err := foldEvent(b, prefix, e); err != nil || folded {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	if err := b.Put(binary.BigEndian.AppendUint64(bytes.Clone(prefix), seq), data); err != nil {
		return err
	}
	// Keys of one object sort by sequence: drop the oldest beyond the cap.
	var keys [][]byte
	err = scanPrefix(b, prefix, func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return err
	}
	var old [][]byte
	if len(keys) > MaxEventsPerObject {
		old = keys[:len(keys)-MaxEventsPerObject]
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// foldEvent folds e into the newest event of the object that it repeats
// (runner.SameEvent), rewriting that event in place; it reports whether it
// did.
func foldEvent(b *bolt.Bucket, prefix []byte, e *manifest.Event) (bool, error) {
	c := b.Cursor()
	// From the newest key of the object back.
	k, v := c.Seek(append(bytes.Clone(prefix), 0xff))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	// An event repeats e only if its stored JSON holds e's message as
	// json.Marshal wrote it: the others (a Job's "Created pod: …" for each
	// of its pods) need not be decoded.
	var msg []byte
	if e.Message != "" {
		m, err := json.Marshal(e.Message)
		if err != nil {
			return false, err
		}
		msg = append([]byte(`"message":`), m...)
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		if msg != nil && !bytes.Contains(v, msg) {
			continue
		}
		var old manifest.Event
		if err := json.Unmarshal(v, &old); err != nil {
			continue
		}
		if !runner.SameEvent(&old, e) {
			continue
		}
		runner.FoldEvent(&old, e)
		data, err := json.Marshal(e)
		if err != nil {
			return false, err
		}
		return true, b.Put(bytes.Clone(k), data)
	}
	return false, nil
}

// Events returns the events of the object with this UID, in the order they
// were added; with uid "" it returns every event of namespace ns ("" = all
// namespaces) sorted by time (eventTime, else lastTimestamp, else
// firstTimestamp), ties in the order they were added.
func (db *DB) Events(ctx context.Context, ns, uid string) ([]*manifest.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type seqEvent struct {
		seq uint64
		e   *manifest.Event
	}
	var evs []seqEvent
	var prefix []byte
	if uid != "" {
		prefix = []byte(uid + "/")
	}
	err := db.view(func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bucketEvents), prefix, func(k, v []byte) error {
			e := new(manifest.Event)
			if err := json.Unmarshal(v, e); err != nil {
				return fmt.Errorf("decode event %q: %w", k, err)
			}
			if ns != "" && eventNamespace(e) != ns {
				return nil
			}
			var seq uint64
			if len(k) >= 8 {
				seq = binary.BigEndian.Uint64(k[len(k)-8:])
			}
			evs = append(evs, seqEvent{seq, e})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	if uid == "" {
		slices.SortFunc(evs, func(a, b seqEvent) int {
			if c := eventTime(a.e).Compare(eventTime(b.e)); c != 0 {
				return c
			}
			return cmpUint(a.seq, b.seq)
		})
	}
	out := make([]*manifest.Event, len(evs))
	for i, se := range evs {
		out[i] = se.e
	}
	return out, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func eventNamespace(e *manifest.Event) string {
	if e.Namespace != "" {
		return e.Namespace
	}
	return e.InvolvedObject.Namespace
}

func eventTime(e *manifest.Event) time.Time {
	switch {
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// deleteEvents removes every event of the object with this UID.
func deleteEvents(tx *bolt.Tx, uid string) error {
	if uid == "" {
		return nil
	}
	b := tx.Bucket(bucketEvents)
	var keys [][]byte
	err := scanPrefix(b, []byte(uid+"/"), func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("delete events of %s: %w", uid, err)
		}
	}
	return nil
}
