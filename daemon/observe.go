package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/metrics"
	"github.com/localjobs/localjobs/notify"
	"github.com/localjobs/localjobs/runner"
)

// observers are the daemon's consumers of the controllers' change stream
// (issue #13): the run-history recorder, the webhook notifier that
// delivers what the recorder queues, and the Prometheus metrics. None of
// them can hold a controller up: each reads its own subscription in its
// own goroutine.
type observers struct {
	rec      *recorder
	rsub     *runner.Subscription // the recorder's, left to drain at stop
	notifier *notify.Worker
	metrics  *metrics.Metrics
	// metricsLn is the --metrics-addr listener (nil when off).
	metricsLn net.Listener
	wg        sync.WaitGroup
}

// prepareMetrics makes the metrics and their listener when asked (before
// the controller exists: the runtime it drives is the metrics' decorator).
func (d *Daemon) prepareMetrics() error {
	if d.cfg.MetricsAddr == "" {
		return nil
	}
	addr, err := metrics.ListenAddr(d.cfg.MetricsAddr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	d.obs.metricsLn = ln
	d.obs.metrics = metrics.New(metricsSource{d})
	return nil
}

// metricsSource is what a scrape reads: the daemon's view (CronJobs with
// their live status.active) and the run history.
type metricsSource struct{ d *Daemon }

func (s metricsSource) v() view { return view{db: s.d.DB, cron: s.d.cron} }

func (s metricsSource) Pods(ctx context.Context, ns string) ([]*runner.PodRecord, error) {
	return s.v().Pods(ctx, ns)
}
func (s metricsSource) Jobs(ctx context.Context, ns string) ([]*manifest.Job, error) {
	return s.v().Jobs(ctx, ns)
}
func (s metricsSource) CronJobs(ctx context.Context, ns string) ([]*manifest.CronJob, error) {
	return s.v().CronJobs(ctx, ns)
}
func (s metricsSource) LastRuns(ctx context.Context) ([]*history.Last, error) {
	return s.d.DB.LastRuns(ctx)
}

// startObservers subscribes the observers and starts their goroutines on
// ctx. It runs before the controllers do: the recorder's reconcile and the
// metrics' seed read a store that nothing changes yet, and the
// subscriptions miss nothing the restart reconcile does.
func (d *Daemon) startObservers(ctx context.Context) error {
	o := &d.obs
	log := d.cfg.Log
	host, _ := os.Hostname()
	o.notifier = &notify.Worker{
		Outbox: d.DB, Host: host, Version: d.cfg.Version, Log: log.With("component", "notifier"),
		Backoff: d.cfg.NotifyBackoff, OnFailed: d.notifyFailed,
	}
	if m := o.metrics; m != nil {
		o.notifier.OnSent = func(*history.Notification) { m.NotificationSent() }
	}
	o.rec = newRecorder(d.DB, log.With("component", "history"), d.cfg.History, d.cfg.Notify, o.notifier.Kick)
	if err := o.rec.reconcile(ctx); err != nil {
		return err
	}
	if m := o.metrics; m != nil {
		pods, err := d.DB.Pods(ctx, "")
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		jobs, err := d.DB.Jobs(ctx, "")
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		m.Seed(pods, jobs)
	}
	rsub := d.Subscribe(o.rec.keepChange)
	var msub *runner.Subscription
	if o.metrics != nil {
		msub = d.Subscribe(metricsChange)
	}
	o.wg.Add(3)
	go func() {
		defer o.wg.Done()
		o.rsub = o.rec.follow(ctx, rsub, func() *runner.Subscription { return d.Subscribe(o.rec.keepChange) })
	}()
	go func() { defer o.wg.Done(); o.rec.prune(ctx) }()
	go func() { defer o.wg.Done(); o.notifier.Run(ctx) }()
	if m := o.metrics; m != nil {
		o.wg.Add(2)
		go func() { defer o.wg.Done(); observeMetrics(ctx, m, msub, d) }()
		go func() {
			defer o.wg.Done()
			if err := metrics.Serve(ctx, o.metricsLn, m.Handler()); err != nil {
				log.Error("metrics server", "error", err)
			}
		}()
	}
	return nil
}

// observeMetrics feeds the change stream to the metrics; a subscription cut
// off for falling behind is replaced (the counters may miss what fell
// between; the gauges never do, they read the store).
func observeMetrics(ctx context.Context, m *metrics.Metrics, sub *runner.Subscription, d *Daemon) {
	for {
		ch, err := sub.Next(ctx)
		if errors.Is(err, runner.ErrSlowSubscriber) {
			sub.Close()
			sub = d.Subscribe(metricsChange)
			continue
		}
		if err != nil {
			sub.Close()
			return
		}
		m.Observe(&ch)
	}
}

// metricsChange is what the metrics take in: Jobs, pod records and pod
// deletions.
func metricsChange(ch *runner.Change) bool {
	return ch.Job != nil || ch.Record != nil || ch.Pod != nil && ch.Deleted
}

// notifyFailed is called when the notifier gives a notification up: a
// Warning event NotifyFailed on the Job (on its CronJob when the Job is
// gone; only the daemon's log when both are).
func (d *Daemon) notifyFailed(ctx context.Context, n *history.Notification) {
	if m := d.obs.metrics; m != nil {
		m.NotificationFailed()
	}
	msg := fmt.Sprintf("webhook %s was not told of this run after %d attempts: %s", notify.Redact(n.Target.URL), n.Attempts, n.LastError)
	r := &n.Run
	ref := manifest.ObjectReference{Kind: manifest.KindJob, APIVersion: "batch/v1", Namespace: r.Namespace, Name: r.Job, UID: r.UID}
	if j, err := d.DB.Job(ctx, r.Namespace, r.Job); err != nil || j.UID != r.UID {
		ref = manifest.ObjectReference{}
		if r.CronJob != "" {
			if cj, err := d.DB.CronJob(ctx, r.Namespace, r.CronJob); err == nil {
				ref = manifest.ObjectReference{Kind: manifest.KindCronJob, APIVersion: "batch/v1", Namespace: r.Namespace, Name: cj.Name, UID: cj.UID}
				msg = "job " + r.Job + ": " + msg
			}
		}
	}
	if ref.UID == "" {
		return // the notifier has logged it
	}
	d.recordEvent(ctx, ref, "Warning", "NotifyFailed", msg, "localjobs-notifier")
}

// stopObservers waits for the observers, once the controllers have
// stopped, and lets the recorder drain what they published last.
func (d *Daemon) stopObservers() {
	d.obs.wg.Wait()
	if d.obs.rec != nil {
		d.obs.rec.drain(d.obs.rsub)
	}
}

// Metrics is the daemon's metrics, nil unless Config.MetricsAddr is set.
func (d *Daemon) Metrics() *metrics.Metrics { return d.obs.metrics }

// recordEvent records an event through the controller, which stores and
// publishes it.
func (d *Daemon) recordEvent(ctx context.Context, ref manifest.ObjectReference, typ, reason, msg, component string) {
	d.Controller.RecordEvent(ctx, ref, typ, reason, msg, component)
}

// observersBanner says what up's observers do: the history's retention,
// the metrics address, the global webhook.
func (d *Daemon) observersBanner() []string {
	keep := d.cfg.History.OrDefault()
	out := []string{fmt.Sprintf("run history: the newest %d runs per CronJob or Job, none older than %s (--history-limit, --history-age)",
		keep.Limit, humanDays(keep.MaxAge))}
	if ln := d.obs.metricsLn; ln != nil {
		out = append(out, fmt.Sprintf("metrics: http://%s/metrics (Prometheus)", ln.Addr()))
	}
	if t := d.cfg.Notify; t.URL != "" {
		on := map[string]string{history.OnFailure: "failed Jobs", history.OnAlways: "every finished Job", history.OnNever: "no Job unless its annotations say so"}[t.On]
		out = append(out, fmt.Sprintf("notifications: %s to %s (%s); the localjobs.io/notify-* annotations override it", on, notify.Redact(t.URL), t.Format))
	}
	return out
}

// checkNotify checks the global webhook and fills its defaults.
func checkNotify(t history.Target) (history.Target, error) {
	if t.Format == "" {
		t.Format = history.DefaultFormat
	}
	if t.On == "" {
		t.On = history.DefaultOn
	}
	if t.URL != "" {
		if msg := manifest.CheckNotifyURL(t.URL); msg != "" {
			return t, fmt.Errorf("--notify-url %q: %s", t.URL, msg)
		}
	}
	if t.Format != history.FormatJSON && t.Format != history.FormatSlack {
		return t, fmt.Errorf("--notify-format %q: want json or slack", t.Format)
	}
	if t.On != history.OnFailure && t.On != history.OnAlways && t.On != history.OnNever {
		return t, fmt.Errorf("--notify-on %q: want failure, always or never", t.On)
	}
	return t, nil
}

func humanDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
