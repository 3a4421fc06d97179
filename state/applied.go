package state

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/apply"
	"github.com/localjobs/localjobs/runner"
)

// Applied is the record of an applied object (apply.Record): its source
// and the hash of the applied spec.
type Applied = apply.Record

var _ apply.Records = (*DB)(nil)

func appliedKey(kind, ns, name string) []byte { return []byte(kind + "/" + ns + "/" + name) }

// SaveApplied records an applied object.
func (db *DB) SaveApplied(ctx context.Context, a *Applied) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode applied: %w", err)
	}
	return db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApplied).Put(appliedKey(a.Kind, a.Namespace, a.Name), b)
	})
}

// DeleteApplied forgets an applied object (deleted by the user, or pruned).
func (db *DB) DeleteApplied(ctx context.Context, kind, ns, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApplied).Delete(appliedKey(kind, ns, name))
	})
}

// Applied returns the applied record of one object, or an error wrapping
// runner.ErrObjectNotFound.
func (db *DB) Applied(ctx context.Context, kind, ns, name string) (*Applied, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var a *Applied
	err := db.view(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketApplied)
		if bk == nil {
			return nil
		}
		v := bk.Get(appliedKey(kind, ns, name))
		if v == nil {
			return nil
		}
		a = &Applied{}
		return json.Unmarshal(v, a)
	})
	if err != nil {
		return nil, fmt.Errorf("applied %s %s/%s: %w", kind, ns, name, err)
	}
	if a == nil {
		return nil, fmt.Errorf("applied %s %s/%s: %w", kind, ns, name, runner.ErrObjectNotFound)
	}
	return a, nil
}

// AppliedObjects lists every applied record.
func (db *DB) AppliedObjects(ctx context.Context) ([]*Applied, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*Applied
	err := db.view(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketApplied)
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(_, v []byte) error {
			var a Applied
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode applied: %w", err)
			}
			out = append(out, &a)
			return nil
		})
	})
	return out, err
}
