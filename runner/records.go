package runner

import (
	"context"
	"errors"
	"fmt"
)

// PodReader reads pod records; Store has it.
type PodReader interface {
	Pod(ctx context.Context, ns, name string) (*PodRecord, error)
	Pods(ctx context.Context, ns string) ([]*PodRecord, error)
}

// RecordsOf returns the stored records of the pods that the engine's
// containers cs belong to, by pod UID, reading each by the namespace and
// pod labels the kubelet gives every container — not every record, which
// with 100k finished pods cost seconds at each start. Only a container
// with a pod UID but without those labels (none of ours) makes it read
// them all. A record whose UID is not the container's is a later pod of
// the same name, not the container's: it is left out, as a pod with no
// record is. A failed read is an error, never a missing record.
func RecordsOf(ctx context.Context, s PodReader, cs []ContainerInfo) (map[string]*PodRecord, error) {
	out := map[string]*PodRecord{}
	byName := map[string]*PodRecord{} // namespace/name → record; nil: none
	all := false
	for _, ci := range cs {
		uid := ci.Labels[LabelPodUID]
		if uid == "" || out[uid] != nil {
			continue
		}
		ns, name := ci.Labels[LabelNamespace], ci.Labels[LabelPod]
		if ns == "" || name == "" {
			all = true
			continue
		}
		rec, seen := byName[ns+"/"+name]
		if !seen {
			var err error
			rec, err = s.Pod(ctx, ns, name)
			switch {
			case errors.Is(err, ErrObjectNotFound):
				rec = nil
			case err != nil:
				return nil, fmt.Errorf("read pod %s/%s: %w", ns, name, err)
			}
			byName[ns+"/"+name] = rec
		}
		if rec != nil && rec.Pod.UID == uid {
			out[uid] = rec
		}
	}
	if all {
		recs, err := s.Pods(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("list pods: %w", err)
		}
		for _, r := range recs {
			if out[r.Pod.UID] == nil {
				out[r.Pod.UID] = r
			}
		}
	}
	return out, nil
}
