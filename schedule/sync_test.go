package schedule

import (
	"slices"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// TestSyncHistoryLimits deletes the oldest finished Jobs beyond the limits.
func TestSyncHistoryLimits(t *testing.T) {
	cj := newCronJob("0 * * * *", at("00:00"))
	two, one := int32(2), int32(1)
	cj.Spec.SuccessfulJobsHistoryLimit, cj.Spec.FailedJobsHistoryLimit = &two, &one
	cj.Status.LastScheduleTime = manifest.NewTime(at("05:00"))
	jobs := []*manifest.Job{
		job(cj, at("01:00"), manifest.JobComplete),
		job(cj, at("02:00"), manifest.JobFailed),
		job(cj, at("03:00"), manifest.JobComplete),
		job(cj, at("04:00"), manifest.JobFailed),
		job(cj, at("05:00"), manifest.JobComplete),
	}
	r := Sync(Input{CronJob: cj, Jobs: jobs, Now: at("05:30"), Local: time.UTC})
	var deleted []string
	for _, a := range r.Actions {
		if a.Delete != nil {
			deleted = append(deleted, a.Delete.Name)
			if a.Event.Reason != ReasonSuccessfulDelete || a.Event.Message != "Deleted job "+a.Delete.Name {
				t.Errorf("event %+v", a.Event)
			}
		}
	}
	want := []string{JobName("mycronjob", at("01:00")), JobName("mycronjob", at("02:00"))}
	if !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	if got := r.Status.LastSuccessfulTime; got == nil || !got.Equal(at("05:00:10")) {
		t.Errorf("lastSuccessfulTime = %v", got)
	}
}

// TestSyncManualJobUnderForbid: a manual Job (create job --from) counts in
// status.active, so Forbid holds the scheduled slot back, and the slot
// starts once the manual Job has finished (deadline permitting).
func TestSyncManualJobUnderForbid(t *testing.T) {
	cj := newCronJob("0 * * * *", at("09:30"))
	cj.Spec.ConcurrencyPolicy = manifest.ConcurrencyForbid
	manual := NewManualJob(cj, "by-hand")
	manual.CreationTimestamp = manifest.Time{Time: at("09:50")}
	if manual.Annotations[AnnotationInstantiate] != "manual" {
		t.Fatalf("manual annotations %v", manual.Annotations)
	}
	if err := ManualForbidden(cj, []*manifest.Job{manual}); err == nil {
		t.Error("ManualForbidden = nil with an active manual job under Forbid")
	}
	r := Sync(Input{CronJob: cj, Jobs: []*manifest.Job{manual}, Now: at("10:00:01"), Local: time.UTC})
	if len(r.Actions) != 0 || len(r.Status.Active) != 1 || r.Status.Active[0].Name != "by-hand" {
		t.Fatalf("actions %+v active %+v", r.Actions, r.Status.Active)
	}
	if !slices.Contains(eventReasons(r.Events, EventNormal), ReasonJobAlreadyActive) {
		t.Errorf("events %v", r.Events)
	}
	// The manual Job finishes at 10:00:30: the held slot starts.
	cj.Status = r.Status
	manual.Status.Conditions = []manifest.JobCondition{{Type: manifest.JobComplete, Status: "True"}}
	manual.Status.CompletionTime = manifest.NewTime(at("10:00:30"))
	r = Sync(Input{CronJob: cj, Jobs: []*manifest.Job{manual}, Now: at("10:00:30"), Local: time.UTC})
	if len(r.Actions) != 1 || r.Actions[0].Create == nil || r.Actions[0].Create.Name != JobName("mycronjob", at("10:00")) {
		t.Fatalf("actions %+v", r.Actions)
	}
	if got := eventReasons(r.Events, EventNormal); !slices.Contains(got, ReasonSawCompletedJob) {
		t.Errorf("events %v", got)
	}
	// With a 10 s deadline the held slot is dropped silently.
	ten := int64(10)
	cj.Spec.StartingDeadlineSeconds = &ten
	r = Sync(Input{CronJob: cj, Jobs: []*manifest.Job{manual}, Now: at("10:00:30"), Local: time.UTC})
	if len(r.Actions) != 0 || len(r.Events) != 1 {
		t.Errorf("with deadline: actions %+v events %+v", r.Actions, r.Events)
	}
}

// TestSyncDSTAdjusted: a fixed-time slot in New York's spring-forward gap
// is created at the end of the gap with a DSTAdjusted event; with the
// opt-out it is skipped.
func TestSyncDSTAdjusted(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	zone := "America/New_York"
	for _, policy := range []string{"", DSTPolicyKubernetes} {
		cj := newCronJob("30 2 * * *", mustTime(t, "2026-03-07T12:00:00-05:00"))
		cj.Spec.TimeZone = &zone
		if policy != "" {
			cj.Annotations = map[string]string{AnnotationDSTPolicy: policy}
		}
		r := Sync(Input{CronJob: cj, Now: mustTime(t, "2026-03-08T03:00:05-04:00"), Local: time.UTC})
		if policy != "" {
			if len(r.Actions) != 0 {
				t.Errorf("kubernetes policy: actions %+v", r.Actions)
			}
			if want := mustTime(t, "2026-03-09T02:30:00-04:00"); !r.NextRun.Equal(want) {
				t.Errorf("kubernetes policy: next %v, want %v", r.NextRun, want)
			}
			continue
		}
		if len(r.Actions) != 1 || r.Actions[0].Adjusted == nil || r.Actions[0].Adjusted.Reason != ReasonDSTAdjusted {
			t.Fatalf("actions %+v", r.Actions)
		}
		j := r.Actions[0].Create
		if got := j.Annotations[AnnotationScheduledTimestamp]; got != "2026-03-08T03:00:00-04:00" {
			t.Errorf("scheduled timestamp %s", got)
		}
		if r.Status.LastScheduleTime.In(ny).Format(time.RFC3339) != "2026-03-08T03:00:00-04:00" {
			t.Errorf("lastScheduleTime %v", r.Status.LastScheduleTime)
		}
		t.Log(r.Actions[0].Adjusted.Message)
	}
}

// TestSyncCatchUpTimeline66 is k8s-semantics §6.6: `0 * * * *`, controller
// down 10:30→15:10 with lastScheduleTime 10:00.
func TestSyncCatchUpTimeline66(t *testing.T) {
	for _, tt := range []struct {
		name string
		sds  *int64
		now  time.Time
		want string // created job's slot, "" = none
		warn []string
	}{
		{"five missed", nil, at("15:10"), "15:00", nil},
		{"deadline 300s", i64(300), at("15:10"), "", nil},
		{"five days", nil, at("15:10").Add(5 * 24 * time.Hour), "15:00+5d", []string{ReasonTooManyMissedTimes}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cj := newCronJob("0 * * * *", at("08:00"))
			cj.Spec.StartingDeadlineSeconds = tt.sds
			cj.Status.LastScheduleTime = manifest.NewTime(at("10:00"))
			r := Sync(Input{CronJob: cj, Jobs: []*manifest.Job{job(cj, at("10:00"), manifest.JobComplete)}, Now: tt.now, Local: time.UTC})
			var created []string
			for _, a := range r.Actions {
				if a.Create != nil {
					created = append(created, a.Create.Name)
				}
			}
			var want []string
			switch tt.want {
			case "15:00":
				want = []string{JobName("mycronjob", at("15:00"))}
			case "15:00+5d":
				want = []string{JobName("mycronjob", at("15:00").Add(5*24*time.Hour))}
			}
			if !slices.Equal(created, want) {
				t.Errorf("created %v, want %v", created, want)
			}
			if got := eventReasons(r.Events, EventWarning); !slices.Equal(got, tt.warn) {
				t.Errorf("warnings %v, want %v", got, tt.warn)
			}
			if want := at("16:00"); tt.want != "15:00+5d" && !r.NextRun.Equal(want) {
				t.Errorf("next run %v, want %v", r.NextRun, want)
			}
		})
	}
}

// TestSyncRunOnStartOnly: a schedule that never fires with run-on-start
// runs at daemon start only (crontab's @reboot), without the
// InvalidSchedule warning the schedule alone gets.
func TestSyncRunOnStartOnly(t *testing.T) {
	cj := newCronJob("0 0 31 2 *", at("09:00"))
	r := Sync(Input{CronJob: cj, Now: at("10:00:30"), Local: time.UTC, RunOnStart: true})
	if len(r.Actions) != 0 || !slices.Equal(eventReasons(r.Events, EventWarning), []string{ReasonInvalidSchedule}) {
		t.Errorf("without the annotation: actions %+v events %+v", r.Actions, r.Events)
	}
	cj.Annotations = map[string]string{AnnotationRunOnStart: "true"}
	r = Sync(Input{CronJob: cj, Now: at("10:00:30"), Local: time.UTC, RunOnStart: true})
	if len(r.Actions) != 1 || r.Actions[0].Create == nil || r.Actions[0].Create.Annotations[AnnotationRunOnStart] != "true" {
		t.Fatalf("at start: actions %+v", r.Actions)
	}
	if len(r.Events) != 0 || !r.NextRun.IsZero() {
		t.Errorf("at start: events %+v, next run %v", r.Events, r.NextRun)
	}
	r = Sync(Input{CronJob: cj, Now: at("11:00:30"), Local: time.UTC})
	if len(r.Actions) != 0 || len(r.Events) != 0 || !r.NextRun.IsZero() {
		t.Errorf("later: actions %+v events %+v next run %v", r.Actions, r.Events, r.NextRun)
	}
}

// TestSyncRunOnStart: one extra run at daemon start, unless the start's
// sync already created a Job, and subject to Forbid.
func TestSyncRunOnStart(t *testing.T) {
	cj := newCronJob("0 3 * * *", at("09:00"))
	cj.Annotations = map[string]string{AnnotationRunOnStart: "true"}
	r := Sync(Input{CronJob: cj, Now: at("10:00:30"), Local: time.UTC, RunOnStart: true})
	if len(r.Actions) != 1 || r.Actions[0].Create == nil {
		t.Fatalf("actions %+v", r.Actions)
	}
	j := r.Actions[0].Create
	if j.Annotations[AnnotationRunOnStart] != "true" || j.Annotations[AnnotationScheduledTimestamp] != "" {
		t.Errorf("annotations %v", j.Annotations)
	}
	if r.Status.LastScheduleTime != nil {
		t.Errorf("run-on-start moved lastScheduleTime to %v", r.Status.LastScheduleTime)
	}
	// A catch-up run at start is the start's run.
	cj.CreationTimestamp = manifest.Time{Time: at("00:00")}
	r = Sync(Input{CronJob: cj, Now: at("03:00:30"), Local: time.UTC, RunOnStart: true})
	if len(r.Actions) != 1 || r.Actions[0].Create.Name != JobName("mycronjob", at("03:00")) {
		t.Errorf("catch-up + run-on-start actions %+v", r.Actions)
	}
	// Forbid with an active Job holds it back.
	cj.Spec.ConcurrencyPolicy = manifest.ConcurrencyForbid
	r = Sync(Input{CronJob: cj, Jobs: []*manifest.Job{NewManualJob(cj, "m")}, Now: at("10:00:30"), Local: time.UTC, RunOnStart: true})
	if len(r.Actions) != 0 || !slices.Contains(eventReasons(r.Events, EventNormal), ReasonJobAlreadyActive) {
		t.Errorf("forbid: actions %+v events %+v", r.Actions, r.Events)
	}
}

// The stages of Sync, one table each.

func TestSawChildren(t *testing.T) {
	cj := newCronJob("0 * * * ?", at("08:00"))
	running, done, failed := job(cj, at("09:00"), ""), job(cj, at("08:00"), manifest.JobComplete), job(cj, at("07:00"), manifest.JobFailed)
	jobs := []*manifest.Job{running, done, failed}
	tests := []struct {
		name   string
		active []*manifest.Job
		gone   string // an active Job that does not exist
		want   []string
	}{
		{"nothing active", nil, "", nil},
		{"still running", []*manifest.Job{running}, "", nil},
		{"finished", []*manifest.Job{running, done, failed}, "", []string{
			"SawCompletedJob Saw completed job: " + done.Name + ", status: Complete",
			"SawCompletedJob Saw completed job: " + failed.Name + ", status: Failed"}},
		{"missing", nil, "mycronjob-1", []string{"MissingJob Active job went missing: mycronjob-1"}},
	}
	for _, tt := range tests {
		refs := refsOf(tt.active)
		if tt.gone != "" {
			refs = append(refs, manifest.ObjectReference{Name: tt.gone})
		}
		var got []string
		for _, ev := range sawChildren(refs, jobs) {
			if ev.Type != EventNormal {
				t.Errorf("%s: %s is not Normal", tt.name, ev.Reason)
			}
			got = append(got, ev.Reason+" "+ev.Message)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: events %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestLastSuccessful(t *testing.T) {
	cj := newCronJob("0 * * * ?", at("08:00"))
	early, late := job(cj, at("08:00"), manifest.JobComplete), job(cj, at("09:00"), manifest.JobComplete)
	failed := job(cj, at("09:30"), manifest.JobFailed)
	tests := []struct {
		name string
		last *manifest.Time
		jobs []*manifest.Job
		want time.Time // zero: nil
	}{
		{"none yet", nil, nil, time.Time{}},
		{"kept", manifest.NewTime(at("07:00")), []*manifest.Job{failed}, at("07:00")},
		{"newest completion", nil, []*manifest.Job{late, early, failed}, at("09:00:10")},
		{"later than the jobs", manifest.NewTime(at("10:00")), []*manifest.Job{late}, at("10:00")},
	}
	for _, tt := range tests {
		got := lastSuccessful(tt.last, tt.jobs)
		if (got == nil) != tt.want.IsZero() || got != nil && !got.Equal(tt.want) {
			t.Errorf("%s: lastSuccessful = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestActiveJobs(t *testing.T) {
	cj := newCronJob("0 * * * ?", at("08:00"))
	a, b, done := job(cj, at("09:00"), ""), job(cj, at("08:00"), ""), job(cj, at("07:00"), manifest.JobComplete)
	twin := job(cj, at("09:00"), "")
	twin.Name = "a-twin" // created at the same time as a: by name
	deleting := job(cj, at("06:00"), "")
	deleting.DeletionTimestamp = manifest.NewTime(at("09:30"))
	tests := []struct {
		name         string
		jobs, doomed []*manifest.Job
		want         []string
	}{
		{"none", nil, nil, nil},
		{"oldest first, ties by name", []*manifest.Job{a, done, b, twin, deleting}, nil, []string{b.Name, twin.Name, a.Name}},
		{"doomed left out", []*manifest.Job{a, b}, []*manifest.Job{b}, []string{a.Name}},
	}
	for _, tt := range tests {
		var got []string
		for _, j := range activeJobs(tt.jobs, tt.doomed) {
			got = append(got, j.Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: active %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestScheduleOf(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name, sched, tz string
		local           *time.Location
		wantLoc         *time.Location
		warning         string
	}{
		{"local", "0 * * * ?", "", ny, ny, ""},
		{"time.Local when none", "0 * * * ?", "", nil, time.Local, ""},
		{"timeZone", "0 * * * ?", "America/New_York", time.UTC, ny, ""},
		{"unknown zone", "0 * * * ?", "Mars/Olympus", time.UTC, nil, ReasonUnknownTimeZone},
		{"Local refused", "0 * * * ?", "Local", time.UTC, nil, ReasonUnknownTimeZone},
		{"TZ= in the schedule", "TZ=UTC 0 * * * ?", "", time.UTC, nil, ReasonUnsupportedSchedule},
		{"unparseable", "obvious error schedule", "", time.UTC, nil, ReasonUnparseableSchedule},
	}
	for _, tt := range tests {
		cj := newCronJob(tt.sched, at("08:00"))
		if tt.tz != "" {
			cj.Spec.TimeZone = &tt.tz
		}
		sched, loc, warning := scheduleOf(cj, tt.local)
		switch {
		case tt.warning != "":
			if warning == nil || warning.Reason != tt.warning || warning.Type != EventWarning || sched != nil {
				t.Errorf("%s: warning %+v, want %s", tt.name, warning, tt.warning)
			}
		case warning != nil || sched == nil:
			t.Errorf("%s: warning %+v, schedule %v", tt.name, warning, sched)
		case loc.String() != tt.wantLoc.String():
			t.Errorf("%s: zone %v, want %v", tt.name, loc, tt.wantLoc)
		}
	}
}

func TestDueSlot(t *testing.T) {
	const hourly = "0 * * * ?"
	tests := []struct {
		name, sched string
		last        time.Time // lastScheduleTime (zero: none)
		jobAt       time.Time // a Job of this slot exists (zero: none)
		deadline    *int64
		runOnStart  bool
		now         time.Time
		slot        time.Time
		todo        slotTodo
		warnings    []string
	}{
		{"not yet due", hourly, time.Time{}, time.Time{}, nil, false, at("09:59"), time.Time{}, slotNone, nil},
		{"due", hourly, time.Time{}, time.Time{}, nil, false, at("10:01"), at("10:00"), slotCreate, nil},
		{"already processed", hourly, at("10:00"), time.Time{}, nil, false, at("10:01"), time.Time{}, slotNone, nil},
		{"its Job exists", hourly, at("09:00"), at("10:00"), nil, false, at("10:01"), at("10:00"), slotExists, nil},
		{"past the deadline", hourly, time.Time{}, time.Time{}, i64(10), false, at("10:01"), time.Time{}, slotNone, nil},
		{"many missed", hourly, time.Time{}, time.Time{}, nil, false, at("10:00").Add(200 * time.Hour), at("10:00").Add(200 * time.Hour), slotCreate, []string{ReasonTooManyMissedTimes}},
		{"never fires", "59 23 31 2 *", time.Time{}, time.Time{}, nil, false, at("10:01"), time.Time{}, slotInvalid, []string{ReasonInvalidSchedule}},
		{"never fires, run on start", "59 23 31 2 *", time.Time{}, time.Time{}, nil, true, at("10:01"), time.Time{}, slotNone, nil},
	}
	for _, tt := range tests {
		cj := newCronJob(tt.sched, at("09:30"))
		cj.Spec.StartingDeadlineSeconds = tt.deadline
		if !tt.last.IsZero() {
			cj.Status.LastScheduleTime = manifest.NewTime(tt.last)
		}
		if tt.runOnStart {
			cj.Annotations = map[string]string{AnnotationRunOnStart: "true"}
		}
		var jobs []*manifest.Job
		if !tt.jobAt.IsZero() {
			jobs = append(jobs, job(cj, tt.jobAt, ""))
		}
		sched, _, warning := scheduleOf(cj, time.UTC)
		if warning != nil {
			t.Fatalf("%s: %+v", tt.name, warning)
		}
		slot, todo, evs := dueSlot(cj, sched, scheduleBase(cj), tt.now, jobs)
		if !slot.Time.Equal(tt.slot) || todo != tt.todo {
			t.Errorf("%s: slot %v, todo %d; want %v, %d", tt.name, slot.Time, todo, tt.slot, tt.todo)
		}
		if got := eventReasons(evs, EventWarning); !slices.Equal(got, tt.warnings) {
			t.Errorf("%s: warnings %v, want %v", tt.name, got, tt.warnings)
		}
	}
}

func TestStarterStart(t *testing.T) {
	cj := newCronJob("0 * * * ?", at("08:00"))
	running := job(cj, at("09:00"), "")
	next := job(cj, at("10:00"), "")
	tests := []struct {
		name, policy string
		active       []*manifest.Job
		adjusted     bool
		started      bool
		actions      []string // "create NAME", "delete NAME"
		events       []string
		wantActive   []string
	}{
		{"allow", manifest.ConcurrencyAllow, []*manifest.Job{running}, false, true, []string{"create " + next.Name}, nil, []string{running.Name, next.Name}},
		{"forbid, none running", manifest.ConcurrencyForbid, nil, false, true, []string{"create " + next.Name}, nil, []string{next.Name}},
		{"forbid", manifest.ConcurrencyForbid, []*manifest.Job{running}, false, false, nil, []string{ReasonJobAlreadyActive}, []string{running.Name}},
		{"replace", manifest.ConcurrencyReplace, []*manifest.Job{running}, false, true, []string{"delete " + running.Name, "create " + next.Name}, nil, []string{next.Name}},
		{"DST adjusted", manifest.ConcurrencyAllow, nil, true, true, []string{"create " + next.Name}, nil, []string{next.Name}},
	}
	for _, tt := range tests {
		s := starter{policy: tt.policy, active: tt.active}
		slot := Fire{Time: at("10:00"), Adjusted: tt.adjusted, Reason: "moved"}
		if got := s.start(next, slot, "job"); got != tt.started {
			t.Errorf("%s: started %v, want %v", tt.name, got, tt.started)
		}
		var acts, active []string
		for _, a := range s.actions {
			switch {
			case a.Create != nil:
				acts = append(acts, "create "+a.Create.Name)
				if (a.Adjusted != nil) != tt.adjusted {
					t.Errorf("%s: DSTAdjusted event %+v, want %v", tt.name, a.Adjusted, tt.adjusted)
				}
			case a.Delete != nil:
				acts = append(acts, "delete "+a.Delete.Name)
			}
		}
		for _, j := range s.active {
			active = append(active, j.Name)
		}
		if !slices.Equal(acts, tt.actions) || !slices.Equal(eventReasons(s.events, EventNormal), tt.events) || !slices.Equal(active, tt.wantActive) {
			t.Errorf("%s: actions %v, events %v, active %v; want %v, %v, %v", tt.name, acts, eventReasons(s.events, EventNormal), active, tt.actions, tt.events, tt.wantActive)
		}
	}
}

func TestNextFire(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	bad := "Mars/Olympus"
	tests := []struct {
		name, sched string
		tz          *string
		last        time.Time // lastScheduleTime (zero: none; @every counts from creation at 09:10)
		now         time.Time
		want        time.Time // zero: never fires
		wantLoc     *time.Location
		err         bool
	}{
		{"hourly", "0 * * * ?", nil, time.Time{}, at("10:01"), at("11:00"), time.UTC, false},
		{"@every from creation", "@every 1h", nil, time.Time{}, at("12:00"), at("12:10"), time.UTC, false},
		{"@every from the last run", "@every 1h", nil, at("11:30"), at("12:00"), at("12:30"), time.UTC, false},
		{"@every, clock behind the last run", "@every 1h", nil, at("12:30"), at("12:00"), at("13:30"), time.UTC, false},
		{"never", "59 23 31 2 *", nil, time.Time{}, at("10:00"), time.Time{}, time.UTC, false},
		{"unknown zone", "0 * * * ?", &bad, time.Time{}, at("10:00"), time.Time{}, nil, true},
		{"unparseable", "obvious error schedule", nil, time.Time{}, at("10:00"), time.Time{}, nil, true},
	}
	for _, tt := range tests {
		cj := newCronJob(tt.sched, at("09:10"))
		cj.Spec.TimeZone = tt.tz
		if !tt.last.IsZero() {
			cj.Status.LastScheduleTime = manifest.NewTime(tt.last)
		}
		f, loc, err := NextFire(cj, tt.now, time.UTC)
		if (err != nil) != tt.err || !f.Time.Equal(tt.want) || loc != tt.wantLoc {
			t.Errorf("%s: NextFire = %v, %v, %v; want %v, %v, error %v", tt.name, f.Time, loc, err, tt.want, tt.wantLoc, tt.err)
		}
	}
	ny2 := "America/New_York"
	cj := newCronJob("0 * * * ?", at("09:10"))
	cj.Spec.TimeZone = &ny2
	if _, loc, err := NextFire(cj, at("10:00"), time.UTC); err != nil || loc.String() != ny.String() {
		t.Errorf("timeZone: zone %v, %v; want %v", loc, err, ny)
	}
}
