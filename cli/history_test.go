package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/localapi"
)

func testRuns() []*localapi.HistoryRun {
	t0 := time.Date(2026, 3, 7, 3, 0, 0, 0, time.UTC)
	one, zero := int32(1), int32(0)
	return []*localapi.HistoryRun{
		{Job: "backup-29548320", Namespace: "default", CronJob: "backup", Scheduled: t0.Add(24 * time.Hour), Started: t0.Add(24*time.Hour + 2*time.Second),
			Finished: t0.Add(24*time.Hour + 95*time.Second), Outcome: "Failed", Reason: "BackoffLimitExceeded", ExitCode: &one, AttemptCount: 3},
		{Job: "backup-29546880", Namespace: "default", CronJob: "backup", Scheduled: t0, Started: t0.Add(time.Second),
			Finished: t0.Add(61 * time.Second), Outcome: "Complete", Reason: "CompletionsReached", ExitCode: &zero, AttemptCount: 1},
	}
}

func TestHistoryTable(t *testing.T) {
	var buf bytes.Buffer
	if err := printRuns(&buf, testRuns(), time.UTC, false); err != nil {
		t.Fatal(err)
	}
	want := `NAME              OWNER            SCHEDULED             STARTED               DURATION   OUTCOME                         ATTEMPTS   EXIT
backup-29548320   cronjob/backup   2026-03-08 03:00:00   2026-03-08 03:00:02   93s        Failed (BackoffLimitExceeded)   3          1
backup-29546880   cronjob/backup   2026-03-07 03:00:00   2026-03-07 03:00:01   60s        Complete                        1          0
`
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestHistoryInDescribeCronJob(t *testing.T) {
	now := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	cj := testCronJob()
	var buf bytes.Buffer
	describeCronJob(&buf, cj, nil, testRuns(), true, now, time.UTC)
	got := buf.String()
	for _, want := range []string{
		"Last Successful Time:  Sat, 07 Mar 2026 03:01:01 +0000 (32h ago)\n",
		"Last Failed Time:      Sun, 08 Mar 2026 03:01:35 +0000 (8h ago)\n",
		"Last Runs:\n  NAME              STARTED               DURATION   OUTCOME                         EXIT\n",
		"  backup-29548320   2026-03-08 03:00:02   93s        Failed (BackoffLimitExceeded)   1\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("describe lacks %q:\n%s", want, got)
		}
	}
	buf.Reset()
	describeCronJob(&buf, cj, nil, nil, true, now, time.UTC)
	if !strings.Contains(buf.String(), "Last Failed Time:      <unset>\n") || !strings.Contains(buf.String(), "Last Runs:  <none>\n") {
		t.Errorf("no history:\n%s", buf.String())
	}
}

// TestHistoryUpFlags: up's history, metrics and notify flags, their
// defaults and their usage errors.
func TestHistoryUpFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		check   func(o localapi.DaemonOptions) bool
	}{
		{nil, "", func(o localapi.DaemonOptions) bool {
			return o.HistoryLimit == 100 && o.HistoryMaxAge == 30*24*time.Hour && o.MetricsAddr == "" && o.NotifyOn == "failure"
		}},
		{[]string{"--history-age", "7d", "--history-limit", "5", "--metrics-addr", ":9464"}, "", func(o localapi.DaemonOptions) bool {
			return o.HistoryMaxAge == 7*24*time.Hour && o.HistoryLimit == 5 && o.MetricsAddr == ":9464"
		}},
		{[]string{"--history-age", "36h", "--notify-url", "https://h.example/x", "--notify-format", "slack"}, "", func(o localapi.DaemonOptions) bool {
			return o.HistoryMaxAge == 36*time.Hour && o.NotifyURL == "https://h.example/x" && o.NotifyFormat == "slack"
		}},
		{[]string{"--notify-url", "h.example/x"}, "must be an http or https URL", nil},
		{[]string{"--notify-on", "sometimes"}, "want failure, always or never", nil},
		{[]string{"--history-limit", "0"}, "at least 1", nil},
		{[]string{"--history-age", "forever"}, "invalid argument", nil},
	}
	for _, tt := range tests {
		e := &env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
		fs := e.flags("up", "up")
		of := addObserveFlags(fs)
		var o localapi.DaemonOptions
		err := fs.Parse(tt.args)
		if err == nil {
			err = of.apply(&o)
		}
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: error %v, want %q", tt.args, err, tt.wantErr)
			}
		case err != nil || !tt.check(o):
			t.Errorf("%v: %+v %v", tt.args, o, err)
		}
	}
}
