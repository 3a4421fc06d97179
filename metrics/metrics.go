// Package metrics exports localjobs' Prometheus metrics (`up
// --metrics-addr`). It is the only importer of
// github.com/prometheus/client_golang and one of the optional packages that
// may import net/http (DESIGN §1, §9: no TCP listener unless asked).
//
// Two sources feed it. Counters and histograms come from the controllers'
// change stream (Observe): attempts by outcome and reason, Job durations,
// CronJob schedule delays; engine call errors come from a decorator of the
// runtime (Runtime). Gauges are read from the store at scrape time
// (Source): kube-state-metrics' names and labels where one exists
// (kube_job_status_failed, kube_cronjob_status_last_successful_time,
// kube_pod_status_phase…), localjobs_ otherwise. A scrape whose store read
// fails answers 500, never an empty page.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Source is what the scrape-time gauges read: the daemon's view of the
// store.
type Source interface {
	Pods(ctx context.Context, ns string) ([]*runner.PodRecord, error)
	Jobs(ctx context.Context, ns string) ([]*manifest.Job, error)
	CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error)
	LastRuns(ctx context.Context) ([]*history.Last, error)
}

// Metrics holds localjobs' metrics and the stream state that feeds them.
// Its methods are safe for concurrent use.
type Metrics struct {
	reg           *prometheus.Registry
	attempts      *prometheus.CounterVec
	jobDuration   *prometheus.HistogramVec
	scheduleDelay *prometheus.HistogramVec
	engineErrors  *prometheus.CounterVec
	notifications *prometheus.CounterVec

	mu      sync.Mutex
	pods    map[string]podSeen // by ns/name
	jobs    map[string]*jobSeen
	changed chan struct{} // closed by the next Observe
}

type podSeen struct {
	uid      string
	terminal bool
}

type jobSeen struct {
	uid       string
	cronJob   string
	scheduled time.Time
	finished  bool // its duration was observed (or it finished before we looked)
	delayed   bool // its schedule delay was observed
}

// New makes the metrics; src feeds the scrape-time gauges.
func New(src Source) *Metrics {
	m := &Metrics{
		reg:  prometheus.NewRegistry(),
		pods: map[string]podSeen{},
		jobs: map[string]*jobSeen{},
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "localjobs_attempts_total",
			Help: "Attempts (pods) of Jobs that ended, by outcome (succeeded, failed) and reason (Completed, Error, OOMKilled, DeadlineExceeded, ContainerCannotRun…).",
		}, []string{"outcome", "reason"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "localjobs_job_duration_seconds",
			Help:    "How long Jobs ran, from their start to their Complete or Failed condition.",
			Buckets: []float64{1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400},
		}, []string{"namespace", "cronjob", "outcome"}),
		scheduleDelay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "localjobs_cronjob_schedule_delay_seconds",
			Help:    "Time from a CronJob's scheduled time to its Job's first container start.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}, []string{"namespace", "cronjob"}),
		engineErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "localjobs_engine_errors_total",
			Help: "Container engine calls that failed, by call.",
		}, []string{"call"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "localjobs_notifications_total",
			Help: "Webhook notifications by result: sent, or failed after the retries.",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.attempts, m.jobDuration, m.scheduleDelay, m.engineErrors, m.notifications,
		&stateCollector{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Seed takes in what the store holds at start, before the controllers run:
// pods that already ended and Jobs that already finished are not counted
// again.
func (m *Metrics) Seed(pods []*runner.PodRecord, jobs []*manifest.Job) {
	m.mu.Lock()
	defer m.mu.Unlock()
	started := map[string]bool{} // job UIDs with a started container
	for _, r := range pods {
		m.pods[key(r.Pod.Namespace, r.Pod.Name)] = podSeen{uid: r.Pod.UID, terminal: runner.IsTerminalPhase(r.Pod.Status.Phase)}
		if uid := jobUID(&r.Pod); uid != "" && !history.FirstStart(r).IsZero() {
			started[uid] = true
		}
	}
	for _, j := range jobs {
		_, c := history.Finished(j)
		m.jobs[key(j.Namespace, j.Name)] = &jobSeen{uid: j.UID, cronJob: history.CronJobOwner(j), scheduled: history.Scheduled(j),
			finished: c != nil, delayed: started[j.UID]}
	}
}

// Changed returns a channel closed once the next change has been taken in
// (a test's way to wait for the counters without polling).
func (m *Metrics) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changed == nil {
		m.changed = make(chan struct{})
	}
	return m.changed
}

// Observe takes in one change of the controllers' stream.
func (m *Metrics) Observe(ch *runner.Change) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changed != nil {
		defer func() { close(m.changed); m.changed = nil }()
	}
	switch {
	case ch.Job != nil && ch.Deleted:
		delete(m.jobs, key(ch.Job.Namespace, ch.Job.Name))
	case ch.Job != nil:
		m.job(ch.Job)
	case ch.Pod != nil && ch.Deleted:
		delete(m.pods, key(ch.Pod.Namespace, ch.Pod.Name))
	case ch.Record != nil:
		m.pod(ch.Record)
	}
}

func (m *Metrics) job(j *manifest.Job) {
	k := key(j.Namespace, j.Name)
	s := m.jobs[k]
	if s == nil || s.uid != j.UID {
		s = &jobSeen{uid: j.UID, cronJob: history.CronJobOwner(j), scheduled: history.Scheduled(j)}
		m.jobs[k] = s
	}
	typ, c := history.Finished(j)
	if c == nil || s.finished {
		return
	}
	s.finished = true
	if st := j.Status.StartTime; st != nil && !st.IsZero() {
		end := c.LastTransitionTime.Time
		if ct := j.Status.CompletionTime; ct != nil && !ct.IsZero() {
			end = ct.Time
		}
		if d := end.Sub(st.Time); d >= 0 {
			m.jobDuration.WithLabelValues(j.Namespace, s.cronJob, typ).Observe(d.Seconds())
		}
	}
}

func (m *Metrics) pod(r *runner.PodRecord) {
	p := &r.Pod
	k := key(p.Namespace, p.Name)
	seen := m.pods[k]
	if seen.uid != p.UID {
		seen = podSeen{uid: p.UID}
	}
	uid := jobUID(p)
	if uid == "" {
		m.pods[k] = seen
		return
	}
	if j := m.jobOf(p.Namespace, uid); j != nil && !j.delayed && !j.scheduled.IsZero() {
		if t := history.FirstStart(r); !t.IsZero() {
			j.delayed = true
			m.scheduleDelay.WithLabelValues(p.Namespace, j.cronJob).Observe(max(t.Sub(j.scheduled), 0).Seconds())
		}
	}
	if runner.IsTerminalPhase(p.Status.Phase) && !seen.terminal {
		seen.terminal = true
		a := history.AttemptOf(r, nil)
		m.attempts.WithLabelValues(a.Outcome(), a.Reason).Inc()
	}
	m.pods[k] = seen
}

func (m *Metrics) jobOf(ns, uid string) *jobSeen {
	for k, j := range m.jobs {
		if j.uid == uid && strings.HasPrefix(k, ns+"/") {
			return j
		}
	}
	return nil
}

// NotificationSent and NotificationFailed count webhook deliveries.
func (m *Metrics) NotificationSent()   { m.notifications.WithLabelValues("sent").Inc() }
func (m *Metrics) NotificationFailed() { m.notifications.WithLabelValues("failed").Inc() }

func key(ns, name string) string { return ns + "/" + name }

func jobUID(p *manifest.Pod) string {
	if o := p.ControllerRef(manifest.KindJob); o != nil {
		return o.UID
	}
	return ""
}

// Handler serves the metrics in the Prometheus text format; a failed
// store read answers 500.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "localjobs: metrics are on /metrics")
	})
	return mux
}

// ListenAddr is where --metrics-addr listens: a bare ":PORT" (or an empty
// host) means loopback, 127.0.0.1:PORT; any other host is taken as given.
func ListenAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--metrics-addr %q: want HOST:PORT or :PORT: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// Serve serves h on ln until ctx is done, then shuts down within 5 s.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return nil
	}
}
