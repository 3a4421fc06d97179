package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/schedule"
)

// cronJobs is the daemon's side of the CronJob controller: the
// schedule.JobStore over the Job controller and the state, the CronJob
// objects' storage, and the bookkeeping that tells the scheduler when one
// of a CronJob's Jobs was created, changed or deleted.
//
// CronJob-created Jobs (scheduled or manual) never get an applied record:
// only the CronJob itself does, so a Job deleted by a history limit or its
// TTL is never re-created by `up` re-reading an unchanged file.
type cronJobs struct {
	d     *Daemon
	sched *schedule.Controller
	log   *slog.Logger

	mu sync.Mutex // serialises read-modify-writes of stored CronJobs

	createMu sync.Mutex // serialises "does the Job exist? create it"

	ownMu sync.Mutex
	owner map[string]string // ns/job -> name of its controlling CronJob

	done chan struct{} // closed when the scheduler's Run returned
}

var _ schedule.JobStore = (*cronJobs)(nil)

func newCronJobs(d *Daemon, log *slog.Logger) *cronJobs {
	c := &cronJobs{d: d, log: log, owner: map[string]string{}}
	c.sched = &schedule.Controller{Store: c, Local: time.Local, Logger: log}
	return c
}

// load hands every stored CronJob to the scheduler (before it runs, so
// localjobs.io/run-on-start applies) and learns which Jobs belong to
// which CronJob.
func (c *cronJobs) load(ctx context.Context) error {
	cjs, err := c.d.DB.CronJobs(ctx, "")
	if err != nil {
		return err
	}
	for _, cj := range cjs {
		c.sched.Apply(cj)
	}
	jobs, err := c.d.DB.Jobs(ctx, "")
	if err != nil {
		return err
	}
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	for _, j := range jobs {
		if o := cronJobOwner(j); o != nil {
			c.owner[j.Namespace+"/"+j.Name] = o.Name
		}
	}
	return nil
}

// start runs the scheduler until ctx ends; wait waits for it.
func (c *cronJobs) start(ctx context.Context) {
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		c.sched.Run(ctx)
	}()
}

func (c *cronJobs) wait() {
	if c.done != nil {
		<-c.done
	}
}

// jobChanged is the controller.Controller's OnJobChange hook.
func (c *cronJobs) jobChanged(j *manifest.Job, deleted bool) {
	k := j.Namespace + "/" + j.Name
	c.ownMu.Lock()
	cj := c.owner[k]
	if deleted {
		delete(c.owner, k)
	}
	if o := cronJobOwner(j); o != nil {
		cj = o.Name
		if !deleted {
			c.owner[k] = cj
		}
	}
	c.ownMu.Unlock()
	if cj != "" {
		c.sched.JobChanged(j.Namespace, cj)
	}
}

// cronJobOwner returns the controller ownerReference of kind CronJob.
func cronJobOwner(j *manifest.Job) *manifest.OwnerReference {
	return j.ControllerRef(manifest.KindCronJob)
}

// ---- schedule.JobStore ----

// JobsOf implements schedule.JobStore.
func (c *cronJobs) JobsOf(ctx context.Context, cj *manifest.CronJob) ([]*manifest.Job, error) {
	all, err := c.d.DB.JobsOwnedBy(ctx, cj.Namespace, cj.UID)
	if err != nil {
		return nil, err
	}
	var out []*manifest.Job
	for _, j := range all {
		if o := cronJobOwner(j); o != nil && o.UID == cj.UID {
			out = append(out, j)
		}
	}
	return out, nil
}

// CreateJob implements schedule.JobStore.
func (c *cronJobs) CreateJob(ctx context.Context, j *manifest.Job) error {
	_, err := c.createJob(ctx, j)
	return err
}

// createJob creates a Job unless one of that name exists
// (schedule.ErrAlreadyExists).
func (c *cronJobs) createJob(ctx context.Context, j *manifest.Job) (*manifest.Job, error) {
	c.createMu.Lock()
	defer c.createMu.Unlock()
	if _, err := c.d.DB.Job(ctx, j.Namespace, j.Name); err == nil {
		return nil, schedule.ErrAlreadyExists
	} else if !errors.Is(err, runner.ErrObjectNotFound) {
		return nil, err
	}
	got, err := c.d.Controller.ApplyJob(ctx, j)
	if err != nil {
		return nil, err
	}
	if ts, ok := j.Annotations[schedule.AnnotationScheduledTimestamp]; ok {
		if t, err := time.Parse(time.RFC3339, ts); err == nil {
			c.log.Info("cronjob created job", "job", j.Namespace+"/"+j.Name, "scheduled", ts, "late", time.Since(t).Round(time.Millisecond))
		}
	}
	return got, nil
}

// DeleteJob implements schedule.JobStore.
func (c *cronJobs) DeleteJob(ctx context.Context, ns, name string) error {
	err := c.d.Controller.DeleteJob(ctx, ns, name)
	if errors.Is(err, runner.ErrObjectNotFound) {
		return nil
	}
	return err
}

// SaveCronJobStatus implements schedule.JobStore: it stores the status on
// the stored CronJob (whose spec may be newer than the scheduler's copy).
func (c *cronJobs) SaveCronJobStatus(ctx context.Context, cj *manifest.CronJob) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, err := c.d.DB.CronJob(ctx, cj.Namespace, cj.Name)
	if errors.Is(err, runner.ErrObjectNotFound) {
		return nil // deleted meanwhile
	} else if err != nil {
		return err
	}
	if cur.UID != cj.UID {
		return nil // deleted and created again meanwhile
	}
	cur.Status = cj.Status
	return c.d.DB.SaveCronJob(ctx, cur)
}

// RecordEvent implements schedule.JobStore.
func (c *cronJobs) RecordEvent(ctx context.Context, cj *manifest.CronJob, typ, reason, message string) {
	ref := manifest.ObjectReference{
		Kind: manifest.KindCronJob, APIVersion: "batch/v1", Namespace: cj.Namespace, Name: cj.Name, UID: cj.UID,
		ResourceVersion: cj.ResourceVersion,
	}
	c.d.Controller.RecordEvent(ctx, ref, typ, reason, message, schedule.Component)
}

// ---- apply, suspend, delete, manual Jobs ----

// applyCronJob creates a CronJob or updates it in place (every CronJob
// field is mutable): the UID, creation time and status are kept.
func (c *cronJobs) applyCronJob(ctx context.Context, v *manifest.CronJob) (cj *manifest.CronJob, created bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := *v
	next.APIVersion, next.Kind = "batch/v1", manifest.KindCronJob
	cur, err := c.d.DB.CronJob(ctx, v.Namespace, v.Name)
	switch {
	case err == nil:
		next.UID, next.CreationTimestamp, next.Status = cur.UID, cur.CreationTimestamp, cur.Status
		next.Generation = cur.Generation + 1
		next.ResourceVersion = bump(cur.ResourceVersion)
	case errors.Is(err, runner.ErrObjectNotFound):
		created = true
		next.UID = newUID()
		next.CreationTimestamp = manifest.Time{Time: time.Now().Truncate(time.Second)}
		next.Generation, next.ResourceVersion = 1, "1"
		next.Status = manifest.CronJobStatus{}
	default:
		return nil, false, err
	}
	if err := c.d.DB.SaveCronJob(ctx, &next); err != nil {
		return nil, false, err
	}
	c.sched.Apply(clone(&next))
	return &next, created, nil
}

func bump(rv string) string {
	n, _ := strconv.Atoi(rv)
	return strconv.Itoa(n + 1)
}

func clone(cj *manifest.CronJob) *manifest.CronJob {
	out := *cj
	return &out
}

// setCronJobSuspend sets spec.suspend of a stored CronJob.
func (c *cronJobs) setCronJobSuspend(ctx context.Context, ns, name string, suspend bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cj, err := c.d.DB.CronJob(ctx, ns, name)
	if err != nil {
		return err
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend == suspend {
		return nil
	}
	cj.Spec.Suspend = &suspend
	cj.Generation++
	cj.ResourceVersion = bump(cj.ResourceVersion)
	if err := c.d.DB.SaveCronJob(ctx, cj); err != nil {
		return err
	}
	c.sched.Apply(clone(cj))
	return nil
}

// deleteCronJob deletes a CronJob and, as Kubernetes' background
// propagation does, the Jobs it controls with their pods and logs.
func (c *cronJobs) deleteCronJob(ctx context.Context, ns, name string) error {
	cj, err := c.d.DB.CronJob(ctx, ns, name)
	if err != nil {
		return err
	}
	c.sched.Remove(ns, name)
	jobs, err := c.JobsOf(ctx, cj)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := c.DeleteJob(ctx, j.Namespace, j.Name); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.d.DB.DeleteCronJob(ctx, ns, name)
}

// withLiveActive returns cj with status.active computed from its Jobs as
// they are now (what the scheduler's next sync saves), so a read right
// after `create job --from` sees the new Job.
func (c *cronJobs) withLiveActive(ctx context.Context, cj *manifest.CronJob) *manifest.CronJob {
	jobs, err := c.JobsOf(ctx, cj)
	if err != nil {
		return cj
	}
	return withActive(cj, jobs)
}

// withActive returns cj with status.active listing those of jobs (its
// own) that have not finished.
func withActive(cj *manifest.CronJob, jobs []*manifest.Job) *manifest.CronJob {
	var active []*manifest.Job
	for _, j := range jobs {
		if !runner.IsJobFinished(j) && j.DeletionTimestamp == nil {
			active = append(active, j)
		}
	}
	sort.SliceStable(active, func(a, b int) bool {
		ta, tb := active[a].CreationTimestamp.Time, active[b].CreationTimestamp.Time
		if !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return active[a].Name < active[b].Name
	})
	out := clone(cj)
	out.Status.Active = nil
	for _, j := range active {
		out.Status.Active = append(out.Status.Active, manifest.ObjectReference{
			Kind: "Job", Namespace: j.Namespace, Name: j.Name, UID: j.UID, APIVersion: "batch/v1", ResourceVersion: j.ResourceVersion,
		})
	}
	return out
}

func newUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
