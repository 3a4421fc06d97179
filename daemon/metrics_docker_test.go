package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// TestMetricsScrapeReal: with Docker, a CronJob's run-on-start run that
// fails and a Job that succeeds move the counters and gauges on /metrics
// (scraped before and after), the CronJob's last failed time is exported
// from the history after its history limit deleted the Job, and the
// history holds the run with the container's real output and exit code.
func TestMetricsScrapeReal(t *testing.T) {
	dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	dir := shortDir(t, "ljmdk")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := daemon.Start(ctx, daemon.Config{StateDir: dir, Version: "dev", MetricsAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(t, d)
	url := metricsURL(t, d)
	before := scrape(t, url)
	if strings.Contains(before, "localjobs_attempts_total{") || strings.Contains(before, "kube_job_status_succeeded{") {
		t.Errorf("counters before any run:\n%s", before)
	}
	sub := d.Subscribe(nil)
	defer sub.Close()
	cron := strings.NewReplacer("busybox", image, `env: [{name: SAY, value: "hello from boot"}]`,
		`command: ["sh", "-c", "echo backing up; exit 4"]`+"\n            imagePullPolicy: IfNotPresent",
		"jobTemplate:\n    spec:\n", "jobTemplate:\n    spec:\n      backoffLimit: 0\n").Replace(bootCronJob)
	mustApply(t, ctx, d, "boot.yaml", cron)
	d.StartCronJobs()
	job := strings.NewReplacer("image: busybox", "image: "+image+"\n        imagePullPolicy: IfNotPresent\n        command: [\"true\"]").
		Replace(jobYAML("good", "", 0, "", 0))
	mustApply(t, ctx, d, "good.yaml", job)
	waitBoot(t, ctx, sub, deleted, map[string]func(*runner.Change) bool{"good": finished})
	waitScrape(t, ctx, d, url,
		`localjobs_attempts_total{outcome="failed",reason="Error"} 1`,
		`localjobs_attempts_total{outcome="succeeded",reason="Completed"} 1`,
		`kube_job_status_succeeded{job_name="good",namespace="default"} 1`,
		`kube_job_complete{condition="true",job_name="good",namespace="default"} 1`,
		`localjobs_job_duration_seconds_count{cronjob="boot",namespace="default",outcome="Failed"} 1`,
		`localjobs_cronjob_last_failed_time_seconds{cronjob="boot",namespace="default"} `,
		`kube_cronjob_status_active{cronjob="boot",namespace="default"} 0`,
	)
	// The last failed time comes from the run's record (same
	// transaction), so the record is there now.
	runs, err := d.Client().History(ctx, localapi.HistoryQuery{Namespace: "default", Kind: "cronjob", Name: "boot"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("history %v %v", runs, err)
	}
	if r := runs[0]; r.Outcome != "Failed" || r.ExitCode == nil || *r.ExitCode != 4 || r.LastAttempt().LogTail != "backing up\n" {
		t.Errorf("run %+v, tail %q", r, r.LastAttempt().LogTail)
	}
}
