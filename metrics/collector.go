package metrics

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Gauges read from the store at scrape time, named and labelled as
// kube-state-metrics does where it has the metric.
var (
	descJobSucceeded = prometheus.NewDesc("kube_job_status_succeeded", "The number of pods which reached Phase Succeeded.", []string{"namespace", "job_name"}, nil)
	descJobFailed    = prometheus.NewDesc("kube_job_status_failed", "The number of pods which reached Phase Failed.", []string{"namespace", "job_name"}, nil)
	descJobActive    = prometheus.NewDesc("kube_job_status_active", "The number of actively running pods.", []string{"namespace", "job_name"}, nil)
	descJobComplete  = prometheus.NewDesc("kube_job_complete", "The job has completed its execution.", []string{"namespace", "job_name", "condition"}, nil)
	descJobFailedC   = prometheus.NewDesc("kube_job_failed", "The job has failed its execution.", []string{"namespace", "job_name", "condition"}, nil)
	descJobStart     = prometheus.NewDesc("kube_job_status_start_time", "StartTime represents time when the job was acknowledged by the Job Manager.", []string{"namespace", "job_name"}, nil)
	descJobDone      = prometheus.NewDesc("kube_job_status_completion_time", "CompletionTime represents time when the job was completed.", []string{"namespace", "job_name"}, nil)
	descJobOwner     = prometheus.NewDesc("kube_job_owner", "Information about the Job's owner.", []string{"namespace", "job_name", "owner_kind", "owner_name", "owner_is_controller"}, nil)

	descCronActive     = prometheus.NewDesc("kube_cronjob_status_active", "Active holds pointers to currently running jobs.", []string{"namespace", "cronjob"}, nil)
	descCronLastSched  = prometheus.NewDesc("kube_cronjob_status_last_schedule_time", "LastScheduleTime keeps information of when was the last time the job was successfully scheduled.", []string{"namespace", "cronjob"}, nil)
	descCronLastOK     = prometheus.NewDesc("kube_cronjob_status_last_successful_time", "LastSuccessfulTime keeps information of when was the last time the job was completed successfully.", []string{"namespace", "cronjob"}, nil)
	descCronSuspend    = prometheus.NewDesc("kube_cronjob_spec_suspend", "Suspend flag tells the controller to suspend subsequent executions.", []string{"namespace", "cronjob"}, nil)
	descCronLastFailed = prometheus.NewDesc("localjobs_cronjob_last_failed_time_seconds", "When the CronJob's newest failed run got its Failed condition (from the run history, so it outlives the Job).", []string{"namespace", "cronjob"}, nil)

	descPodPhase   = prometheus.NewDesc("kube_pod_status_phase", "The pods current phase.", []string{"namespace", "pod", "uid", "phase"}, nil)
	descActivePods = prometheus.NewDesc("localjobs_active_pods", "Pods not yet Succeeded or Failed.", nil, nil)

	descScrapeError = prometheus.NewDesc("localjobs_scrape_error", "The store could not be read.", nil, nil)
)

var podPhases = []string{manifest.PodPending, manifest.PodSucceeded, manifest.PodFailed, "Unknown", manifest.PodRunning}

// ScrapeTimeout bounds the store reads of one scrape.
const ScrapeTimeout = 10 * time.Second

// stateCollector is an unchecked collector (its series depend on the
// store) of the gauges above.
type stateCollector struct{ src Source }

func (c *stateCollector) Describe(chan<- *prometheus.Desc) {}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	if err := c.collect(ctx, ch); err != nil {
		// A failed read fails the scrape (500): never a page of zeros.
		ch <- prometheus.NewInvalidMetric(descScrapeError, err)
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *stateCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	jobs, err := c.src.Jobs(ctx, "")
	if err != nil {
		return err
	}
	cjs, err := c.src.CronJobs(ctx, "")
	if err != nil {
		return err
	}
	pods, err := c.src.Pods(ctx, "")
	if err != nil {
		return err
	}
	lasts, err := c.src.LastRuns(ctx)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("scrape: store reads took too long")
	}
	for _, j := range jobs {
		ns, n, st := j.Namespace, j.Name, &j.Status
		gauge(ch, descJobSucceeded, float64(st.Succeeded), ns, n)
		gauge(ch, descJobFailed, float64(st.Failed), ns, n)
		gauge(ch, descJobActive, float64(st.Active), ns, n)
		for _, cond := range st.Conditions {
			d := descJobComplete
			switch cond.Type {
			case manifest.JobComplete:
			case manifest.JobFailed:
				d = descJobFailedC
			default:
				continue
			}
			for _, s := range []string{"true", "false", "unknown"} {
				gauge(ch, d, b2f(strings.EqualFold(cond.Status, s)), ns, n, s)
			}
		}
		if st.StartTime != nil && !st.StartTime.IsZero() {
			gauge(ch, descJobStart, float64(st.StartTime.Unix()), ns, n)
		}
		if st.CompletionTime != nil && !st.CompletionTime.IsZero() {
			gauge(ch, descJobDone, float64(st.CompletionTime.Unix()), ns, n)
		}
		owned := false
		for _, o := range j.OwnerReferences {
			owned = true
			ctl := "false"
			if o.Controller != nil && *o.Controller {
				ctl = "true"
			}
			gauge(ch, descJobOwner, 1, ns, n, o.Kind, o.Name, ctl)
		}
		if !owned {
			gauge(ch, descJobOwner, 1, ns, n, "<none>", "<none>", "<none>")
		}
	}
	lastFailed := map[string]time.Time{}
	for _, l := range lasts {
		lastFailed[key(l.Namespace, l.CronJob)] = l.LastFailed
	}
	for _, cj := range cjs {
		ns, n := cj.Namespace, cj.Name
		gauge(ch, descCronActive, float64(len(cj.Status.Active)), ns, n)
		if t := cj.Status.LastScheduleTime; t != nil && !t.IsZero() {
			gauge(ch, descCronLastSched, float64(t.Unix()), ns, n)
		}
		if t := cj.Status.LastSuccessfulTime; t != nil && !t.IsZero() {
			gauge(ch, descCronLastOK, float64(t.Unix()), ns, n)
		}
		gauge(ch, descCronSuspend, b2f(cj.Spec.Suspend != nil && *cj.Spec.Suspend), ns, n)
		if t := lastFailed[key(ns, n)]; !t.IsZero() {
			gauge(ch, descCronLastFailed, float64(t.Unix()), ns, n)
		}
	}
	active := 0
	for _, r := range pods {
		p := &r.Pod
		phase := p.Status.Phase
		if phase == "" {
			phase = manifest.PodPending
		}
		for _, ph := range podPhases {
			gauge(ch, descPodPhase, b2f(ph == phase), p.Namespace, p.Name, p.UID, ph)
		}
		if !runner.IsTerminalPhase(p.Status.Phase) {
			active++
		}
	}
	gauge(ch, descActivePods, float64(active))
	return nil
}
