package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/metrics"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// source is a metrics.Source over fixed lists, or failing.
type source struct {
	fail error
	jobs []*manifest.Job
}

func (s source) Pods(context.Context, string) ([]*runner.PodRecord, error) { return nil, s.fail }
func (s source) Jobs(context.Context, string) ([]*manifest.Job, error)     { return s.jobs, s.fail }
func (s source) CronJobs(context.Context, string) ([]*manifest.CronJob, error) {
	return nil, s.fail
}
func (s source) LastRuns(context.Context) ([]*history.Last, error) { return nil, s.fail }

func get(t *testing.T, m *metrics.Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// TestScrapeReadFails: a store read that fails fails the scrape (500),
// never a page without the gauges.
func TestScrapeReadFails(t *testing.T) {
	code, body := get(t, metrics.New(source{fail: errors.New("store: disk on fire")}))
	if code != 500 || !strings.Contains(body, "disk on fire") {
		t.Errorf("scrape answered %d %q, want 500 naming the error", code, body)
	}
	code, body = get(t, metrics.New(source{jobs: []*manifest.Job{{ObjectMeta: manifest.ObjectMeta{Name: "j", Namespace: "default"},
		Status: manifest.JobStatus{Failed: 2}}}}))
	if code != 200 || !strings.Contains(body, `kube_job_status_failed{job_name="j",namespace="default"} 2`) ||
		!strings.Contains(body, `kube_job_owner{job_name="j",namespace="default",owner_is_controller="<none>",owner_kind="<none>",owner_name="<none>"} 1`) {
		t.Errorf("scrape answered %d:\n%s", code, body)
	}
}

// TestEngineErrors: the runtime decorator counts the engine's failures by
// call, not its answers (a missing container), and keeps the optional
// interfaces.
func TestEngineErrors(t *testing.T) {
	ctx := context.Background()
	m := metrics.New(source{})
	fake := runnertest.NewRuntime("busybox")
	rt := m.Runtime(fake)
	if _, err := rt.EnsureImage(ctx, "nope:1", manifest.PullIfNotPresent); err == nil {
		t.Fatal("pull of a missing image succeeded")
	}
	if _, err := rt.EnsureImage(ctx, "busybox", manifest.PullIfNotPresent); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Inspect(ctx, "missing"); !errors.Is(err, runner.ErrNotFound) {
		t.Fatalf("inspect of a missing container: %v", err)
	}
	if _, ok := rt.(runner.AuthPuller); !ok {
		t.Error("the decorator hides runner.AuthPuller")
	}
	if _, err := rt.(runner.AuthPuller).EnsureImageAuth(ctx, "other:2", manifest.PullIfNotPresent, nil); err == nil {
		t.Fatal("authenticated pull of a missing image succeeded")
	}
	_, body := get(t, m)
	if !strings.Contains(body, `localjobs_engine_errors_total{call="ensure_image"} 2`) || strings.Contains(body, `call="inspect"`) {
		t.Errorf("engine errors:\n%s", grep(body, "localjobs_engine_errors_total"))
	}
}

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{":9464": "127.0.0.1:9464", "0.0.0.0:9464": "0.0.0.0:9464", "localhost:1": "localhost:1", "[::1]:9": "[::1]:9"} {
		if got, err := metrics.ListenAddr(in); err != nil || got != want {
			t.Errorf("ListenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := metrics.ListenAddr("9464"); err == nil {
		t.Error("ListenAddr(9464): no error")
	}
}

func grep(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
