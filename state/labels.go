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

// The label index (bucket podsByLabel) has one key per label of each pod:
// key \x00 value \x00 namespace \x00 name. A label selector's equality
// reads the pods it names instead of decoding every pod (`get pods -l
// batch.kubernetes.io/job-name=X` among 100k pods). Label keys and values
// never hold \x00 (Kubernetes' validation); a name that did would only
// add a candidate the caller's full match drops, never hide a pod.

func labelPrefix(key, value, ns string) []byte {
	b := make([]byte, 0, len(key)+len(value)+len(ns)+3)
	b = append(b, key...)
	b = append(b, 0)
	b = append(b, value...)
	b = append(b, 0)
	if ns != "" {
		b = append(b, ns...)
		b = append(b, 0)
	}
	return b
}

func labelIndexKey(key, value, ns, name string) []byte {
	return append(labelPrefix(key, value, ns), name...)
}

// podMeta is the part of a stored pod record its indexes need; decoding
// only it skips the spec, status and container records.
type podMeta struct {
	Pod struct {
		Meta manifest.ObjectMeta `json:"metadata"`
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

// indexPodLabels is the migration from schema 1: it builds the label
// index of the pods stored.
func indexPodLabels(tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(bucketPodsByLabel)
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
		return indexLabels(idx, m.Pod.Meta.Namespace, m.Pod.Meta.Name, nil, m.Pod.Meta.Labels)
	})
}

// PodsLabelled lists the pods of namespace ns ("" = all) whose label key
// has one of values, in the order of Pods. It reads the label index, and
// decodes only those pods.
func (db *DB) PodsLabelled(ctx context.Context, ns, key string, values []string) ([]*runner.PodRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if db.schema < 2 {
		// A read-only view of a schema 1 database: no index to read.
		return db.podsLabelledScan(ctx, ns, key, values)
	}
	var pods []*runner.PodRecord
	seen := map[string]bool{}
	err := db.view(func(tx *bolt.Tx) error {
		podsB := tx.Bucket(bucketPods)
		for _, v := range values {
			if seen["\x00"+v] {
				continue
			}
			seen["\x00"+v] = true
			prefix := labelPrefix(key, v, ns)
			err := scanPrefix(tx.Bucket(bucketPodsByLabel), prefix, func(k, _ []byte) error {
				rest := k[len(key)+len(v)+2:] // namespace \x00 name
				i := bytes.IndexByte(rest, 0)
				if i < 0 {
					return nil
				}
				pns, pname := string(rest[:i]), string(rest[i+1:])
				val := podsB.Get(objectKey(pns, pname))
				if val == nil {
					return nil // a stale entry; SavePod and DeletePod keep the index in step
				}
				p := new(runner.PodRecord)
				if err := json.Unmarshal(val, p); err != nil {
					return fmt.Errorf("decode pod %s/%s: %w", pns, pname, err)
				}
				if got, ok := p.Pod.Labels[key]; ok && got == v {
					pods = append(pods, p)
				}
				return nil
			})
			if err != nil {
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

func (db *DB) podsLabelledScan(ctx context.Context, ns, key string, values []string) ([]*runner.PodRecord, error) {
	all, err := db.Pods(ctx, ns)
	if err != nil {
		return nil, err
	}
	var pods []*runner.PodRecord
	for _, p := range all {
		if v, ok := p.Pod.Labels[key]; ok && slices.Contains(values, v) {
			pods = append(pods, p)
		}
	}
	return pods, nil
}
