package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// Event reasons the CronJob controller records (Kubernetes' names, plus
// DSTAdjusted).
const (
	ReasonSuccessfulCreate    = "SuccessfulCreate"
	ReasonSuccessfulDelete    = "SuccessfulDelete"
	ReasonSawCompletedJob     = "SawCompletedJob"
	ReasonMissingJob          = "MissingJob"
	ReasonJobAlreadyActive    = "JobAlreadyActive"
	ReasonTooManyMissedTimes  = "TooManyMissedTimes"
	ReasonDSTAdjusted         = "DSTAdjusted"
	ReasonUnparseableSchedule = "UnparseableSchedule"
	ReasonUnsupportedSchedule = "UnsupportedSchedule"
	ReasonUnknownTimeZone     = "UnknownTimeZone"
	ReasonInvalidSchedule     = "InvalidSchedule"
	ReasonFailedCreate        = "FailedCreate"
	ReasonFailedDelete        = "FailedDelete"
)

// Event types.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Component is the event source of the CronJob controller.
const Component = "cronjob-controller"

// nextScheduleDelta is added to requeue delays, as Kubernetes does.
const nextScheduleDelta = 100 * time.Millisecond

// tooManyMissed is the count beyond which TooManyMissedTimes is warned.
const tooManyMissed = 100

// Event is one event the controller records about the CronJob.
type Event struct {
	Type, Reason, Message string
}

// Input is everything one sync of a CronJob looks at.
type Input struct {
	CronJob *manifest.CronJob
	// Jobs are the Jobs whose controller is the CronJob, finished or not,
	// scheduled or manual (cronjob.kubernetes.io/instantiate: manual).
	Jobs []*manifest.Job
	// Now is the wall-clock time.
	Now time.Time
	// Local is the zone of a CronJob without timeZone (nil = time.Local).
	Local *time.Location
	// RunOnStart asks for the extra run of localjobs.io/run-on-start: the
	// daemon has just started and the CronJob carries the annotation.
	RunOnStart bool
}

// Action is one Job to delete or create, in order, with the event to
// record once it succeeded.
type Action struct {
	Delete *manifest.Job // delete this Job (with its pods and logs)
	Create *manifest.Job // or create this one
	Event  Event
	// Adjusted is the DSTAdjusted event of a created Job, if any.
	Adjusted *Event
}

// Result is what one sync decided.
type Result struct {
	// Status is the CronJob status once the actions succeeded.
	Status manifest.CronJobStatus
	// StatusChanged says whether Status differs from the input's.
	StatusChanged bool
	Actions       []Action
	// Events are recorded as they are (actions carry their own).
	Events []Event
	// Slot is the scheduled time this sync looked at (zero if none).
	Slot time.Time
	// NextRun is the next wall-clock time a sync is due (zero: none, e.g.
	// suspended or an invalid schedule).
	NextRun time.Time
	// RequeueAfter is Kubernetes' requeue delay: NextRun + 100ms − Now.
	RequeueAfter time.Duration
}

// Sync is one level-based pass of the CronJob controller (Kubernetes'
// syncCronJob, k8s-semantics §3.3, with DESIGN §8's differences): it
// reconciles status.active with the Jobs that exist, deletes Jobs beyond
// the history limits, and decides whether the newest due schedule time
// gets a Job. It has no side effects.
func Sync(in Input) (r Result) {
	cj := in.CronJob
	now := in.Now
	old := cj.Status
	st := manifest.CronJobStatus{LastScheduleTime: old.LastScheduleTime, LastSuccessfulTime: old.LastSuccessfulTime}
	defer func() {
		r.Status = st
		r.StatusChanged = !statusEqual(&old, &st)
		if !r.NextRun.IsZero() {
			r.RequeueAfter = r.NextRun.Add(nextScheduleDelta).Sub(now)
		}
	}()
	event := func(typ, reason, format string, a ...any) {
		r.Events = append(r.Events, Event{typ, reason, fmt.Sprintf(format, a...)})
	}

	// 1. Children: what was active and has finished or gone.
	byName := map[string]*manifest.Job{}
	for _, j := range in.Jobs {
		byName[j.Name] = j
	}
	for _, ref := range old.Active {
		j, ok := byName[ref.Name]
		switch {
		case !ok:
			event(EventNormal, ReasonMissingJob, "Active job went missing: %s", ref.Name)
		case jobFinished(j) != "":
			event(EventNormal, ReasonSawCompletedJob, "Saw completed job: %s, status: %s", j.Name, jobFinished(j))
		}
	}
	for _, j := range in.Jobs {
		if jobFinished(j) == manifest.JobComplete && j.Status.CompletionTime != nil {
			if st.LastSuccessfulTime == nil || j.Status.CompletionTime.After(st.LastSuccessfulTime.Time) {
				st.LastSuccessfulTime = &manifest.Time{Time: j.Status.CompletionTime.Time}
			}
		}
	}

	// 2. History limits.
	deleted := map[string]bool{}
	for _, j := range historyToDelete(in.Jobs, cj.Spec.SuccessfulJobsHistoryLimit, cj.Spec.FailedJobsHistoryLimit) {
		deleted[j.Name] = true
		r.Actions = append(r.Actions, Action{Delete: j, Event: Event{EventNormal, ReasonSuccessfulDelete, "Deleted job " + j.Name}})
	}
	var active []*manifest.Job
	for _, j := range in.Jobs {
		if !deleted[j.Name] && jobFinished(j) == "" && j.DeletionTimestamp == nil {
			active = append(active, j)
		}
	}
	sort.Slice(active, func(a, b int) bool {
		ta, tb := active[a].CreationTimestamp.Time, active[b].CreationTimestamp.Time
		if !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return active[a].Name < active[b].Name
	})
	setActive := func(js []*manifest.Job) {
		st.Active = nil
		for _, j := range js {
			st.Active = append(st.Active, jobRef(j))
		}
	}
	setActive(active)

	// 3. Zone and schedule.
	loc := in.Local
	if loc == nil {
		loc = time.Local
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		l, err := LoadZone(*tz)
		if err != nil {
			event(EventWarning, ReasonUnknownTimeZone, "invalid timeZone: %q: %s", *tz, err)
			return r
		}
		loc = l
	}
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		// Kubernetes still runs legacy objects with TZ in the schedule;
		// localjobs never accepted them (DESIGN §8), so nothing runs.
		event(EventWarning, ReasonUnsupportedSchedule, "%s", ErrTZInSchedule)
		return r
	}
	sched, err := Parse(cj.Spec.Schedule, loc, PolicyOf(cj.Annotations))
	if err != nil {
		event(EventWarning, ReasonUnparseableSchedule, "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return r
	}
	suspended := cj.Spec.Suspend != nil && *cj.Spec.Suspend
	if suspended {
		return r
	}

	// create adds the actions that start j under the concurrency policy;
	// it reports false when Forbid holds it back.
	create := func(j *manifest.Job, slot Fire, what string) bool {
		switch cj.Spec.ConcurrencyPolicy {
		case manifest.ConcurrencyForbid:
			if len(active) > 0 {
				event(EventNormal, ReasonJobAlreadyActive, "Not starting %s because prior execution is running and concurrency policy is Forbid", what)
				return false
			}
		case manifest.ConcurrencyReplace:
			for _, a := range active {
				r.Actions = append(r.Actions, Action{Delete: a, Event: Event{EventNormal, ReasonSuccessfulDelete, "Deleted job " + a.Name}})
			}
			active = nil
		}
		act := Action{Create: j, Event: Event{EventNormal, ReasonSuccessfulCreate, "Created job " + j.Name}}
		if slot.Adjusted {
			act.Adjusted = &Event{EventNormal, ReasonDSTAdjusted, fmt.Sprintf("Job %s: %s", j.Name, slot.Reason)}
		}
		r.Actions = append(r.Actions, act)
		active = append(active, j)
		setActive(active)
		return true
	}

	// 4. The newest due schedule time.
	base := cj.CreationTimestamp.Time
	if old.LastScheduleTime != nil {
		base = old.LastScheduleTime.Time
	}
	slot, missed, err := mostRecent(sched, base, now, cj.Spec.StartingDeadlineSeconds)
	switch {
	case errors.Is(err, errNeverFires) && cj.Annotations[AnnotationRunOnStart] == "true":
		// A CronJob that runs only at daemon start: a schedule that never
		// fires with run-on-start is crontab's @reboot (`localjobs import
		// crontab` writes "0 0 31 2 *"). It gets its start run below.
	case err != nil:
		event(EventWarning, ReasonInvalidSchedule, "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return r
	}
	if missed > tooManyMissed {
		event(EventWarning, ReasonTooManyMissedTimes, "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}
	created := false
	if !slot.Time.IsZero() {
		r.Slot = slot.Time
		name := JobName(cj.Name, slot.Time)
		switch {
		case old.LastScheduleTime != nil && !old.LastScheduleTime.Before(slot.Time):
			// Already processed.
		case byName[name] != nil:
			// A Job for this slot exists (created before a crash, or
			// by another sync): the slot has run.
			st.LastScheduleTime = manifest.NewTime(slot.Time)
		default:
			if create(NewJob(cj, slot.Time, loc), slot, "job") {
				st.LastScheduleTime = manifest.NewTime(slot.Time)
				created = true
			}
		}
	}

	// 5. localjobs.io/run-on-start: one extra run, unless this sync
	// already started one.
	if in.RunOnStart && !created {
		j := NewJob(cj, now, loc)
		delete(j.Annotations, AnnotationScheduledTimestamp)
		j.Annotations[AnnotationRunOnStart] = "true"
		if byName[j.Name] == nil {
			create(j, Fire{}, "the run-on-start job")
		}
	}

	// 6. When to look again.
	r.NextRun = nextAfter(sched, base, now)
	return r
}

// LoadZone loads an IANA zone as a CronJob's timeZone; "Local" is refused
// as Kubernetes refuses it.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || strings.EqualFold(name, "Local") {
		return nil, fmt.Errorf("unknown time zone %s", name)
	}
	return time.LoadLocation(name)
}

// JobName is the name of the Job for a scheduled time:
// <cronjob>-<scheduled unix time / 60>.
func JobName(cronJob string, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cronJob, scheduled.Unix()/60)
}

// NewJob builds the Job of a scheduled time from the CronJob's jobTemplate
// (Kubernetes' getJobFromTemplate2): labels and annotations copied, the
// scheduled-timestamp annotation in the CronJob's zone (UTC when timeZone
// is unset, as Kubernetes writes it), a controller ownerReference, and
// Job defaults applied.
func NewJob(cj *manifest.CronJob, scheduled time.Time, loc *time.Location) *manifest.Job {
	j := jobFromTemplate(cj, JobName(cj.Name, scheduled))
	annLoc := time.UTC
	if cj.Spec.TimeZone != nil && loc != nil {
		annLoc = loc
	}
	j.Annotations[AnnotationScheduledTimestamp] = scheduled.In(annLoc).Format(time.RFC3339)
	j.OwnerReferences[0].BlockOwnerDeletion = ptr(true)
	return j
}

// NewManualJob builds the Job of `create job NAME --from=cronjob/CJ` as
// kubectl does: jobTemplate labels and annotations plus
// cronjob.kubernetes.io/instantiate: manual, a controller ownerReference.
func NewManualJob(cj *manifest.CronJob, name string) *manifest.Job {
	j := jobFromTemplate(cj, name)
	j.Annotations[AnnotationInstantiate] = "manual"
	return j
}

// ManualForbidden returns a non-nil error when a manual Job of cj must be
// refused: concurrencyPolicy Forbid and a Job of cj still active (manual
// Jobs count, DESIGN §8).
func ManualForbidden(cj *manifest.CronJob, jobs []*manifest.Job) error {
	if cj.Spec.ConcurrencyPolicy != manifest.ConcurrencyForbid {
		return nil
	}
	var names []string
	for _, j := range jobs {
		if jobFinished(j) == "" && j.DeletionTimestamp == nil {
			names = append(names, j.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return fmt.Errorf("cronjob %s has concurrencyPolicy Forbid and job %s is still active", cj.Name, strings.Join(names, ", "))
}

func jobFromTemplate(cj *manifest.CronJob, name string) *manifest.Job {
	t := &cj.Spec.JobTemplate
	j := &manifest.Job{
		TypeMeta: manifest.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: manifest.ObjectMeta{
			Name:        name,
			Namespace:   cj.Namespace,
			Labels:      copyMap(t.Labels),
			Annotations: copyMap(t.Annotations),
			OwnerReferences: []manifest.OwnerReference{{
				APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr(true),
			}},
		},
	}
	if j.Annotations == nil {
		j.Annotations = map[string]string{}
	}
	b, err := json.Marshal(&t.Spec)
	if err == nil {
		err = json.Unmarshal(b, &j.Spec)
	}
	if err != nil {
		panic(fmt.Sprintf("schedule: copy job template: %v", err)) // the types round-trip by construction
	}
	manifest.DefaultJobSpec(&j.Spec)
	return j
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// jobFinished returns "Complete" or "Failed" for a finished Job, else "".
func jobFinished(j *manifest.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Status == "True" && (c.Type == manifest.JobComplete || c.Type == manifest.JobFailed) {
			return c.Type
		}
	}
	return ""
}

func jobRef(j *manifest.Job) manifest.ObjectReference {
	return manifest.ObjectReference{Kind: "Job", Namespace: j.Namespace, Name: j.Name, UID: j.UID, APIVersion: "batch/v1", ResourceVersion: j.ResourceVersion}
}

// historyToDelete returns the finished Jobs beyond the history limits,
// oldest first (Kubernetes' cleanupFinishedJobs with byJobStartTime).
func historyToDelete(jobs []*manifest.Job, successLimit, failedLimit *int32) []*manifest.Job {
	var ok, failed []*manifest.Job
	for _, j := range jobs {
		switch jobFinished(j) {
		case manifest.JobComplete:
			ok = append(ok, j)
		case manifest.JobFailed:
			failed = append(failed, j)
		}
	}
	var out []*manifest.Job
	for _, g := range []struct {
		jobs  []*manifest.Job
		limit *int32
	}{{ok, successLimit}, {failed, failedLimit}} {
		if g.limit == nil || len(g.jobs) <= int(*g.limit) {
			continue
		}
		SortByStartTime(g.jobs)
		out = append(out, g.jobs[:len(g.jobs)-int(*g.limit)]...)
	}
	return out
}

// SortByStartTime orders Jobs oldest first by status.startTime, Jobs
// without one last, ties by name (Kubernetes' byJobStartTime).
func SortByStartTime(jobs []*manifest.Job) {
	sort.SliceStable(jobs, func(a, b int) bool {
		sa, sb := jobs[a].Status.StartTime, jobs[b].Status.StartTime
		switch {
		case sa == nil && sb != nil:
			return false
		case sa != nil && sb == nil:
			return true
		case sa == nil && sb == nil || sa.Equal(sb.Time):
			return jobs[a].Name < jobs[b].Name
		}
		return sa.Before(sb.Time)
	})
}

func statusEqual(a, b *manifest.CronJobStatus) bool {
	ta := func(t *manifest.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return t.Time
	}
	if !ta(a.LastScheduleTime).Equal(ta(b.LastScheduleTime)) || !ta(a.LastSuccessfulTime).Equal(ta(b.LastSuccessfulTime)) || len(a.Active) != len(b.Active) {
		return false
	}
	for i := range a.Active {
		if a.Active[i].Name != b.Active[i].Name || a.Active[i].UID != b.Active[i].UID {
			return false
		}
	}
	return true
}

// errNeverFires is returned when a schedule has no time within five
// years (e.g. "59 23 31 2 *").
var errNeverFires = errors.New("the schedule never fires (no matching time within five years)")

// mostRecent returns the newest schedule time in (base, now] that is also
// within startingDeadlineSeconds of now, and how many schedule times lie
// in (max(base, now−deadline), now] (counted up to 101). Unlike
// Kubernetes' approximation it always finds the true newest time.
func mostRecent(s *Schedule, base, now time.Time, deadline *int64) (Fire, int, error) {
	earliest := base
	if deadline != nil {
		if e := now.Add(-time.Duration(*deadline) * time.Second); e.After(earliest) {
			earliest = e
		}
	}
	if s.every > 0 {
		return mostRecentEvery(s, base, earliest, now)
	}
	first := s.NextFire(earliest)
	if first.Time.IsZero() {
		return Fire{}, 0, errNeverFires
	}
	if first.Time.After(now) {
		return Fire{}, 0, nil
	}
	// Walk forward up to tooManyMissed+1 times.
	last, n := first, 1
	for n <= tooManyMissed {
		f := s.NextFire(last.Time)
		if f.Time.IsZero() || f.Time.After(now) {
			return last, n, nil
		}
		last, n = f, n+1
	}
	// Many missed: find the newest by looking back from now in windows
	// of doubling size.
	for w := time.Minute; ; w *= 2 {
		from := now.Add(-w)
		if !from.After(last.Time) {
			from = last.Time
		}
		var newest Fire
		for f := s.NextFire(from); !f.Time.IsZero() && !f.Time.After(now); f = s.NextFire(f.Time) {
			newest = f
		}
		if !newest.Time.IsZero() {
			return newest, n, nil
		}
		if from.Equal(last.Time) {
			return last, n, nil
		}
	}
}

// mostRecentEvery is mostRecent for @every: the times are base + k·d,
// anchored at the last scheduled time (or creation), filtered by earliest.
func mostRecentEvery(s *Schedule, base, earliest, now time.Time) (Fire, int, error) {
	first := s.NextFire(base).Time
	if first.After(now) {
		return Fire{}, 0, nil
	}
	k := int64(now.Sub(first) / s.every)
	newest := first.Add(time.Duration(k) * s.every)
	if !newest.After(earliest) {
		return Fire{}, 0, nil
	}
	j0 := int64(0)
	if !earliest.Before(first) {
		j0 = int64(earliest.Sub(first)/s.every) + 1
	}
	n := k - j0 + 1
	if n > tooManyMissed+1 {
		n = tooManyMissed + 1
	}
	return Fire{Time: newest}, int(n), nil
}

// nextAfter returns the first schedule time after now (for @every, on the
// grid anchored at base).
func nextAfter(s *Schedule, base, now time.Time) time.Time {
	if s.every > 0 {
		first := s.NextFire(base).Time
		if first.After(now) {
			return first
		}
		k := int64(now.Sub(first)/s.every) + 1
		return first.Add(time.Duration(k) * s.every)
	}
	return s.NextFire(now).Time
}
