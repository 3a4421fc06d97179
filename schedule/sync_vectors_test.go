package schedule

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// The tables of cron-vectors.md (A to G), with the helpers that build
// their CronJobs and Jobs.

// T is cron-vectors.md's T: 2016-05-19T10:00:00Z, a Thursday.
var T = time.Date(2016, 5, 19, 10, 0, 0, 0, time.UTC)

// at returns hh:mm[:ss] on 2016-05-19 UTC.
func at(hm string) time.Time {
	var h, m, s int
	if n, _ := fmt.Sscanf(hm, "%d:%d:%d", &h, &m, &s); n < 2 {
		panic("bad time " + hm)
	}
	return time.Date(2016, 5, 19, h, m, s, 0, time.UTC)
}

func i64(v int64) *int64 { return &v }

// category is cron-vectors' missed column: none (≤ 1 time), few (2–100),
// many (> 100).
func category(n int) string {
	switch {
	case n <= 1:
		return "none"
	case n <= tooManyMissed:
		return "few"
	}
	return "many"
}

// TestMostRecentVectorsA is table A (mostRecentScheduleTime).
func TestMostRecentVectorsA(t *testing.T) {
	tests := []struct {
		id, expr    string
		created     time.Time
		lst         time.Time // zero = unset
		sds         *int64
		includeSDS  bool
		now         time.Time
		want        time.Time // zero = nil
		wantMissed  string
		wantErr     bool
		differsNote string
	}{
		{id: "A1", expr: "0 * * * *", created: T, now: T.Add(30 * time.Second), wantMissed: "none"},
		{id: "A2", expr: "0 * * * *", created: T, now: T.Add(61 * time.Minute), want: T.Add(time.Hour), wantMissed: "none"},
		{id: "A3", expr: "0 * * * *", created: T.Add(10 * time.Second), now: T.Add(301 * time.Minute), want: T.Add(300 * time.Minute), wantMissed: "few"},
		{id: "A4", expr: "30 6-16/4 * * 1-5", created: T, lst: T.Add(30 * time.Minute), now: T.Add(24*time.Hour + 31*time.Minute), want: T.Add(24*time.Hour + 30*time.Minute), wantMissed: "few"},
		// Kubernetes' approximation returns nil here; localjobs finds the
		// true newest missed time, Fri 05-20 12:30 (a deliberate difference).
		{id: "A5", expr: "30 10,11,12 * * 1-5", created: T, lst: T.Add(30 * time.Minute), now: T.Add(30*time.Hour + 30*time.Minute),
			want: T.Add(26*time.Hour + 30*time.Minute), wantMissed: "few", differsNote: "Kubernetes: nil (approximation misses 05-20 12:30)"},
		{id: "A6", expr: "30 6-16/4 * * 1-5", created: T, lst: T.Add(30 * time.Minute), now: T.Add(96*time.Hour + 31*time.Minute), want: T.Add(96*time.Hour + 30*time.Minute), wantMissed: "few"},
		{id: "A7", expr: "30 6-16/4 * * 1-5", created: T, now: T.Add(24*time.Hour + 31*time.Minute), want: T.Add(24*time.Hour + 30*time.Minute), wantMissed: "few"},
		{id: "A8", expr: "@every 1h", created: T.Add(-59 * time.Minute), lst: T.Add(time.Minute), sds: i64(10), now: T.Add(7 * 24 * time.Hour), want: T.Add(6*24*time.Hour + 23*time.Hour + time.Minute), wantMissed: "many"},
		{id: "A9", expr: "59 23 31 2 *", created: T.Add(10 * time.Second), now: T.Add(time.Hour), wantErr: true},
		{id: "A10", expr: "0 * * * *", created: T, lst: T, now: T.Add(30 * time.Second), wantMissed: "none"},
		{id: "A11", expr: "*/5 * * * *", created: T, lst: T.Add(30 * time.Minute), now: T.Add(31 * time.Minute), wantMissed: "none"},
		{id: "A12", expr: "*/5 * * * *", created: T, lst: T.Add(30 * time.Minute), sds: i64(60), now: T.Add(31 * time.Minute), wantMissed: "none"},
		{id: "A13", expr: "*/5 * * * *", created: T, lst: T.Add(30 * time.Minute), sds: i64(60), includeSDS: true, now: T.Add(32 * time.Minute), wantMissed: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			s := mustParse(t, tt.expr, time.UTC, PolicyLocaljobs)
			base := tt.created
			if !tt.lst.IsZero() {
				base = tt.lst
			}
			var sds *int64
			if tt.includeSDS {
				sds = tt.sds
			}
			got, n, err := mostRecent(s, base, tt.now, sds)
			if (err != nil) != tt.wantErr {
				t.Fatalf("mostRecent err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if !got.Time.Equal(tt.want) {
				t.Errorf("mostRecent = %v, want %v %s", got.Time, tt.want, tt.differsNote)
			}
			if c := category(n); c != tt.wantMissed {
				t.Errorf("missed = %d (%s), want %s", n, c, tt.wantMissed)
			}
		})
	}
}

// TestNextScheduleTimeVectorsB is table B (nextScheduleTime, deadline
// included), schedule "0 * * * ?". The deadline set in B7 stays for B8.
func TestNextScheduleTimeVectorsB(t *testing.T) {
	T1, T2 := T, T.Add(time.Hour)
	tests := []struct {
		id           string
		expr         string
		created, lst time.Time
		sds          *int64
		now          time.Time
		want         time.Time
		wantTooMany  bool
		wantErr      bool
	}{
		{id: "B1", created: T1.Add(-10 * time.Minute), now: T1.Add(-7 * time.Minute)},
		{id: "B2", created: T1.Add(-10 * time.Minute), now: T1.Add(2 * time.Second), want: T1},
		{id: "B3", created: T1.Add(-10 * time.Minute), lst: T1, now: T1.Add(2 * time.Minute)},
		{id: "B4", created: T1.Add(-10 * time.Minute), lst: T1, now: T2.Add(5 * time.Minute), want: T2},
		{id: "B5", created: T1.Add(-2 * time.Hour), lst: T1.Add(-time.Hour), now: T2.Add(5 * time.Minute), want: T2},
		{id: "B6", created: T1.Add(-2 * time.Hour), lst: T1.Add(-time.Hour), now: T2.Add(10 * 24 * time.Hour), want: T2.Add(10 * 24 * time.Hour), wantTooMany: true},
		{id: "B7", created: T1.Add(-2 * time.Hour), lst: T1.Add(-time.Hour), sds: i64(7200), now: T2.Add(10 * 24 * time.Hour), want: T2.Add(10 * 24 * time.Hour)},
		{id: "B8", expr: "59 23 31 2 *", created: T1.Add(10 * time.Second), sds: i64(7200), now: T.Add(time.Hour), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			expr := tt.expr
			if expr == "" {
				expr = "0 * * * ?"
			}
			base := tt.created
			if !tt.lst.IsZero() {
				base = tt.lst
			}
			got, n, err := mostRecent(mustParse(t, expr, time.UTC, PolicyLocaljobs), base, tt.now, tt.sds)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !got.Time.Equal(tt.want) {
				t.Errorf("got %v, want %v", got.Time, tt.want)
			}
			if (n > tooManyMissed) != tt.wantTooMany {
				t.Errorf("missed = %d, want too many = %v", n, tt.wantTooMany)
			}
		})
	}
}

func newCronJob(expr string, created time.Time) *manifest.CronJob {
	one := int32(1)
	cj := &manifest.CronJob{
		TypeMeta:   manifest.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: manifest.ObjectMeta{Name: "mycronjob", Namespace: "snazzycats", UID: "cj-uid", CreationTimestamp: manifest.Time{Time: created}},
		Spec: manifest.CronJobSpec{
			Schedule: expr,
			JobTemplate: manifest.JobTemplateSpec{
				ObjectMeta: manifest.ObjectMeta{Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"x": "y"}},
				Spec: manifest.JobSpec{Parallelism: &one, Completions: &one, Template: manifest.PodTemplateSpec{
					Spec: manifest.PodSpec{RestartPolicy: "Never", Containers: []manifest.Container{{Name: "c", Image: "busybox"}}},
				}},
			},
		},
	}
	manifest.Default(cj)
	return cj
}

// job returns a Job of the CronJob for scheduled time jobT; finished =
// "Complete"/"Failed" finishes it 10 s later.
func job(cj *manifest.CronJob, jobT time.Time, finished string) *manifest.Job {
	j := NewJob(cj, jobT, time.UTC)
	j.UID = "uid-" + j.Name
	j.CreationTimestamp = manifest.Time{Time: jobT}
	j.Status.StartTime = manifest.NewTime(jobT)
	if finished != "" {
		j.Status.Conditions = []manifest.JobCondition{{Type: finished, Status: "True"}}
		if finished == manifest.JobComplete {
			j.Status.CompletionTime = manifest.NewTime(jobT.Add(10 * time.Second))
		}
	}
	return j
}

func eventReasons(evs []Event, typ string) []string {
	var out []string
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e.Reason)
		}
	}
	return out
}

// TestSyncVectorsF is table F (one controller sync). Rows where localjobs
// deliberately differs say so in note.
func TestSyncVectorsF(t *testing.T) {
	const (
		A, F, R = manifest.ConcurrencyAllow, manifest.ConcurrencyForbid, manifest.ConcurrencyReplace
		H, E    = "0 * * * ?", "@every 1h"
		ERR     = "obvious error schedule"
		NY      = "America/New_York"
	)
	short, medium, long := i64(10), i64(7200), i64(1000000)
	week := time.Date(2016, 5, 26, 10, 0, 0, 0, time.UTC)
	m := time.Minute
	rows := []syncRowF{
		{id: "F1", pol: A, sched: ERR, now: at("09:59"), active: 0, warn: []string{ReasonUnparseableSchedule}, requeue: 0, upd: "no"},
		{id: "F2", pol: F, sched: ERR, now: at("09:59"), active: 0, warn: []string{ReasonUnparseableSchedule}, requeue: 0, upd: "no"},
		{id: "F3", pol: F, sched: ERR, now: at("09:59"), active: 0, warn: []string{ReasonUnparseableSchedule}, requeue: 0, upd: "no"},
		{id: "F4", pol: A, sched: H, tz: "bad timezone", now: at("09:59"), active: 0, warn: []string{ReasonUnknownTimeZone}, requeue: 0, upd: "no"},
		{id: "F5", pol: A, sched: H, now: at("09:59"), active: 0, requeue: m + 100*time.Millisecond, upd: "no"},
		{id: "F6", pol: F, sched: H, now: at("09:59"), active: 0, requeue: m + 100*time.Millisecond, upd: "no"},
		{id: "F7", pol: R, sched: H, now: at("09:59"), active: 0, requeue: m + 100*time.Millisecond, upd: "no"},
		{id: "F8", pol: A, sched: H, tz: NY, now: at("09:59"), active: 0, requeue: m + 100*time.Millisecond, upd: "no"},
		{id: "F9", pol: A, sched: H, now: at("10:01"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F10", pol: F, sched: H, now: at("10:01"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F11", pol: R, sched: H, now: at("10:01"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F12", pol: A, sched: H, tz: NY, now: at("10:01"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F13", pol: A, sched: H, tz: NY, now: at("10:01"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F14", pol: A, sched: "TZ=UTC 0 * * * ?", tz: NY, now: at("10:01"), create: false, active: 0, warn: []string{ReasonUnsupportedSchedule}, requeue: 0, upd: "no",
			note: "Kubernetes still runs a legacy TZ= schedule (create, 59m+100ms); localjobs never runs one (DESIGN §8)"},
		{id: "F15", pol: A, susp: true, sched: H, now: at("10:01"), active: 0, requeue: 0, upd: "no"},
		{id: "F16", pol: A, sched: H, sds: short, now: at("10:12"), active: 0, requeue: 48*m + 100*time.Millisecond, upd: "no"},
		{id: "F17", pol: A, sched: H, sds: long, now: at("10:01"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F18", pol: A, sched: H, ranPrev: true, now: at("09:59"), active: 0, requeue: m + 100*time.Millisecond, upd: "yes"},
		{id: "F19", pol: F, sched: H, ranPrev: true, now: at("09:59"), active: 0, requeue: m + 100*time.Millisecond, upd: "yes"},
		{id: "F20", pol: R, sched: H, ranPrev: true, now: at("09:59"), active: 0, requeue: m + 100*time.Millisecond, upd: "yes"},
		{id: "F21", pol: A, sched: H, ranPrev: true, now: at("10:01"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F22", pol: A, sched: H, ranPrev: true, extraJob: at("10:00"), now: at("10:01"), create: false, active: none, requeue: none, upd: "yes",
			note: "level-based: the Job of the 10:00 slot is in the store's list (Kubernetes learns it from AlreadyExists); the slot counts as run"},
		{id: "F23", pol: A, sched: H, ranPrev: true, notInActive: true, extraJob: at("10:00"), now: at("10:01"), create: false, active: none, requeue: none, upd: "yes",
			note: "as F22"},
		{id: "F24", pol: F, sched: H, ranPrev: true, now: at("10:01"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F25", pol: R, sched: H, ranPrev: true, now: at("10:01"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F26", pol: A, susp: true, sched: H, ranPrev: true, now: at("10:01"), active: 0, requeue: 0, upd: "yes"},
		{id: "F27", pol: A, sched: H, sds: short, ranPrev: true, now: at("10:01"), active: 0, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F28", pol: A, sched: H, sds: long, ranPrev: true, now: at("10:01"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F29", pol: A, sched: H, ranPrev: true, stillActive: true, now: at("09:59"), active: 1, requeue: m + 100*time.Millisecond, upd: "no"},
		{id: "F30", pol: F, sched: H, ranPrev: true, stillActive: true, now: at("09:59"), active: 1, requeue: m + 100*time.Millisecond, upd: "no"},
		{id: "F31", pol: R, sched: H, ranPrev: true, stillActive: true, now: at("09:59"), active: 1, requeue: m + 100*time.Millisecond, upd: "no"},
		{id: "F32", pol: A, sched: H, ranPrev: true, stillActive: true, now: at("10:01"), create: true, active: 2, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F33", pol: F, sched: H, ranPrev: true, stillActive: true, now: at("10:01"), create: false, active: 1, normal: ReasonJobAlreadyActive, requeue: 59*m + 100*time.Millisecond, upd: "no"},
		{id: "F34", pol: R, sched: H, ranPrev: true, stillActive: true, now: at("10:01"), create: true, deleted: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F35", note: "not applicable: there is no GET — the store's list is the truth, so a failing GET cannot happen; store errors are retried by Controller"},
		{id: "F36", pol: A, susp: true, sched: H, ranPrev: true, stillActive: true, now: at("10:01"), active: 1, requeue: 0, upd: "no"},
		{id: "F37", pol: A, sched: H, sds: short, ranPrev: true, stillActive: true, now: at("10:01"), active: 1, requeue: 59*m + 100*time.Millisecond, upd: "no"},
		{id: "F38", pol: A, sched: H, sds: long, ranPrev: true, stillActive: true, now: at("10:01"), create: true, active: 2, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F39", pol: A, sched: H, sds: long, ranPrev: true, now: week, create: true, active: 1, warn: []string{ReasonTooManyMissedTimes}, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F40", pol: R, sched: H, sds: long, ranPrev: true, now: week, create: true, active: 1, warn: []string{ReasonTooManyMissedTimes}, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F41", pol: F, sched: H, sds: long, ranPrev: true, now: week, create: true, active: 1, warn: []string{ReasonTooManyMissedTimes}, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F42", pol: A, sched: H, ranPrev: true, now: week, create: true, active: 1, warn: []string{ReasonTooManyMissedTimes}, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F43", pol: R, sched: H, ranPrev: true, now: week, create: true, active: 1, warn: []string{ReasonTooManyMissedTimes}, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F44", pol: F, sched: H, ranPrev: true, now: week, create: true, active: 1, warn: []string{ReasonTooManyMissedTimes}, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F45", pol: A, sched: H, sds: medium, ranPrev: true, now: week, create: true, active: 1, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F46", pol: A, sched: H, sds: short, ranPrev: true, now: week, create: true, active: 1, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F47", pol: R, sched: H, sds: medium, ranPrev: true, now: week, create: true, active: 1, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F48", pol: R, sched: H, sds: short, ranPrev: true, now: week, create: true, active: 1, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F49", pol: F, sched: H, sds: medium, ranPrev: true, now: week, create: true, active: 1, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F50", pol: F, sched: H, sds: short, ranPrev: true, now: week, create: true, active: 1, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F51", pol: F, sched: H, ranPrev: true, jobT: at("10:01"), now: at("09:59"), create: false, requeue: m + 100*time.Millisecond, upd: "yes"},
		// F52–F57: the Job of the 10:00 slot exists. Kubernetes' variants
		// (missing from its lister but found by GET; in the lister but not
		// in status.active) collapse into one in a level-based controller:
		// the store's list is the truth, and status.active is rebuilt from it.
		{id: "F52", pol: A, sched: H, sds: long, ranPrev: true, stillActive: true, jobT: at("10:00").Add(100 * time.Millisecond), now: at("10:01").Add(100 * time.Millisecond), active: 1, requeue: 59 * m, upd: "", note: "lastScheduleTime moves to the slot whose Job exists (Kubernetes leaves it)"},
		{id: "F53", pol: F, sched: H, sds: long, ranPrev: true, stillActive: true, jobT: at("10:00").Add(100 * time.Millisecond), now: at("10:01").Add(100 * time.Millisecond), active: 1, requeue: 59 * m, upd: "", note: "lastScheduleTime moves to the slot whose Job exists (Kubernetes leaves it)"},
		{id: "F54", pol: R, sched: H, sds: long, ranPrev: true, stillActive: true, jobT: at("10:00").Add(100 * time.Millisecond), now: at("10:01").Add(100 * time.Millisecond), active: 1, requeue: 59 * m, upd: "", note: "lastScheduleTime moves to the slot whose Job exists (Kubernetes leaves it)"},
		{id: "F55", pol: A, sched: H, sds: long, ranPrev: true, stillActive: true, notInActive: true, jobT: at("10:00").Add(100 * time.Millisecond), now: at("10:01").Add(100 * time.Millisecond), active: 1, requeue: 59 * m,
			note: "status.active gains the Job (Kubernetes' API copy already had it)"},
		{id: "F56", pol: F, sched: H, sds: long, ranPrev: true, stillActive: true, notInActive: true, jobT: at("10:00").Add(100 * time.Millisecond), now: at("10:01").Add(100 * time.Millisecond), active: 1, requeue: 59 * m},
		{id: "F57", pol: R, sched: H, sds: long, ranPrev: true, stillActive: true, notInActive: true, jobT: at("10:00").Add(100 * time.Millisecond), now: at("10:01").Add(100 * time.Millisecond), active: 1, requeue: 59 * m},
		{id: "F58", pol: A, sched: E, cjCreated: at("09:59"), now: at("10:00"), active: 0, requeue: 59*m + 100*time.Millisecond, upd: "no"},
		{id: "F59", pol: A, sched: E, cjCreated: at("08:59"), now: at("09:59"), create: true, active: 1, requeue: time.Hour + 100*time.Millisecond, upd: "yes"},
		{id: "F60", pol: A, sched: E, sds: short, cjCreated: at("08:59"), now: at("09:59:11"), active: 0, requeue: time.Hour - 11*time.Second + 100*time.Millisecond, upd: "no"},
		{id: "F61", pol: A, sched: E, sds: long, cjCreated: at("08:59"), now: at("09:59:09"), create: true, active: 1, requeue: time.Hour - 9*time.Second + 100*time.Millisecond, upd: "yes"},
		{id: "F62", pol: A, sched: E, ranPrev: true, cjCreated: at("08:59"), lst: at("09:59"), jobT: at("08:59"), now: at("10:00"), active: 0, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F63", pol: A, sched: E, ranPrev: true, cjCreated: at("08:59"), lst: at("09:59"), jobT: at("08:59"), now: at("11:00"), create: true, active: 1, requeue: 59*m + 100*time.Millisecond, upd: "yes"},
		{id: "F64", pol: A, sched: E, sds: short, ranPrev: true, cjCreated: at("08:59"), lst: at("09:59"), jobT: at("08:59"), now: at("10:59:11"), active: 0, requeue: time.Hour - 11*time.Second + 100*time.Millisecond, upd: "yes"},
		{id: "F65", pol: A, sched: E, ranPrev: true, stillActive: true, cjCreated: at("08:59"), lst: at("09:59"), jobT: at("09:59"), now: at("10:00"), active: 1, requeue: 59*m + 100*time.Millisecond, upd: "no"},
		{id: "F66", pol: A, sched: E, ranPrev: true, stillActive: true, cjCreated: at("08:59"), lst: at("08:59"), jobT: at("08:59"), now: at("10:01"), create: true, active: 2, requeue: 58*m + 100*time.Millisecond, upd: "yes"},
		{id: "F67", pol: A, sched: E, sds: short, ranPrev: true, stillActive: true, cjCreated: at("08:59"), lst: at("09:59"), jobT: at("09:59"), now: at("10:59:11"), active: 1, requeue: time.Hour - 11*time.Second + 100*time.Millisecond, upd: "no"},
		{id: "F68", pol: A, sched: E, sds: long, ranPrev: true, stillActive: true, cjCreated: at("08:59"), lst: at("09:59"), jobT: at("09:59"), now: at("10:59:09"), create: true, active: 2, requeue: time.Hour - 9*time.Second + 100*time.Millisecond, upd: "yes"},
		{id: "F69", pol: A, sched: E, ranPrev: true, cjCreated: at("09:01"), lst: at("10:01"), jobT: at("09:01"), now: week, create: true, active: 1, warn: []string{ReasonTooManyMissedTimes}, requeue: m + 100*time.Millisecond, upd: "yes"},
		{id: "F70", pol: A, sched: E, sds: short, ranPrev: true, cjCreated: at("09:01"), lst: at("10:01"), jobT: at("09:01"), now: week.Add(time.Minute + 11*time.Second), active: 0, requeue: time.Hour - 11*time.Second + 100*time.Millisecond, upd: "yes"},
		{id: "F71", note: "not applicable: namespaces are not terminated in localjobs"},
	}
	for _, tt := range rows {
		t.Run(tt.id, func(t *testing.T) {
			if tt.pol == "" {
				t.Skip(tt.note)
			}
			if tt.note != "" {
				t.Log("differs from Kubernetes:", tt.note)
			}
			cj, jobs, expectSuccess := tt.setup()
			r := Sync(Input{CronJob: cj, Jobs: jobs, Now: tt.now, Local: time.UTC})
			tt.check(t, cj, r, expectSuccess)
		})
	}
}

// none in a row of table F is a requeue or active count not asserted.
const none = -1

// syncRowF is one row of table F.
type syncRowF struct {
	id, pol     string
	susp        bool
	sched, tz   string
	sds         *int64
	ranPrev     bool
	stillActive bool
	jobT        time.Time // zero = 09:01
	cjCreated   time.Time
	lst         time.Time
	notInActive bool
	extraJob    time.Time // a Job for this time exists (the AlreadyExists rows)
	now         time.Time
	create      bool
	deleted     bool
	active      int // -1 = not asserted
	warn        []string
	normal      string // an extra Normal reason expected
	requeue     time.Duration
	upd         string // "yes", "no" or "" (not asserted)
	note        string
}

// setup builds the row's CronJob and Jobs; expectSuccess is the
// lastSuccessfulTime the sync must report (nil: not asserted).
func (tt syncRowF) setup() (cj *manifest.CronJob, jobs []*manifest.Job, expectSuccess *time.Time) {
	created := tt.cjCreated
	if created.IsZero() {
		created = at("09:59")
		if tt.ranPrev {
			created = at("08:59")
		}
	}
	cj = newCronJob(tt.sched, created)
	cj.Spec.ConcurrencyPolicy = tt.pol
	cj.Spec.Suspend = &tt.susp
	cj.Spec.StartingDeadlineSeconds = tt.sds
	if tt.tz != "" {
		cj.Spec.TimeZone = &tt.tz
	}
	if tt.ranPrev {
		lst := tt.lst
		if lst.IsZero() {
			lst = at("09:01")
		}
		cj.Status.LastScheduleTime = manifest.NewTime(lst)
		jobT := tt.jobT
		if jobT.IsZero() {
			jobT = at("09:01")
		}
		if tt.stillActive {
			j := job(cj, jobT, "")
			jobs = append(jobs, j)
			if !tt.notInActive {
				cj.Status.Active = []manifest.ObjectReference{jobRef(j)}
			}
		} else {
			j := job(cj, jobT, manifest.JobComplete)
			jobs = append(jobs, j)
			ct := j.Status.CompletionTime.Time
			expectSuccess = &ct
		}
	}
	if !tt.extraJob.IsZero() {
		jobs = append(jobs, job(cj, tt.extraJob, ""))
	}
	return cj, jobs, expectSuccess
}

// check compares one sync's result with the row.
func (tt syncRowF) check(t *testing.T, cj *manifest.CronJob, r Result, expectSuccess *time.Time) {
	t.Helper()
	var creates, deletes int
	for _, a := range r.Actions {
		if a.Create != nil {
			creates++
			if got, want := a.Create.Name, JobName(cj.Name, r.Slot); got != want {
				t.Errorf("created %s, want %s", got, want)
			}
		}
		if a.Delete != nil {
			deletes++
		}
	}
	if (creates > 0) != tt.create || creates > 1 {
		t.Errorf("creates = %d, want create %v", creates, tt.create)
	}
	if (deletes > 0) != tt.deleted {
		t.Errorf("deletes = %d, want delete %v", deletes, tt.deleted)
	}
	if tt.active >= 0 && len(r.Status.Active) != tt.active {
		t.Errorf("active = %d, want %d", len(r.Status.Active), tt.active)
	}
	if got := eventReasons(r.Events, EventWarning); !slices.Equal(got, tt.warn) {
		t.Errorf("warnings = %v, want %v", got, tt.warn)
	}
	normal := eventReasons(r.Events, EventNormal)
	if tt.normal != "" && !slices.Contains(normal, tt.normal) {
		t.Errorf("normal events = %v, want %s", normal, tt.normal)
	}
	if tt.normal == "" && slices.Contains(normal, ReasonJobAlreadyActive) {
		t.Errorf("unexpected %s", ReasonJobAlreadyActive)
	}
	if tt.requeue != none && r.RequeueAfter != tt.requeue {
		t.Errorf("requeue = %v, want %v", r.RequeueAfter, tt.requeue)
	}
	if tt.upd != "" && r.StatusChanged != (tt.upd == "yes") {
		t.Errorf("status changed = %v, want %s", r.StatusChanged, tt.upd)
	}
	if expectSuccess != nil && (r.Status.LastSuccessfulTime == nil || !r.Status.LastSuccessfulTime.Equal(*expectSuccess)) {
		t.Errorf("lastSuccessfulTime = %v, want %v", r.Status.LastSuccessfulTime, expectSuccess)
	}
	if tt.create && (r.Status.LastScheduleTime == nil || !r.Status.LastScheduleTime.Equal(r.Slot)) {
		t.Errorf("lastScheduleTime = %v, want %v", r.Status.LastScheduleTime, r.Slot)
	}
}

// TestRequeueVectorsC is table C (nextScheduleTimeDuration), through Sync.
func TestRequeueVectorsC(t *testing.T) {
	tests := []struct {
		id, expr string
		lst      time.Time
		now      time.Time
		want     time.Duration
	}{
		{"C1", "30 6-16/4 * * 1-5", T.Add(30 * time.Minute), T.Add(24*time.Hour + 31*time.Minute), 3*time.Hour + 59*time.Minute},
		{"C2", "30 10,11,12 * * 1-5", T.Add(30 * time.Minute), T.Add(30*time.Hour + 30*time.Minute), 66 * time.Hour},
		{"C3", "0 12 * * 4", T.Add(2 * time.Hour), T.Add(19*24*time.Hour + 90*time.Minute), 48*time.Hour + 30*time.Minute},
		{"C4", "0 12 * * 5", time.Time{}, T.Add(6 * time.Hour), 20 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			cj := newCronJob(tt.expr, T)
			if !tt.lst.IsZero() {
				cj.Status.LastScheduleTime = manifest.NewTime(tt.lst)
			}
			r := Sync(Input{CronJob: cj, Now: tt.now, Local: time.UTC})
			if want := tt.want + 100*time.Millisecond; r.RequeueAfter != want {
				t.Errorf("requeue = %v, want %v", r.RequeueAfter, want)
			}
		})
	}
}

// TestJobFromTemplateVectorsD is table D.
func TestJobFromTemplateVectorsD(t *testing.T) {
	tests := []struct {
		id, tz  string
		ann     map[string]string
		wantN   int
		wantAnn string
	}{
		{"D1", "UTC", map[string]string{"x": "y"}, 2, "2016-05-19T10:00:00Z"},
		{"D2", "", map[string]string{"x": "y"}, 2, "2016-05-19T10:00:00Z"},
		{"D3", "Europe/Rome", map[string]string{"x": "y", "z": "x"}, 3, "2016-05-19T12:00:00+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			cj := newCronJob("0 * * * *", T)
			cj.Spec.JobTemplate.Annotations = tt.ann
			loc := time.UTC
			if tt.tz != "" {
				cj.Spec.TimeZone = &tt.tz
				loc = mustZone(t, tt.tz)
			}
			j := NewJob(cj, T, loc)
			if j.Name != "mycronjob-24394200" {
				t.Errorf("name = %s, want mycronjob-24394200", j.Name)
			}
			if len(j.Annotations) != tt.wantN || j.Annotations[AnnotationScheduledTimestamp] != tt.wantAnn {
				t.Errorf("annotations = %v, want %d with %s", j.Annotations, tt.wantN, tt.wantAnn)
			}
			if len(j.Labels) != 1 || j.Labels["a"] != "b" {
				t.Errorf("labels = %v", j.Labels)
			}
			o := j.OwnerReferences
			if len(o) != 1 || o[0].Kind != "CronJob" || o[0].UID != "cj-uid" || o[0].Controller == nil || !*o[0].Controller {
				t.Errorf("ownerReferences = %+v", o)
			}
			if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit != manifest.DefaultBackoffLimit {
				t.Errorf("job spec not defaulted: %+v", j.Spec)
			}
			// The template is not shared with the Job.
			j.Spec.Template.Spec.Containers[0].Image = "changed"
			if cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image != "busybox" {
				t.Error("NewJob shares the template")
			}
		})
	}
}

// TestSortByStartTimeVectorsE is table E.
func TestSortByStartTimeVectorsE(t *testing.T) {
	now := time.Date(2018, 1, 1, 2, 3, 4, 5, time.UTC)
	later := time.Date(2019, 1, 1, 2, 3, 4, 5, time.UTC)
	mk := func(name string, start time.Time) *manifest.Job {
		j := &manifest.Job{ObjectMeta: manifest.ObjectMeta{Name: name}}
		if !start.IsZero() {
			j.Status.StartTime = &manifest.Time{Time: start}
		}
		return j
	}
	var zero time.Time
	tests := []struct {
		id   string
		in   []*manifest.Job
		want string
	}{
		{"E1", []*manifest.Job{mk("b", zero), mk("a", zero)}, "a b"},
		{"E2", []*manifest.Job{mk("a", zero), mk("b", now)}, "b a"},
		{"E3", []*manifest.Job{mk("a", now), mk("b", zero)}, "a b"},
		{"E4", []*manifest.Job{mk("b", now), mk("a", now)}, "a b"},
		{"E5", []*manifest.Job{mk("a", later), mk("b", now)}, "b a"},
	}
	for _, tt := range tests {
		SortByStartTime(tt.in)
		got := tt.in[0].Name + " " + tt.in[1].Name
		if got != tt.want {
			t.Errorf("%s: order = %s, want %s", tt.id, got, tt.want)
		}
	}
}

// TestRequeueAfterUpdateVectorsG is table G. G1 and G5 (a template
// change syncs at once) and G6 are Controller behaviour: Apply always
// syncs at once (TestControllerApplySyncsAtOnce); G6's artefact (an empty
// schedule enqueues nothing) is an UnparseableSchedule warning here.
func TestRequeueAfterUpdateVectorsG(t *testing.T) {
	now := at("09:59:59")
	tests := []struct {
		id, expr string
		want     time.Duration
	}{
		{"G2", "*/1 * * * *", time.Second},
		{"G3", "@every 3m", 2*time.Minute + time.Second},
		{"G4", "@every 1m", time.Second},
	}
	for _, tt := range tests {
		cj := newCronJob(tt.expr, at("08:00"))
		cj.Status.LastScheduleTime = manifest.NewTime(at("09:59"))
		r := Sync(Input{CronJob: cj, Now: now, Local: time.UTC})
		if want := tt.want + 100*time.Millisecond; r.RequeueAfter != want {
			t.Errorf("%s: requeue = %v, want %v", tt.id, r.RequeueAfter, want)
		}
	}
	cj := newCronJob("", at("08:00"))
	if r := Sync(Input{CronJob: cj, Now: now, Local: time.UTC}); !slices.Equal(eventReasons(r.Events, EventWarning), []string{ReasonUnparseableSchedule}) || r.RequeueAfter != 0 {
		t.Errorf("G6: events %v requeue %v", r.Events, r.RequeueAfter)
	}
}
