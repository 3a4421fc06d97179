package state

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// SaveCronJob stores (creates or replaces) a CronJob with its status.
func (db *DB) SaveCronJob(ctx context.Context, cj *manifest.CronJob) error {
	if err := checkKey("cronjob", cj.Namespace, cj.Name); err != nil {
		return fmt.Errorf("save cronjob: %w", err)
	}
	return db.putObject(ctx, bucketCronJobs, "cronjob", cj.Namespace, cj.Name, cj)
}

// CronJob returns the CronJob ns/name, or an error wrapping
// runner.ErrObjectNotFound.
func (db *DB) CronJob(ctx context.Context, ns, name string) (*manifest.CronJob, error) {
	cj := new(manifest.CronJob)
	if err := db.getObject(ctx, bucketCronJobs, "cronjob", ns, name, cj); err != nil {
		return nil, err
	}
	return cj, nil
}

// CronJobs lists the CronJobs of namespace ns ("" = all namespaces), oldest
// first by creationTimestamp, then by name and namespace.
func (db *DB) CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error) {
	return db.cronJobs(ctx, ns, nil)
}

// CronJobsShared is CronJobs for readers that do not modify what they get
// (the API's lists): it decodes only the records that changed since it
// last did, and its records are shared between callers (decodeCache).
func (db *DB) CronJobsShared(ctx context.Context, ns string) ([]*manifest.CronJob, error) {
	return db.cronJobs(ctx, ns, &db.sharedCronJobs)
}

func (db *DB) cronJobs(ctx context.Context, ns string, cache *decodeCache[manifest.CronJob]) ([]*manifest.CronJob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*manifest.CronJob
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCronJobs)
		if b == nil { // a database from before the bucket existed, opened read-only
			return nil
		}
		return scanPrefix(b, nsPrefix(ns), func(k, v []byte) error {
			cj, err := decodeWith(cache, k, v)
			if err != nil {
				return fmt.Errorf("decode cronjob %s: %w", k, err)
			}
			out = append(out, cj)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list cronjobs: %w", err)
	}
	slices.SortStableFunc(out, func(a, b *manifest.CronJob) int {
		return compareMeta(&a.ObjectMeta, &b.ObjectMeta)
	})
	return out, nil
}

// DeleteCronJob removes the CronJob and its events; its Jobs are the
// caller's to delete. A missing CronJob is an error wrapping
// runner.ErrObjectNotFound.
func (db *DB) DeleteCronJob(ctx context.Context, ns, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCronJobs)
		key := objectKey(ns, name)
		v := b.Get(key)
		if v == nil {
			return runner.ErrObjectNotFound
		}
		var cj manifest.CronJob
		if err := json.Unmarshal(v, &cj); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if err := deleteEvents(tx, cj.UID); err != nil {
			return err
		}
		return b.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("delete cronjob %s/%s: %w", ns, name, err)
	}
	db.sharedCronJobs.drop(objectKey(ns, name))
	return nil
}
