package state

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// The pod indexes hold, under a prefix of their own, the key of each pod
// record (objectKey: namespace/name), so one reader serves them all
// (podsIndexed):
//   - podsByJob:   jobUID/ + namespace/name
//   - podsByLabel: key \x00 value \x00 + namespace/name, one per label
//   - podsLive:    namespace/name, for each pod not in a terminal phase
// A label selector's equality reads the pods it names instead of decoding
// every pod (`get pods -l batch.kubernetes.io/job-name=X` among 100k
// pods). Label keys and values never hold \x00 (Kubernetes' validation);
// an entry is checked against the decoded record anyway, so a stale or
// ambiguous one can never add a pod.

// labelPrefix is the label index prefix of the pods of ns ("" = all) with
// label key=value.
func labelPrefix(key, value, ns string) []byte {
	b := make([]byte, 0, len(key)+len(value)+len(ns)+3)
	b = append(b, key...)
	b = append(b, 0)
	b = append(b, value...)
	b = append(b, 0)
	return append(b, nsPrefix(ns)...)
}

func labelIndexKey(key, value, ns, name string) []byte {
	return append(labelPrefix(key, value, ""), objectKey(ns, name)...)
}

// podsIndexed appends to out the pods whose entries the index bucket has
// under prefix — each entry is its first skip bytes, then the pod's key —
// and that, decoded, keep accepts (an entry whose record is gone or no
// longer matches is stale: skipped). With a cache the records are shared
// (decodeCache).
func podsIndexed(tx *bolt.Tx, index, prefix []byte, skip int, keep func(*runner.PodRecord) bool, cache *decodeCache[runner.PodRecord], out *[]*runner.PodRecord) error {
	pods := tx.Bucket(bucketPods)
	return scanPrefix(tx.Bucket(index), prefix, func(k, _ []byte) error {
		key := k[skip:]
		v := pods.Get(key)
		if v == nil {
			return nil // stale; SavePod and DeletePod keep the indexes in step
		}
		p, err := decodeWith(cache, key, v)
		if err != nil {
			return fmt.Errorf("decode pod %s: %w", key, err)
		}
		if keep(p) {
			*out = append(*out, p)
		}
		return nil
	})
}

// podsWhere is Pods filtered by keep: what an index answers, read from a
// database without it (a read-only view of schema 1).
func (db *DB) podsWhere(ctx context.Context, ns string, keep func(*runner.PodRecord) bool) ([]*runner.PodRecord, error) {
	all, err := db.Pods(ctx, ns)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(p *runner.PodRecord) bool { return !keep(p) }), nil
}

// podMeta is the part of a stored pod record its indexes need; decoding
// only it skips the spec, status and container records.
type podMeta struct {
	Pod struct {
		Meta   manifest.ObjectMeta `json:"metadata"`
		Status struct {
			Phase string `json:"phase"`
		} `json:"status"`
	} `json:"pod"`
}

// indexLabels brings the label index of pod ns/name from the labels old to
// the labels new (either may be nil).
func indexLabels(idx *bolt.Bucket, ns, name string, old, new map[string]string) error {
	for k, v := range old {
		if nv, ok := new[k]; ok && nv == v {
			continue
		}
		if err := idx.Delete(labelIndexKey(k, v, ns, name)); err != nil {
			return err
		}
	}
	for k, v := range new {
		if ov, ok := old[k]; ok && ov == v {
			continue
		}
		if err := idx.Put(labelIndexKey(k, v, ns, name), nil); err != nil {
			return err
		}
	}
	return nil
}

// addIndexes is the migration from schema 1: it builds the indexes of
// the pods and Jobs stored.
func addIndexes(tx *bolt.Tx) error {
	if err := indexPods(tx); err != nil {
		return err
	}
	return indexJobOwners(tx)
}

// indexPods builds the label and live-pod indexes of the pods stored.
func indexPods(tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(bucketPodsByLabel)
	if err != nil {
		return err
	}
	live, err := tx.CreateBucketIfNotExists(bucketPodsLive)
	if err != nil {
		return err
	}
	pods := tx.Bucket(bucketPods)
	if pods == nil {
		return nil
	}
	return pods.ForEach(func(k, v []byte) error {
		var m podMeta
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode pod %s: %w", k, err)
		}
		if err := indexLive(live, k, m.Pod.Status.Phase); err != nil {
			return err
		}
		return indexLabels(idx, m.Pod.Meta.Namespace, m.Pod.Meta.Name, nil, m.Pod.Meta.Labels)
	})
}

// indexLive keeps the live-pod index entry of the pod stored under key in
// step with its phase.
func indexLive(live *bolt.Bucket, key []byte, phase string) error {
	switch {
	case runner.IsTerminalPhase(phase):
		return live.Delete(key) // no write when absent
	case live.Get(key) == nil: // no write when present
		return live.Put(key, nil)
	}
	return nil
}

// LivePods lists the pods not in a terminal phase (Succeeded, Failed), in
// the order of Pods, reading only them through the live-pod index: what a
// restart resumes, among any number of finished pods.
func (db *DB) LivePods(ctx context.Context) ([]*runner.PodRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	live := func(p *runner.PodRecord) bool { return !runner.IsTerminalPhase(p.Pod.Status.Phase) }
	if db.schema < 2 {
		return db.podsWhere(ctx, "", live)
	}
	var pods []*runner.PodRecord
	if err := db.view(func(tx *bolt.Tx) error { return podsIndexed(tx, bucketPodsLive, nil, 0, live, nil, &pods) }); err != nil {
		return nil, fmt.Errorf("list live pods: %w", err)
	}
	sortPods(pods)
	return pods, nil
}

// PodsLabelled lists the pods of namespace ns ("" = all) whose label key
// has one of values, in the order of Pods. It reads the label index, and
// decodes only those pods.
func (db *DB) PodsLabelled(ctx context.Context, ns, key string, values []string) ([]*runner.PodRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	labelled := func(p *runner.PodRecord) bool {
		v, ok := p.Pod.Labels[key]
		return ok && slices.Contains(values, v)
	}
	if db.schema < 2 {
		return db.podsWhere(ctx, ns, labelled)
	}
	var pods []*runner.PodRecord
	err := db.view(func(tx *bolt.Tx) error {
		for _, v := range slices.Compact(slices.Sorted(slices.Values(values))) {
			prefix := labelPrefix(key, v, ns)
			if err := podsIndexed(tx, bucketPodsByLabel, prefix, len(labelPrefix(key, v, "")), labelled, nil, &pods); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pods labelled %s: %w", key, err)
	}
	sortPods(pods)
	return pods, nil
}

// The owner index (bucket jobsByOwner) has one key per owner reference of
// each Job: ownerUID/namespace/name. A CronJob's sync reads its Jobs
// through it; scanning every Job's bytes for each of 1,000 CronJobs cost
// a third of a second of CPU at each start.

func ownerIndexKey(ownerUID, ns, name string) []byte {
	return []byte(ownerUID + "/" + ns + "/" + name)
}

// jobOwners is the part of a stored Job its owner index needs.
type jobOwners struct {
	Meta struct {
		OwnerReferences []manifest.OwnerReference `json:"ownerReferences"`
	} `json:"metadata"`
}

func ownerUIDs(refs []manifest.OwnerReference) []string {
	out := make([]string, 0, len(refs))
	for _, o := range refs {
		if o.UID != "" {
			out = append(out, o.UID)
		}
	}
	return out
}

// indexOwners brings the owner index of Job ns/name from the owner UIDs
// old to new (either may be nil).
func indexOwners(idx *bolt.Bucket, ns, name string, old, new []string) error {
	for _, u := range old {
		if !slices.Contains(new, u) {
			if err := idx.Delete(ownerIndexKey(u, ns, name)); err != nil {
				return err
			}
		}
	}
	for _, u := range new {
		if k := ownerIndexKey(u, ns, name); idx.Get(k) == nil {
			if err := idx.Put(k, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// storedOwners returns the owner UIDs of the Job stored as v (nil when v
// is nil or does not decode: its stale entries are checked by readers).
func storedOwners(v []byte) []string {
	var j jobOwners
	if v == nil || json.Unmarshal(v, &j) != nil {
		return nil
	}
	return ownerUIDs(j.Meta.OwnerReferences)
}

// indexJobOwners builds the owner index of the Jobs stored.
func indexJobOwners(tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(bucketJobsByOwner)
	if err != nil {
		return err
	}
	jobs := tx.Bucket(bucketJobs)
	if jobs == nil {
		return nil
	}
	return jobs.ForEach(func(k, v []byte) error {
		ns, name, ok := bytes.Cut(k, []byte("/"))
		if !ok {
			return fmt.Errorf("job key %q", k)
		}
		return indexOwners(idx, string(ns), string(name), nil, storedOwners(v))
	})
}

// ownedJobKeys lists the jobs-bucket keys of the Jobs of ns ("" = all)
// with an owner reference to ownerUID, from the owner index.
func ownedJobKeys(tx *bolt.Tx, ns, ownerUID string) ([][]byte, error) {
	prefix := []byte(ownerUID + "/")
	if ns != "" {
		prefix = append(prefix, ns+"/"...)
	}
	var keys [][]byte
	err := scanPrefix(tx.Bucket(bucketJobsByOwner), prefix, func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k[len(ownerUID)+1:]))
		return nil
	})
	return keys, err
}
