package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
// gets a Job. It has no side effects. Its stages, each a function with its
// own tests:
//
//  1. sawChildren: events for the active Jobs that finished or went
//     missing; lastSuccessful: the newest completion;
//  2. historyToDelete and activeJobs: the finished Jobs beyond the history
//     limits, and the Jobs still running;
//  3. scheduleOf: the zone and the parsed schedule (or the warning why
//     nothing runs);
//  4. dueSlot: the newest due schedule time and what it needs;
//  5. starter.start: a Job under the concurrency policy, for the slot and
//     for localjobs.io/run-on-start;
//  6. nextAfter: when to look again.
func Sync(in Input) (r Result) {
	cj := in.CronJob
	now := in.Now
	old := cj.Status
	st := manifest.CronJobStatus{LastScheduleTime: old.LastScheduleTime}
	defer func() {
		r.Status = st
		r.StatusChanged = !statusEqual(&old, &st)
		if !r.NextRun.IsZero() {
			r.RequeueAfter = r.NextRun.Add(nextScheduleDelta).Sub(now)
		}
	}()

	// 1. Children: what was active and has finished or gone.
	r.Events = sawChildren(old.Active, in.Jobs)
	st.LastSuccessfulTime = lastSuccessful(old.LastSuccessfulTime, in.Jobs)

	// 2. History limits.
	doomed := historyToDelete(in.Jobs, cj.Spec.SuccessfulJobsHistoryLimit, cj.Spec.FailedJobsHistoryLimit)
	for _, j := range doomed {
		r.Actions = append(r.Actions, deleteAction(j))
	}
	s := starter{policy: cj.Spec.ConcurrencyPolicy, active: activeJobs(in.Jobs, doomed)}
	st.Active = refsOf(s.active)

	// 3. Zone and schedule.
	sched, loc, warning := scheduleOf(cj, in.Local)
	if warning != nil {
		r.Events = append(r.Events, *warning)
		return r
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return r
	}

	// 4. The newest due schedule time.
	base := scheduleBase(cj)
	slot, todo, evs := dueSlot(cj, sched, base, now, in.Jobs)
	r.Events = append(r.Events, evs...)
	if todo == slotInvalid {
		return r
	}
	r.Slot = slot.Time
	created := false
	switch todo {
	case slotExists:
		st.LastScheduleTime = manifest.NewTime(slot.Time)
	case slotCreate:
		if s.start(NewJob(cj, slot.Time, loc), slot, "job") {
			st.LastScheduleTime = manifest.NewTime(slot.Time)
			created = true
		}
	}

	// 5. localjobs.io/run-on-start: one extra run, unless this sync
	// already started one.
	if in.RunOnStart && !created {
		if j := runOnStartJob(cj, now, loc); findJob(in.Jobs, j.Name) == nil {
			s.start(j, Fire{}, "the run-on-start job")
		}
	}
	r.Actions = append(r.Actions, s.actions...)
	r.Events = append(r.Events, s.events...)
	st.Active = refsOf(s.active)

	// 6. When to look again.
	r.NextRun = nextAfter(sched, base, now)
	return r
}

// sawChildren returns the events for the Jobs of status.active that have
// finished or are gone.
func sawChildren(active []manifest.ObjectReference, jobs []*manifest.Job) []Event {
	var evs []Event
	for _, ref := range active {
		j := findJob(jobs, ref.Name)
		switch {
		case j == nil:
			evs = append(evs, Event{EventNormal, ReasonMissingJob, "Active job went missing: " + ref.Name})
		case jobFinished(j) != "":
			evs = append(evs, Event{EventNormal, ReasonSawCompletedJob, fmt.Sprintf("Saw completed job: %s, status: %s", j.Name, jobFinished(j))})
		}
	}
	return evs
}

// lastSuccessful is status.lastSuccessfulTime: last, or the newest
// completion time of a Complete Job if later.
func lastSuccessful(last *manifest.Time, jobs []*manifest.Job) *manifest.Time {
	for _, j := range jobs {
		if jobFinished(j) == manifest.JobComplete && j.Status.CompletionTime != nil {
			if last == nil || j.Status.CompletionTime.After(last.Time) {
				last = &manifest.Time{Time: j.Status.CompletionTime.Time}
			}
		}
	}
	return last
}

// activeJobs are the Jobs neither finished, being deleted, nor about to be
// deleted (doomed), oldest first (ties by name).
func activeJobs(jobs, doomed []*manifest.Job) []*manifest.Job {
	var active []*manifest.Job
	for _, j := range jobs {
		if !slices.Contains(doomed, j) && jobFinished(j) == "" && j.DeletionTimestamp == nil {
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
	return active
}

// scheduleOf is the CronJob's zone (timeZone, else local, else time.Local)
// and parsed schedule, or the warning that says why nothing runs.
func scheduleOf(cj *manifest.CronJob, local *time.Location) (*Schedule, *time.Location, *Event) {
	if local == nil {
		local = time.Local
	}
	loc, err := ZoneOf(cj, local)
	if err != nil {
		return nil, nil, &Event{EventWarning, ReasonUnknownTimeZone, fmt.Sprintf("invalid timeZone: %q: %s", *cj.Spec.TimeZone, err)}
	}
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		// Kubernetes still runs legacy objects with TZ in the schedule;
		// localjobs never accepted them (DESIGN §8), so nothing runs.
		return nil, nil, &Event{EventWarning, ReasonUnsupportedSchedule, ErrTZInSchedule.Error()}
	}
	sched, err := Parse(cj.Spec.Schedule, loc, PolicyOf(cj.Annotations))
	if err != nil {
		return nil, nil, &Event{EventWarning, ReasonUnparseableSchedule, fmt.Sprintf("unparseable schedule: %q : %s", cj.Spec.Schedule, err)}
	}
	return sched, loc, nil
}

// scheduleBase is where the search for due times starts: the last
// scheduled time, or the CronJob's creation.
func scheduleBase(cj *manifest.CronJob) time.Time {
	if t := cj.Status.LastScheduleTime; t != nil {
		return t.Time
	}
	return cj.CreationTimestamp.Time
}

// slotTodo is what the newest due schedule time needs.
type slotTodo int

const (
	slotNone    slotTodo = iota // no time is due, or it was processed
	slotExists                  // its Job exists: record it as scheduled
	slotCreate                  // create its Job
	slotInvalid                 // the schedule cannot be searched: stop
)

// dueSlot finds the newest schedule time due at now (after base, within
// startingDeadlineSeconds) and what it needs, with the warnings of the
// search (too many missed times, an invalid schedule).
func dueSlot(cj *manifest.CronJob, sched *Schedule, base, now time.Time, jobs []*manifest.Job) (Fire, slotTodo, []Event) {
	var evs []Event
	slot, missed, err := mostRecent(sched, base, now, cj.Spec.StartingDeadlineSeconds)
	switch {
	case errors.Is(err, errNeverFires) && cj.Annotations[AnnotationRunOnStart] == "true":
		// A CronJob that runs only at daemon start: a schedule that never
		// fires with run-on-start is crontab's @reboot (`localjobs import
		// crontab` writes "0 0 31 2 *"). It gets its start run in Sync.
	case err != nil:
		return Fire{}, slotInvalid, []Event{{EventWarning, ReasonInvalidSchedule, fmt.Sprintf("invalid schedule: %s : %s", cj.Spec.Schedule, err)}}
	}
	if missed > tooManyMissed {
		evs = append(evs, Event{EventWarning, ReasonTooManyMissedTimes, "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"})
	}
	last := cj.Status.LastScheduleTime
	switch {
	case slot.Time.IsZero():
		return slot, slotNone, evs
	case last != nil && !last.Before(slot.Time):
		// Already processed.
		return slot, slotNone, evs
	case findJob(jobs, JobName(cj.Name, slot.Time)) != nil:
		// A Job for this slot exists (created before a crash, or by
		// another sync): the slot has run.
		return slot, slotExists, evs
	}
	return slot, slotCreate, evs
}

// runOnStartJob is the Job of localjobs.io/run-on-start: a Job of now,
// marked as the start run rather than a scheduled one.
func runOnStartJob(cj *manifest.CronJob, now time.Time, loc *time.Location) *manifest.Job {
	j := NewJob(cj, now, loc)
	delete(j.Annotations, AnnotationScheduledTimestamp)
	j.Annotations[AnnotationRunOnStart] = "true"
	return j
}

// starter starts Jobs under a concurrency policy, keeping the active Jobs
// and the actions and events it adds.
type starter struct {
	policy  string
	active  []*manifest.Job
	actions []Action
	events  []Event
}

// start adds the actions that start j (for slot; what names it in the
// event); it reports false when Forbid holds it back.
func (s *starter) start(j *manifest.Job, slot Fire, what string) bool {
	switch s.policy {
	case manifest.ConcurrencyForbid:
		if len(s.active) > 0 {
			s.events = append(s.events, Event{EventNormal, ReasonJobAlreadyActive, fmt.Sprintf("Not starting %s because prior execution is running and concurrency policy is Forbid", what)})
			return false
		}
	case manifest.ConcurrencyReplace:
		for _, a := range s.active {
			s.actions = append(s.actions, deleteAction(a))
		}
		s.active = nil
	}
	act := Action{Create: j, Event: Event{EventNormal, ReasonSuccessfulCreate, "Created job " + j.Name}}
	if slot.Adjusted {
		act.Adjusted = &Event{EventNormal, ReasonDSTAdjusted, fmt.Sprintf("Job %s: %s", j.Name, slot.Reason)}
	}
	s.actions = append(s.actions, act)
	s.active = append(s.active, j)
	return true
}

// deleteAction deletes j, with its SuccessfulDelete event.
func deleteAction(j *manifest.Job) Action {
	return Action{Delete: j, Event: Event{EventNormal, ReasonSuccessfulDelete, "Deleted job " + j.Name}}
}

// findJob is the Job called name, or nil.
func findJob(jobs []*manifest.Job, name string) *manifest.Job {
	for _, j := range jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}

func refsOf(jobs []*manifest.Job) []manifest.ObjectReference {
	var refs []manifest.ObjectReference
	for _, j := range jobs {
		refs = append(refs, jobRef(j))
	}
	return refs
}

// LoadZone loads an IANA zone as a CronJob's timeZone; "Local" is refused
// as Kubernetes refuses it.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || strings.EqualFold(name, "Local") {
		return nil, fmt.Errorf("unknown time zone %s", name)
	}
	return time.LoadLocation(name)
}

// ZoneOf is the zone a CronJob's schedule runs in: its timeZone, else
// local.
func ZoneOf(cj *manifest.CronJob, local *time.Location) (*time.Location, error) {
	if tz := cj.Spec.TimeZone; tz != nil {
		return LoadZone(*tz)
	}
	return local, nil
}

// NextFire is when a CronJob's schedule next fires after now, as `describe
// cronjob` and the dashboard show it, with the zone it runs in (ZoneOf):
// an @every schedule counts from the last scheduled run, or creation. A
// zero Fire means the schedule never fires; an error, that its zone or
// expression is invalid. Whether the CronJob is suspended is the caller's
// to say.
func NextFire(cj *manifest.CronJob, now time.Time, local *time.Location) (Fire, *time.Location, error) {
	loc, err := ZoneOf(cj, local)
	if err != nil {
		return Fire{}, nil, err
	}
	s, err := Parse(cj.Spec.Schedule, loc, PolicyOf(cj.Annotations))
	if err != nil {
		return Fire{}, nil, err
	}
	if s.Every() > 0 {
		// The controller's own answer (nextAfter), also when the clock
		// reads before the base.
		return Fire{Time: nextAfter(s, scheduleBase(cj), now)}, loc, nil
	}
	return s.NextFire(now), loc, nil
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
