// Package history is localjobs' record of Job runs: one compact Run per
// finished Job, with one Attempt per pod, kept after the Job and its pods are
// deleted by history limits or ttlSecondsAfterFinished (DESIGN §5: "attempt
// history in bbolt"). It also holds the outbox entry of a run's webhook
// notification (Notification), written together with the run.
//
// The package is pure: it builds records from Jobs and pod records and says
// what retention keeps; package state stores them and the daemon records
// them from the controllers' change stream.
package history

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Outcomes of a run.
const (
	// OutcomeComplete: the Job got its Complete condition.
	OutcomeComplete = "Complete"
	// OutcomeFailed: the Job got its Failed condition.
	OutcomeFailed = "Failed"
	// OutcomeDeleted: the Job was deleted before it finished (replaced by a
	// new run, concurrencyPolicy Replace, a user's delete).
	OutcomeDeleted = "Deleted"
)

// Bounds of one record, so that the store stays small whatever a Job does.
const (
	// LogTailMax is the most bytes of output kept per attempt (the end of
	// the output of the attempt's main container).
	LogTailMax = 2 << 10
	// MaxAttempts is how many attempts a run keeps (the newest); AttemptCount
	// still counts all of them.
	MaxAttempts = 20
	// MaxMessage bounds reasons' messages.
	MaxMessage = 1 << 10
)

// Retention defaults (`up --history-limit`, `--history-age`).
const (
	DefaultLimit  = 100
	DefaultMaxAge = 30 * 24 * time.Hour
)

// Retention says which runs are kept: per owner (a CronJob, or a Job name)
// the newest Limit, and none older than MaxAge. A run whose Job still exists
// in the store, or whose notification is pending, is kept whatever its age
// or rank: that is what makes recording exactly-once (see state.RecordRun).
type Retention struct {
	Limit  int
	MaxAge time.Duration
}

// OrDefault fills unset fields with the defaults.
func (r Retention) OrDefault() Retention {
	if r.Limit <= 0 {
		r.Limit = DefaultLimit
	}
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultMaxAge
	}
	return r
}

// Run is the record of one Job run.
type Run struct {
	// UID is the Job's UID: one record per Job.
	UID       string `json:"uid"`
	Namespace string `json:"namespace"`
	Job       string `json:"job"`
	// CronJob is the controlling CronJob's name ("" for a Job of its own).
	CronJob string `json:"cronJob,omitempty"`
	// Scheduled is the CronJob's scheduled time (the
	// batch.kubernetes.io/cronjob-scheduled-timestamp annotation).
	Scheduled time.Time `json:"scheduledTime,omitzero"`
	Created   time.Time `json:"creationTime,omitzero"`
	// Started is when its first container started (else the Job's
	// startTime); Finished when it got its terminal condition (or was
	// deleted).
	Started  time.Time `json:"startTime,omitzero"`
	Finished time.Time `json:"completionTime,omitzero"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason,omitempty"`
	Message  string    `json:"message,omitempty"`
	// ExitCode is the exit code of the last attempt's main container, if it
	// ran.
	ExitCode  *int32 `json:"exitCode,omitempty"`
	Succeeded int32  `json:"succeeded"`
	Failed    int32  `json:"failed"`
	// AttemptCount counts every attempt; Attempts keeps the newest
	// MaxAttempts, oldest first.
	AttemptCount int       `json:"attemptCount"`
	Attempts     []Attempt `json:"attempts,omitempty"`
}

// Owner is what the run is filed under: "cronjob/NAME" or "job/NAME".
func (r *Run) Owner() string {
	if r.CronJob != "" {
		return "cronjob/" + r.CronJob
	}
	return "job/" + r.Job
}

// Duration is how long the run took (0 when it never started).
func (r *Run) Duration() time.Duration {
	if r.Started.IsZero() || r.Finished.Before(r.Started) {
		return 0
	}
	return r.Finished.Sub(r.Started)
}

// LastAttempt is the newest attempt, or nil.
func (r *Run) LastAttempt() *Attempt {
	if len(r.Attempts) == 0 {
		return nil
	}
	return &r.Attempts[len(r.Attempts)-1]
}

// Attempt is one pod of a run.
type Attempt struct {
	Pod    string `json:"pod"`
	PodUID string `json:"podUID"`
	// Phase is the pod's phase when recorded (Succeeded, Failed, or
	// Pending/Running for a pod its Job stopped waiting for).
	Phase    string    `json:"phase"`
	Started  time.Time `json:"startTime,omitzero"`
	Finished time.Time `json:"finishTime,omitzero"`
	// Reason is the pod's reason (DeadlineExceeded…) or its main
	// container's (Completed, Error, OOMKilled, ContainerCannotRun,
	// ImagePullBackOff…).
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
	Container string `json:"container,omitempty"`
	ExitCode  *int32 `json:"exitCode,omitempty"`
	Restarts  int32  `json:"restarts,omitempty"`
	// LogTail is the end of the main container's output, at most
	// LogTailMax bytes.
	LogTail string `json:"logTail,omitempty"`
}

// Outcome of an attempt for metrics: "succeeded", "failed" or "other".
func (a *Attempt) Outcome() string {
	switch a.Phase {
	case manifest.PodSucceeded:
		return "succeeded"
	case manifest.PodFailed:
		return "failed"
	}
	return "other"
}

// TailFunc returns the end of the output of one container of a pod ("" if
// unknown); FromJob trims it to LogTailMax.
type TailFunc func(rec *runner.PodRecord, container string) string

// Finished reports whether the Job has its terminal condition, and which.
func Finished(j *manifest.Job) (outcome string, cond *manifest.JobCondition) {
	for _, typ := range []string{manifest.JobFailed, manifest.JobComplete} {
		if c := runner.JobCondition(&j.Status, typ); c != nil {
			return typ, c
		}
	}
	return "", nil
}

// CronJobOwner is the name of the Job's controlling CronJob, or "".
func CronJobOwner(j *manifest.Job) string {
	if o := j.ControllerRef(manifest.KindCronJob); o != nil {
		return o.Name
	}
	return ""
}

// ScheduledTimestamp is the annotation a CronJob sets on the Jobs it
// schedules (schedule.AnnotationScheduledTimestamp).
const ScheduledTimestamp = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// Scheduled is the Job's scheduled time, or zero.
func Scheduled(j *manifest.Job) time.Time {
	t, err := time.Parse(time.RFC3339, j.Annotations[ScheduledTimestamp])
	if err != nil {
		return time.Time{}
	}
	return t
}

// FromJob builds the record of a Job from its pods. A Job without its
// terminal condition is recorded as OutcomeDeleted at now (it is recorded
// only when it goes away unfinished).
func FromJob(j *manifest.Job, pods []*runner.PodRecord, tail TailFunc, now time.Time) *Run {
	r := &Run{
		UID: j.UID, Namespace: j.Namespace, Job: j.Name, CronJob: CronJobOwner(j),
		Scheduled: Scheduled(j), Created: j.CreationTimestamp.Time,
		Succeeded: j.Status.Succeeded, Failed: j.Status.Failed,
	}
	if typ, c := Finished(j); c != nil {
		r.Outcome, r.Reason, r.Message = typ, c.Reason, clip(c.Message, MaxMessage)
		r.Finished = c.LastTransitionTime.Time
		if ct := j.Status.CompletionTime; typ == manifest.JobComplete && ct != nil && !ct.IsZero() {
			r.Finished = ct.Time
		}
	} else {
		r.Outcome, r.Finished = OutcomeDeleted, now
	}
	if r.Finished.IsZero() {
		r.Finished = now
	}
	sorted := slices.Clone(pods)
	slices.SortStableFunc(sorted, func(a, b *runner.PodRecord) int {
		return cmp.Or(a.Pod.CreationTimestamp.Compare(b.Pod.CreationTimestamp.Time), strings.Compare(a.Pod.Name, b.Pod.Name))
	})
	r.AttemptCount = len(sorted)
	if len(sorted) > MaxAttempts {
		sorted = sorted[len(sorted)-MaxAttempts:]
	}
	for _, p := range sorted {
		a := AttemptOf(p, tail)
		r.Attempts = append(r.Attempts, a)
		if !a.Started.IsZero() && (r.Started.IsZero() || a.Started.Before(r.Started)) {
			r.Started = a.Started
		}
	}
	// Conditions keep whole seconds; the containers' own end is finer.
	for _, a := range r.Attempts {
		if r.Outcome != OutcomeDeleted && a.Finished.After(r.Finished) {
			r.Finished = a.Finished
		}
	}
	if r.Started.IsZero() && j.Status.StartTime != nil {
		r.Started = j.Status.StartTime.Time
	}
	if a := r.LastAttempt(); a != nil {
		r.ExitCode = a.ExitCode
	}
	return r
}

// AttemptOf is the attempt record of one pod. tail may be nil.
func AttemptOf(rec *runner.PodRecord, tail TailFunc) Attempt {
	p := &rec.Pod
	a := Attempt{Pod: p.Name, PodUID: p.UID, Phase: p.Status.Phase, Reason: p.Status.Reason, Message: clip(p.Status.Message, MaxMessage)}
	a.Started = FirstStart(rec)
	for _, c := range rec.Containers {
		for _, run := range []*runner.Run{c.Last, c.Current} {
			if run != nil && run.FinishedAt.After(a.Finished) {
				a.Finished = run.FinishedAt
			}
		}
	}
	if a.Started.IsZero() && p.Status.StartTime != nil {
		a.Started = p.Status.StartTime.Time
	}
	main := mainContainer(rec)
	if main == nil {
		return a
	}
	a.Container, a.Restarts = main.Name, main.RestartCount
	switch run := main.Current; {
	case run != nil && run.Step == runner.StepExited:
		code := run.ExitCode
		a.ExitCode = &code
		if a.Reason == "" {
			a.Reason = run.Reason
		}
		if a.Message == "" {
			a.Message = clip(run.Message, MaxMessage)
		}
	case main.Waiting != nil && a.Reason == "":
		a.Reason, a.Message = main.Waiting.Reason, clip(main.Waiting.Message, MaxMessage)
	}
	if tail != nil {
		a.LogTail = Tail(tail(rec, main.Name), LogTailMax)
	}
	return a
}

// FirstStart is when the pod's first container started (its current or
// last run), or zero.
func FirstStart(rec *runner.PodRecord) time.Time {
	var t time.Time
	for _, c := range rec.Containers {
		for _, run := range []*runner.Run{c.Last, c.Current} {
			if run != nil && !run.StartedAt.IsZero() && (t.IsZero() || run.StartedAt.Before(t)) {
				t = run.StartedAt
			}
		}
	}
	return t
}

// mainContainer is the container an attempt reports: the first app
// container that failed, else the kubectl default container (the
// kubectl.kubernetes.io/default-container annotation, else the first app
// container).
func mainContainer(rec *runner.PodRecord) *runner.ContainerRecord {
	var apps []*runner.ContainerRecord
	for _, c := range rec.Containers {
		if !c.Init {
			apps = append(apps, c)
		}
	}
	for _, c := range apps {
		if r := c.Current; r != nil && r.Step == runner.StepExited && r.ExitCode != 0 {
			return c
		}
	}
	// An init container that failed is what the pod failed on.
	for _, c := range rec.Containers {
		if r := c.Current; c.Init && r != nil && r.Step == runner.StepExited && r.ExitCode != 0 {
			return c
		}
	}
	def := rec.Pod.Annotations["kubectl.kubernetes.io/default-container"]
	for _, c := range apps {
		if c.Name == def {
			return c
		}
	}
	if len(apps) > 0 {
		return apps[0]
	}
	return nil
}

// Tail returns the last max bytes of s, starting after a line break when
// one falls in the kept part, and never in the middle of a UTF-8 sequence.
func Tail(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[len(s)-max:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		return s[i+1:]
	}
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return s
}

func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// Query selects runs: of a namespace ("" = all), optionally of one owner
// (Kind "cronjob" or "job" and Name), newest first, at most Limit (0 = all).
type Query struct {
	Namespace string `json:"namespace,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	Limit     int    `json:"limit,omitempty"`
}

// Last is, per CronJob, when its newest successful and failed runs
// finished: what `describe cronjob` and the metrics report even after the
// Jobs are gone.
type Last struct {
	Namespace     string    `json:"namespace"`
	CronJob       string    `json:"cronJob"`
	LastSucceeded time.Time `json:"lastSuccessfulTime,omitzero"`
	LastFailed    time.Time `json:"lastFailedTime,omitzero"`
}

// Notification states.
const (
	NotifyPending = "Pending"
	NotifySent    = "Sent"
	NotifyFailed  = "Failed"
)

// Notification formats and when to notify (the localjobs.io/notify-format
// and localjobs.io/notify-on annotations, --notify-format and --notify-on).
const (
	FormatJSON    = "json"
	FormatSlack   = "slack"
	OnFailure     = "failure"
	OnAlways      = "always"
	OnNever       = "never"
	DefaultFormat = FormatJSON
	DefaultOn     = OnFailure
)

// Target is where and how a run is notified.
type Target struct {
	URL    string `json:"url"`
	Format string `json:"format"`
	On     string `json:"on"`
}

// Wants reports whether a run with this outcome is notified.
func (t Target) Wants(outcome string) bool {
	if t.URL == "" {
		return false
	}
	switch t.On {
	case OnNever:
		return false
	case OnAlways:
		return outcome == OutcomeComplete || outcome == OutcomeFailed
	}
	return outcome == OutcomeFailed
}

// Notification is the outbox entry of a run's webhook: written Pending in
// the same transaction as the run, then Sent once an endpoint accepted it
// or Failed once the retries gave up. A Sent entry is never sent again.
type Notification struct {
	UID    string `json:"uid"`
	Target Target `json:"target"`
	Run    Run    `json:"run"`
	State  string `json:"state"`
	// Attempts counts deliveries tried; LastError is the newest failure.
	Attempts  int       `json:"attempts,omitempty"`
	LastError string    `json:"lastError,omitempty"`
	Created   time.Time `json:"created"`
	Done      time.Time `json:"done,omitzero"`
}
