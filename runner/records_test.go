package runner_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// podReader serves records by namespace/name and counts the reads.
type podReader struct {
	recs       map[string]*runner.PodRecord
	fail       error
	pod, pods  int
	readByName []string
}

func (r *podReader) Pod(_ context.Context, ns, name string) (*runner.PodRecord, error) {
	r.pod++
	r.readByName = append(r.readByName, ns+"/"+name)
	if r.fail != nil {
		return nil, r.fail
	}
	if rec := r.recs[ns+"/"+name]; rec != nil {
		return rec, nil
	}
	return nil, fmt.Errorf("pod %s/%s: %w", ns, name, runner.ErrObjectNotFound)
}

func (r *podReader) Pods(context.Context, string) ([]*runner.PodRecord, error) {
	r.pods++
	return slices.Collect(maps.Values(r.recs)), r.fail
}

func podRec(ns, name, uid string) *runner.PodRecord {
	return &runner.PodRecord{Pod: manifest.Pod{ObjectMeta: manifest.ObjectMeta{Namespace: ns, Name: name, UID: uid}}}
}

func container(uid, ns, pod string) runner.ContainerInfo {
	l := map[string]string{runner.LabelPodUID: uid}
	if ns != "" {
		l[runner.LabelNamespace], l[runner.LabelPod] = ns, pod
	}
	return runner.ContainerInfo{ID: uid + "-c", Labels: l}
}

// TestRecordsOf: the records of the containers' pods are read by their
// labels, once per pod; a later pod of the same name is not the
// container's; a container without the labels makes every record be read;
// a failed read is an error, not a missing record.
func TestRecordsOf(t *testing.T) {
	ctx := context.Background()
	r := &podReader{recs: map[string]*runner.PodRecord{
		"default/a": podRec("default", "a", "ua"),
		"default/b": podRec("default", "b", "ub2"), // recreated: the container is of ub1
		"ns2/c":     podRec("ns2", "c", "uc"),
	}}
	cs := []runner.ContainerInfo{
		container("ua", "default", "a"), container("ua", "default", "a"), // a pod's two containers
		container("ub1", "default", "b"),
		container("gone", "default", "gone"),
		{ID: "not-a-pod", Labels: map[string]string{}},
	}
	got, err := runner.RecordsOf(ctx, r, cs)
	if err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, []string{"ua"}) || r.pods != 0 {
		t.Errorf("RecordsOf = %v (Pods read %d times), want [ua] by labels only", keys, r.pods)
	}
	if want := []string{"default/a", "default/b", "default/gone"}; !slices.Equal(r.readByName, want) {
		t.Errorf("read %v, want each pod once: %v", r.readByName, want)
	}

	got, err = runner.RecordsOf(ctx, r, []runner.ContainerInfo{container("uc", "", "")})
	if err != nil || got["uc"] == nil || r.pods != 1 {
		t.Errorf("unlabelled container: %v, %v (Pods read %d times); want uc from the full list", slices.Collect(maps.Keys(got)), err, r.pods)
	}

	r.fail = errors.New("store: disk on fire")
	if got, err := runner.RecordsOf(ctx, r, cs[:1]); err == nil || !errors.Is(err, r.fail) {
		t.Errorf("failing read: %v, %v; want the error", got, err)
	}
}
