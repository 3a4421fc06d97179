package localapi_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// labelReader serves labelled pods, Jobs and CronJobs, and records which
// pod read each list used.
type labelReader struct {
	fakeReader
	pods  []*runner.PodRecord
	calls *[]string
}

func (r labelReader) Pods(_ context.Context, ns string) ([]*runner.PodRecord, error) {
	*r.calls = append(*r.calls, "Pods "+ns)
	return r.pods, nil
}

func (r labelReader) PodsLabelled(_ context.Context, ns, key string, values []string) ([]*runner.PodRecord, error) {
	*r.calls = append(*r.calls, "PodsLabelled "+ns+" "+key+" "+strings.Join(values, ","))
	var out []*runner.PodRecord
	for _, p := range r.pods {
		if v, ok := p.Pod.Labels[key]; ok && slices.Contains(values, v) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (r labelReader) Jobs(context.Context, string) ([]*manifest.Job, error) {
	return []*manifest.Job{
		{ObjectMeta: manifest.ObjectMeta{Name: "j1", Namespace: "default", Labels: map[string]string{"team": "a"}}},
		{ObjectMeta: manifest.ObjectMeta{Name: "j2", Namespace: "default", Labels: map[string]string{"team": "b"}}},
	}, nil
}

func (r labelReader) CronJobs(context.Context, string) ([]*manifest.CronJob, error) {
	return []*manifest.CronJob{
		{ObjectMeta: manifest.ObjectMeta{Name: "c1", Namespace: "default", Labels: map[string]string{"team": "a"}}},
		{ObjectMeta: manifest.ObjectMeta{Name: "c2", Namespace: "default"}},
	}, nil
}

func podWithLabels(name string, kv ...string) *runner.PodRecord {
	p := rec(name)
	p.Pod.Labels = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Pod.Labels[kv[i]] = kv[i+1]
	}
	return p
}

func names[T any](objs []T, meta func(T) *manifest.ObjectMeta) []string {
	var out []string
	for _, o := range objs {
		out = append(out, meta(o).Name)
	}
	return out
}

// TestListLabelSelector: a list with labelSelector (the apiserver's
// parameter) answers only what matches; an equality or set requirement is
// read through the store's label index, others from the whole list; a
// selector that does not parse is a 400 naming it.
func TestListLabelSelector(t *testing.T) {
	ctx := context.Background()
	var calls []string
	r := labelReader{calls: &calls, pods: []*runner.PodRecord{
		podWithLabels("web-1", "app", "web", "tier", "front"),
		podWithLabels("web-2", "app", "web", "tier", "back", "canary", "yes"),
		podWithLabels("db-1", "app", "db", "tier", "back"),
		podWithLabels("bare"),
	}}
	c, err := serve(t, &localapi.Server{Read: r, Version: "v1"}, "v1")
	if err != nil {
		t.Fatal(err)
	}
	podMeta := func(p *manifest.Pod) *manifest.ObjectMeta { return &p.ObjectMeta }
	for _, tt := range []struct {
		sel       string
		want      []string
		wantCalls []string
	}{
		{"", []string{"web-1", "web-2", "db-1", "bare"}, []string{"Pods default"}},
		{"app=web", []string{"web-1", "web-2"}, []string{"PodsLabelled default app web"}},
		{"app==web,tier=back", []string{"web-2"}, []string{"PodsLabelled default app web"}},
		{"app in (db,web),!canary", []string{"web-1", "db-1"}, []string{"PodsLabelled default app db,web"}},
		{"app!=web", []string{"db-1", "bare"}, []string{"Pods default"}},
		{"!canary", []string{"web-1", "db-1", "bare"}, []string{"Pods default"}},
		{"canary", []string{"web-2"}, []string{"Pods default"}},
		{"app=nope", nil, []string{"PodsLabelled default app nope"}},
	} {
		calls = nil
		pods, err := c.ListPods(ctx, "default", localapi.ListOptions{LabelSelector: tt.sel})
		if err != nil {
			t.Errorf("ListPods(%q): %v", tt.sel, err)
			continue
		}
		if got := names(pods, podMeta); !slices.Equal(got, tt.want) {
			t.Errorf("ListPods(%q) = %v, want %v", tt.sel, got, tt.want)
		}
		if !slices.Equal(calls, tt.wantCalls) {
			t.Errorf("ListPods(%q) read %v, want %v", tt.sel, calls, tt.wantCalls)
		}
	}

	var se *localapi.StatusError
	_, err = c.ListPods(ctx, "default", localapi.ListOptions{LabelSelector: "app in (web"})
	if !errors.As(err, &se) || se.Status.Code != 400 || !strings.Contains(err.Error(), "app in (web") {
		t.Errorf("bad selector: %v, want a 400 naming it", err)
	}

	jobs, err := c.ListJobs(ctx, "default", localapi.ListOptions{LabelSelector: "team=a"})
	if got := names(jobs, func(j *manifest.Job) *manifest.ObjectMeta { return &j.ObjectMeta }); err != nil || !slices.Equal(got, []string{"j1"}) {
		t.Errorf("ListJobs(team=a) = %v, %v; want [j1]", got, err)
	}
	cjs, err := c.ListCronJobs(ctx, "default", localapi.ListOptions{LabelSelector: "!team"})
	if got := names(cjs, func(j *manifest.CronJob) *manifest.ObjectMeta { return &j.ObjectMeta }); err != nil || !slices.Equal(got, []string{"c2"}) {
		t.Errorf("ListCronJobs(!team) = %v, %v; want [c2]", got, err)
	}
}
