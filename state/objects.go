package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// objectKey is the key of a namespaced object in the pods and jobs buckets.
func objectKey(ns, name string) []byte { return []byte(ns + "/" + name) }

func checkKey(kind, ns, name string) error {
	switch {
	case ns == "":
		return fmt.Errorf("%s %q: namespace is empty", kind, name)
	case name == "":
		return fmt.Errorf("%s in %s: name is empty", kind, ns)
	case strings.Contains(ns, "/") || strings.Contains(name, "/"):
		return fmt.Errorf("%s %s/%s: name or namespace contains '/'", kind, ns, name)
	}
	return nil
}

// controllerJobUID returns the UID of the pod's controlling Job (the owner
// reference with controller: true and kind Job), or "".
func controllerJobUID(p *manifest.Pod) string {
	if o := p.ControllerRef(manifest.KindJob); o != nil {
		return o.UID
	}
	return ""
}

func jobIndexKey(jobUID, ns, name string) []byte {
	return []byte(jobUID + "/" + ns + "/" + name)
}

// SavePod stores (creates or replaces) the pod record and keeps the
// podsByJob index in step with its controller reference.
func (db *DB) SavePod(ctx context.Context, p *runner.PodRecord) error {
	return db.SavePods(ctx, []*runner.PodRecord{p})
}

// SavePods stores several pod records in one transaction (one sync to
// disk): all of them, or none.
func (db *DB) SavePods(ctx context.Context, recs []*runner.PodRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data := make([][]byte, len(recs))
	for i, p := range recs {
		b, err := encodePod(p)
		if err != nil {
			return err
		}
		data[i] = b
	}
	err := db.update(func(tx *bolt.Tx) error {
		for i, p := range recs {
			if err := putPod(tx, p, data[i]); err != nil {
				return fmt.Errorf("save pod %s/%s: %w", p.Pod.Namespace, p.Pod.Name, err)
			}
		}
		return nil
	})
	return err
}

// encodePod checks a pod record's key and encodes it for putPod.
func encodePod(p *runner.PodRecord) ([]byte, error) {
	if err := checkKey("pod", p.Pod.Namespace, p.Pod.Name); err != nil {
		return nil, fmt.Errorf("save pod: %w", err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("save pod %s/%s: %w", p.Pod.Namespace, p.Pod.Name, err)
	}
	return b, nil
}

// putPod writes one encoded pod record and its podsByJob index entry.
func putPod(tx *bolt.Tx, p *runner.PodRecord, data []byte) error {
	ns, name := p.Pod.Namespace, p.Pod.Name
	newJob := controllerJobUID(&p.Pod)
	pods, idx := tx.Bucket(bucketPods), tx.Bucket(bucketPodsByJob)
	key := objectKey(ns, name)
	var oldLabels map[string]string
	if old := pods.Get(key); old != nil {
		// A stored record that does not decode leaves its index entries;
		// the readers check each entry against the record.
		var prev podMeta
		if err := json.Unmarshal(old, &prev); err == nil {
			oldLabels = prev.Pod.Meta.Labels
			if oldJob := prev.Pod.Meta.ControllerRef(manifest.KindJob); oldJob != nil && oldJob.UID != newJob {
				if err := idx.Delete(jobIndexKey(oldJob.UID, ns, name)); err != nil {
					return err
				}
			}
		}
	}
	if err := indexLabels(tx.Bucket(bucketPodsByLabel), ns, name, oldLabels, p.Pod.Labels); err != nil {
		return err
	}
	if err := indexLive(tx.Bucket(bucketPodsLive), key, p.Pod.Status.Phase); err != nil {
		return err
	}
	if newJob != "" {
		if err := idx.Put(jobIndexKey(newJob, ns, name), nil); err != nil {
			return err
		}
	}
	return pods.Put(key, data)
}

// Pod returns the pod ns/name, or an error wrapping runner.ErrObjectNotFound.
func (db *DB) Pod(ctx context.Context, ns, name string) (*runner.PodRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var p *runner.PodRecord
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketPods).Get(objectKey(ns, name))
		if v == nil {
			return runner.ErrObjectNotFound
		}
		p = new(runner.PodRecord)
		return json.Unmarshal(v, p) // Unmarshal copies out of v
	})
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", ns, name, err)
	}
	return p, nil
}

// Pods lists the pods of namespace ns ("" = all namespaces), oldest first by
// creationTimestamp, then by name and namespace.
func (db *DB) Pods(ctx context.Context, ns string) ([]*runner.PodRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var pods []*runner.PodRecord
	err := db.view(func(tx *bolt.Tx) error {
		return scanPrefix(tx.Bucket(bucketPods), nsPrefix(ns), func(k, v []byte) error {
			p := new(runner.PodRecord)
			if err := json.Unmarshal(v, p); err != nil {
				return fmt.Errorf("decode pod %s: %w", k, err)
			}
			pods = append(pods, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	sortPods(pods)
	return pods, nil
}

// PodsOfJob lists the pods whose controller reference is the Job with this
// UID, in the order of Pods. It reads the podsByJob index, not every pod,
// and decodes only the records that changed since it last did (decodeCache):
// the records are shared between callers and must not be modified.
func (db *DB) PodsOfJob(ctx context.Context, jobUID string) ([]*runner.PodRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if jobUID == "" {
		return nil, nil
	}
	var pods []*runner.PodRecord
	prefix := []byte(jobUID + "/")
	owned := func(p *runner.PodRecord) bool { return controllerJobUID(&p.Pod) == jobUID }
	err := db.view(func(tx *bolt.Tx) error {
		return podsIndexed(tx, bucketPodsByJob, prefix, len(prefix), owned, &db.podsOfJob, &pods)
	})
	if err != nil {
		return nil, fmt.Errorf("list pods of job %s: %w", jobUID, err)
	}
	sortPods(pods)
	return pods, nil
}

// DeletePod removes the pod record, its index entry, its events and its log
// directory. A missing pod is an error wrapping runner.ErrObjectNotFound.
func (db *DB) DeletePod(ctx context.Context, ns, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var prev runner.PodRecord
	err := db.update(func(tx *bolt.Tx) error {
		prev = runner.PodRecord{} // set afresh on each run (commit.go)
		pods := tx.Bucket(bucketPods)
		key := objectKey(ns, name)
		v := pods.Get(key)
		if v == nil {
			return runner.ErrObjectNotFound
		}
		if err := json.Unmarshal(v, &prev); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if job := controllerJobUID(&prev.Pod); job != "" {
			if err := tx.Bucket(bucketPodsByJob).Delete(jobIndexKey(job, ns, name)); err != nil {
				return err
			}
		}
		if err := indexLabels(tx.Bucket(bucketPodsByLabel), ns, name, prev.Pod.Labels, nil); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPodsLive).Delete(key); err != nil {
			return err
		}
		if err := deleteEvents(tx, prev.Pod.UID); err != nil {
			return err
		}
		return pods.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("delete pod %s/%s: %w", ns, name, err)
	}
	db.podsOfJob.drop(objectKey(ns, name))
	if prev.Pod.UID != "" {
		// Best effort: a container may have left files the daemon's user
		// cannot remove in an emptyDir.
		_ = os.RemoveAll(db.PodDir(ns, name, prev.Pod.UID))
		if err := os.RemoveAll(db.podLogDir(ns, name, prev.Pod.UID)); err != nil {
			return fmt.Errorf("delete pod %s/%s: remove logs: %w", ns, name, err)
		}
	}
	return nil
}

// SaveJob stores (creates or replaces) the job.
func (db *DB) SaveJob(ctx context.Context, j *manifest.Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkKey("job", j.Namespace, j.Name); err != nil {
		return fmt.Errorf("save job: %w", err)
	}
	data, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("save job %s/%s: %w", j.Namespace, j.Name, err)
	}
	err = db.update(func(tx *bolt.Tx) error {
		jobs, key := tx.Bucket(bucketJobs), objectKey(j.Namespace, j.Name)
		if err := indexOwners(tx.Bucket(bucketJobsByOwner), j.Namespace, j.Name, storedOwners(jobs.Get(key)), ownerUIDs(j.OwnerReferences)); err != nil {
			return err
		}
		return jobs.Put(key, data)
	})
	if err != nil {
		return fmt.Errorf("save job %s/%s: %w", j.Namespace, j.Name, err)
	}
	return nil
}

// Job returns the job ns/name, or an error wrapping runner.ErrObjectNotFound.
func (db *DB) Job(ctx context.Context, ns, name string) (*manifest.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var j *manifest.Job
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketJobs).Get(objectKey(ns, name))
		if v == nil {
			return runner.ErrObjectNotFound
		}
		j = new(manifest.Job)
		return json.Unmarshal(v, j)
	})
	if err != nil {
		return nil, fmt.Errorf("job %s/%s: %w", ns, name, err)
	}
	return j, nil
}

// Jobs lists the jobs of namespace ns ("" = all namespaces), oldest first by
// creationTimestamp, then by name and namespace.
func (db *DB) Jobs(ctx context.Context, ns string) ([]*manifest.Job, error) {
	jobs, err := db.jobs(ctx, jobsOf(ns), nil, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return jobs, nil
}

// JobsShared is Jobs for readers that do not modify what they get (the
// API's lists): it decodes only the records that changed since it last
// did, and its records are shared between callers (decodeCache).
func (db *DB) JobsShared(ctx context.Context, ns string) ([]*manifest.Job, error) {
	jobs, err := db.jobs(ctx, jobsOf(ns), nil, nil, &db.sharedJobs)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return jobs, nil
}

// JobsOwnedBy lists the jobs of namespace ns with an owner reference to
// ownerUID (a CronJob's), in the order of Jobs, reading only those through
// the owner index: the CronJob controller asks for each CronJob's Jobs,
// and decoding every Job for each of 1,000 CronJobs cost 14 s of CPU at
// every start (scanning their bytes, a third of a second).
func (db *DB) JobsOwnedBy(ctx context.Context, ns, ownerUID string) ([]*manifest.Job, error) {
	if ownerUID == "" {
		return nil, ctx.Err()
	}
	owned := func(j *manifest.Job) bool {
		return slices.ContainsFunc(j.OwnerReferences, func(o manifest.OwnerReference) bool { return o.UID == ownerUID })
	}
	var jobs []*manifest.Job
	var err error
	if db.schema < 2 {
		// A read-only view of a schema 1 database: no index to read; the
		// Jobs whose bytes hold the uid are decoded.
		uid, _ := json.Marshal(ownerUID) // a string always encodes
		needle := append([]byte(`"uid":`), uid...)
		jobs, err = db.jobs(ctx, jobsOf(ns), func(raw []byte) bool { return bytes.Contains(raw, needle) }, owned, nil)
	} else {
		jobs, err = db.jobs(ctx, jobsOwnedBy(ns, ownerUID), nil, owned, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("list jobs of %s: %w", ownerUID, err)
	}
	return jobs, nil
}

// jobScan calls fn with the key and stored bytes of some Jobs.
type jobScan func(tx *bolt.Tx, fn func(k, v []byte) error) error

// jobsOf scans the Jobs of namespace ns ("" = all).
func jobsOf(ns string) jobScan {
	return func(tx *bolt.Tx, fn func(k, v []byte) error) error {
		return scanPrefix(tx.Bucket(bucketJobs), nsPrefix(ns), fn)
	}
}

// jobsOwnedBy scans the Jobs of ns ("" = all) the owner index has under
// ownerUID.
func jobsOwnedBy(ns, ownerUID string) jobScan {
	return func(tx *bolt.Tx, fn func(k, v []byte) error) error {
		keys, err := ownedJobKeys(tx, ns, ownerUID)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketJobs)
		for _, k := range keys {
			if v := b.Get(k); v != nil { // nil: a stale entry; SaveJob and DeleteJob keep the index in step
				if err := fn(k, v); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// jobs lists the Jobs scan finds whose stored bytes pass raw and, decoded,
// keep (nil = all), in the order of Jobs; with a cache, the records are
// shared.
func (db *DB) jobs(ctx context.Context, scan jobScan, raw func([]byte) bool, keep func(*manifest.Job) bool, cache *decodeCache[manifest.Job]) ([]*manifest.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var jobs []*manifest.Job
	err := db.view(func(tx *bolt.Tx) error {
		return scan(tx, func(k, v []byte) error {
			if raw != nil && !raw(v) {
				return nil
			}
			j, err := decodeWith(cache, k, v)
			if err != nil {
				return fmt.Errorf("decode job %s: %w", k, err)
			}
			if keep == nil || keep(j) {
				jobs = append(jobs, j)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(jobs, func(a, b *manifest.Job) int {
		return compareMeta(&a.ObjectMeta, &b.ObjectMeta)
	})
	return jobs, nil
}

// DeleteJob removes the job and its events; its pods are the caller's to
// delete. A missing job is an error wrapping runner.ErrObjectNotFound.
func (db *DB) DeleteJob(ctx context.Context, ns, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := db.update(func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bucketJobs)
		key := objectKey(ns, name)
		v := jobs.Get(key)
		if v == nil {
			return runner.ErrObjectNotFound
		}
		var j manifest.Job
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if err := deleteEvents(tx, j.UID); err != nil {
			return err
		}
		if err := indexOwners(tx.Bucket(bucketJobsByOwner), ns, name, ownerUIDs(j.OwnerReferences), nil); err != nil {
			return err
		}
		return jobs.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("delete job %s/%s: %w", ns, name, err)
	}
	db.sharedJobs.drop(objectKey(ns, name))
	return nil
}

// nsPrefix is the key prefix of namespace ns in the pods and jobs buckets;
// nil (everything) for "".
func nsPrefix(ns string) []byte {
	if ns == "" {
		return nil
	}
	return []byte(ns + "/")
}

// scanPrefix calls fn for every key of b starting with prefix, in key order.
// k and v are only valid during the call.
func scanPrefix(b *bolt.Bucket, prefix []byte, fn func(k, v []byte) error) error {
	if b == nil {
		return errors.New("bucket missing")
	}
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func sortPods(pods []*runner.PodRecord) {
	slices.SortStableFunc(pods, func(a, b *runner.PodRecord) int {
		return compareMeta(&a.Pod.ObjectMeta, &b.Pod.ObjectMeta)
	})
}

// compareMeta orders objects by creationTimestamp, then name, then namespace.
func compareMeta(a, b *manifest.ObjectMeta) int {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Namespace, b.Namespace)
}
