package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/schedule"
)

func runScheduleCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb, nil)
	return out.String(), errb.String(), code
}

func TestScheduleCommand(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{"weekdays", []string{"schedule", "30 2 * * 1-5", "--time-zone", "America/New_York", "--from", "2026-03-05T00:00:00-05:00", "-n", "3"}, 0,
			`At 02:30 on every day-of-week from Monday through Friday.
Time zone: America/New_York
Next 3 fire times:
  Thu 2026-03-05 02:30:00 -05:00  EST
  Fri 2026-03-06 02:30:00 -05:00  EST
  Mon 2026-03-09 02:30:00 -04:00  EDT
`, ""},
		{"dst adjusted", []string{"schedule", "30 2 * * *", "--time-zone", "America/New_York", "--from", "2026-03-07T12:00:00-05:00", "-n", "2"}, 0,
			`At 02:30.
Time zone: America/New_York
Next 2 fire times:
  Sun 2026-03-08 03:00:00 -04:00  EDT  DST-adjusted: 02:30 does not exist on Sun 2026-03-08 in America/New_York (clocks went forward): runs at the end of the gap, 03:00 EDT
  Mon 2026-03-09 02:30:00 -04:00  EDT
`, ""},
		{"kubernetes policy skips", []string{"schedule", "30 2 * * *", "--time-zone", "America/New_York", "--from", "2026-03-07T12:00:00-05:00", "-n", "1", "--dst-policy", "kubernetes"}, 0,
			"At 02:30.\nTime zone: America/New_York\nNext 1 fire times:\n  Mon 2026-03-09 02:30:00 -04:00  EDT\n", ""},
		{"unquoted words joined", []string{"schedule", "@every", "90m", "--from", "2026-01-01T00:00:00Z", "--time-zone", "UTC", "-n", "1"}, 0,
			"Every 1 hour 30 minutes, counted from the last scheduled run (or the CronJob's creation), not aligned to the clock.\nTime zone: UTC\n", ""},
		{"sub-minute warning", []string{"schedule", "@every 20s", "-n", "0"}, 0, "Every 20 seconds", "runs at most once a minute"},
		{"dow 7", []string{"schedule", "0 0 * * 7"}, 1, "", `day-of-week field "7": end of range (7) above maximum (6): 7`},
		{"six fields", []string{"schedule", "0 0 0 * * *"}, 1, "", "there is no seconds field"},
		{"TZ prefix", []string{"schedule", "TZ=UTC 0 0 * * *"}, 1, "", "use timeZone field instead"},
		{"bad zone", []string{"schedule", "@daily", "--time-zone", "Mars/Base"}, 1, "", "unknown time zone Mars/Base"},
		{"Local refused", []string{"schedule", "@daily", "--time-zone", "Local"}, 1, "", "unknown time zone Local"},
		{"never fires", []string{"schedule", "59 23 31 2 *"}, 1, "", "never fires"},
		{"no expression", []string{"schedule"}, 2, "", "schedule needs a cron expression"},
		{"bad from", []string{"schedule", "@daily", "--from", "yesterday"}, 2, "", "not an RFC 3339 time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runScheduleCLI(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if !strings.HasPrefix(out, tt.wantOut) {
				t.Errorf("stdout:\n%s\nwant prefix:\n%s", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.wantStderr)
			}
		})
	}
}

func testCronJob() *manifest.CronJob {
	cj := &manifest.CronJob{
		TypeMeta:   manifest.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: manifest.ObjectMeta{Name: "backup", Namespace: "default", UID: "u1"},
		Spec: manifest.CronJobSpec{
			Schedule: "30 2 * * *",
			JobTemplate: manifest.JobTemplateSpec{Spec: manifest.JobSpec{Template: manifest.PodTemplateSpec{
				Spec: manifest.PodSpec{RestartPolicy: "Never", Containers: []manifest.Container{{Name: "main", Image: "busybox", Command: []string{"sh", "-c", "date"}}}},
			}}},
		},
	}
	manifest.Default(cj)
	return cj
}

func TestPrintCronJobs(t *testing.T) {
	now := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	a := testCronJob()
	a.CreationTimestamp = manifest.Time{Time: now.Add(-3 * 24 * time.Hour)}
	a.Status.LastScheduleTime = &manifest.Time{Time: now.Add(-90 * time.Second)}
	a.Status.Active = []manifest.ObjectReference{{Name: "backup-1"}}
	b := testCronJob()
	b.Name = "nightly-report"
	zone := "Europe/Berlin"
	b.Spec.TimeZone = &zone
	yes := true
	b.Spec.Suspend = &yes
	b.CreationTimestamp = manifest.Time{Time: now.Add(-14 * time.Minute)}
	var buf bytes.Buffer
	if err := printCronJobs(&buf, []*manifest.CronJob{a, b}, now, false, false); err != nil {
		t.Fatal(err)
	}
	want := `NAME             SCHEDULE     TIMEZONE        SUSPEND   ACTIVE   LAST SCHEDULE   AGE
backup           30 2 * * *   <none>          False     1        90s             3d
nightly-report   30 2 * * *   Europe/Berlin   True      0        <none>          14m
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	buf.Reset()
	printCronJobs(&buf, []*manifest.CronJob{a}, now, true, true)
	if !strings.HasPrefix(buf.String(), "NAMESPACE   NAME     SCHEDULE") || !strings.Contains(buf.String(), "main         busybox   <none>") {
		t.Errorf("wide/all namespaces:\n%s", buf.String())
	}
}

func TestDescribeCronJob(t *testing.T) {
	now := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	cj := testCronJob()
	zone := "America/New_York"
	cj.Spec.TimeZone = &zone
	cj.Status.LastScheduleTime = &manifest.Time{Time: time.Date(2026, 3, 7, 7, 30, 0, 0, time.UTC)}
	cj.Status.Active = []manifest.ObjectReference{{Name: "backup-29548290"}}
	evs := []*manifest.Event{{Type: "Normal", Reason: schedule.ReasonSuccessfulCreate, Message: "Created job backup-29548290",
		Source: manifest.EventSource{Component: schedule.Component}, FirstTimestamp: manifest.Time{Time: now.Add(-4 * time.Hour)}, Count: 1}}
	var buf bytes.Buffer
	describeCronJob(&buf, cj, evs, nil, true, now, time.UTC)
	got := buf.String()
	for _, want := range []string{
		"Name:                          backup\n",
		"Schedule:                      30 2 * * *\n",
		"Concurrency Policy:            Allow\n",
		"Suspend:                       False\n",
		"Time Zone:                     America/New_York\n",
		"Successful Job History Limit:  3\n",
		"Failed Job History Limit:      1\n",
		"Starting Deadline Seconds:     <unset>\n",
		"Selector:                      <unset>\n",
		"Parallelism:                   <unset>\n",
		"Pod Template:\n",
		"    Image:  busybox\n",
		"Last Schedule Time:    Sat, 07 Mar 2026 07:30:00 +0000\n",
		"Active Jobs:           backup-29548290\n",
		"Next Schedule Time:    Sun, 08 Mar 2026 03:00:00 -0400 (DST-adjusted: 02:30 does not exist",
		"Last Successful Time:  <unset>\n",
		"Last Failed Time:      <unset>\n",
		"  Normal  SuccessfulCreate  4h    cronjob-controller  Created job backup-29548290\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("describe output lacks %q:\n%s", want, got)
		}
	}
}
