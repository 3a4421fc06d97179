package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/localjobs/localjobs/history"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/notify"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/state"
)

// recorder writes the run history (package history) from the controllers'
// change stream, and queues the webhook notification of a run in the same
// transaction (state.RecordRun).
//
// It is level-based and restart-safe like the controllers: reconcile, run
// at start before any controller does, records every finished Job of the
// store that has no record yet, so a crash between a Job finishing and its
// record being written loses nothing; the stream then brings each Job that
// finishes. The stream also carries the pods and the output of running
// Jobs, so a Job deleted at once by its history limit or a TTL of 0 — its
// pods and log files gone before the recorder looks — is still recorded
// whole. Recording is idempotent, so reconcile and stream may overlap.
type recorder struct {
	db     *state.DB
	log    *slog.Logger
	keep   history.Retention
	global history.Target
	kick   func() // tells the notifier; never blocks

	trackMu sync.Mutex
	tracked map[string]bool // UIDs of Job pods whose output is kept (the filter's)

	// The follow goroutine's own state.
	jobs  map[string]*manifest.Job                // ns/name -> newest unfinished Job seen
	pods  map[string]map[string]*runner.PodRecord // Job UID -> pod UID -> newest record
	tails map[string]*tailBuf                     // podUID/container -> end of its output
}

func newRecorder(db *state.DB, log *slog.Logger, keep history.Retention, global history.Target, kick func()) *recorder {
	r := &recorder{db: db, log: log, keep: keep.OrDefault(), global: global, kick: kick}
	r.reset()
	return r
}

func (r *recorder) reset() {
	r.trackMu.Lock()
	r.tracked = map[string]bool{}
	r.trackMu.Unlock()
	r.jobs = map[string]*manifest.Job{}
	r.pods = map[string]map[string]*runner.PodRecord{}
	r.tails = map[string]*tailBuf{}
}

// keep is the subscription filter: Jobs, Job pods and their output. It
// runs in the publisher, in stream order, so a pod is tracked before its
// first line arrives.
func (r *recorder) keepChange(ch *runner.Change) bool {
	switch {
	case ch.Job != nil:
		return true
	case ch.Record != nil:
		if jobOf(&ch.Record.Pod) == "" {
			return false
		}
		r.trackMu.Lock()
		r.tracked[ch.Record.Pod.UID] = true
		r.trackMu.Unlock()
		return true
	case ch.Log != nil:
		r.trackMu.Lock()
		defer r.trackMu.Unlock()
		return r.tracked[ch.Log.PodUID]
	}
	return false
}

// jobOf is the UID of the Job controlling p, or "".
func jobOf(p *manifest.Pod) string {
	if o := p.ControllerRef(manifest.KindJob); o != nil {
		return o.UID
	}
	return ""
}

// reconcile records every finished Job of the store that has no record.
func (r *recorder) reconcile(ctx context.Context) error {
	jobs, err := r.db.Jobs(ctx, "")
	if err != nil {
		return fmt.Errorf("run history: %w", err)
	}
	for _, j := range jobs {
		if _, c := history.Finished(j); c == nil {
			continue
		}
		if err := r.record(ctx, j); err != nil {
			return fmt.Errorf("run history: %w", err)
		}
	}
	return nil
}

// follow consumes the stream until ctx ends, and returns the subscription
// for drain. A subscription cut off for falling behind is replaced, after
// a reconcile, as a restart would.
func (r *recorder) follow(ctx context.Context, sub *runner.Subscription, resubscribe func() *runner.Subscription) *runner.Subscription {
	for {
		ch, err := sub.Next(ctx)
		if errors.Is(err, runner.ErrSlowSubscriber) {
			sub.Close()
			r.log.Warn("run history fell behind the controllers; reconciling from the store")
			r.reset()
			sub = resubscribe()
			r.retry(ctx, "reconcile run history", r.reconcile)
			continue
		}
		if err != nil {
			return sub
		}
		r.observe(ctx, &ch)
	}
}

// drain records what the stream still holds once the controllers have
// stopped: a Job that finished and was deleted (history limit, TTL) just
// before a shutdown is in no store for the next start's reconcile to find.
func (r *recorder) drain(sub *runner.Subscription) {
	if sub == nil {
		return
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	empty, stop := context.WithCancel(ctx)
	stop() // Next returns what is queued, then this context's error
	for {
		ch, err := sub.Next(empty)
		if err != nil {
			return
		}
		r.observe(ctx, &ch)
	}
}

func (r *recorder) observe(ctx context.Context, ch *runner.Change) {
	switch {
	case ch.Job != nil && ch.Deleted:
		k := key(ch.Job.Namespace, ch.Job.Name)
		j := r.jobs[k]
		if j == nil {
			r.forgetPodsOf(ch.Job.Namespace, ch.Job.Name)
			return
		}
		// Deleted before it finished (replaced, concurrencyPolicy
		// Replace, a user's delete): recorded if it had started.
		if len(r.pods[j.UID]) > 0 || j.Status.StartTime != nil {
			r.retry(ctx, "record run of "+k, func(ctx context.Context) error { return r.record(ctx, j) })
		}
		r.forget(j)
	case ch.Job != nil:
		if _, c := history.Finished(ch.Job); c != nil {
			r.retry(ctx, "record run of "+key(ch.Job.Namespace, ch.Job.Name), func(ctx context.Context) error { return r.record(ctx, ch.Job) })
			r.forget(ch.Job)
			return
		}
		r.jobs[key(ch.Job.Namespace, ch.Job.Name)] = ch.Job
	case ch.Record != nil:
		uid := jobOf(&ch.Record.Pod)
		if r.pods[uid] == nil {
			r.pods[uid] = map[string]*runner.PodRecord{}
		}
		r.pods[uid][ch.Record.Pod.UID] = ch.Record
	case ch.Log != nil:
		k := ch.Log.PodUID + "/" + ch.Log.Container
		t := r.tails[k]
		if t == nil {
			t = &tailBuf{}
			r.tails[k] = t
		}
		t.add(ch.Log.Line, ch.Log.Partial)
	}
}

// forget drops what the stream brought about a Job that is recorded or gone.
func (r *recorder) forget(j *manifest.Job) {
	delete(r.jobs, key(j.Namespace, j.Name))
	r.trackMu.Lock()
	for podUID, rec := range r.pods[j.UID] {
		delete(r.tracked, podUID)
		for _, c := range rec.Containers {
			delete(r.tails, podUID+"/"+c.Name)
		}
	}
	r.trackMu.Unlock()
	delete(r.pods, j.UID)
}

// forgetPodsOf drops the pods kept for a Job that the stream never showed
// (one restored at start and deleted before it changed).
func (r *recorder) forgetPodsOf(ns, name string) {
	for uid, pods := range r.pods {
		for _, p := range pods {
			for _, o := range p.Pod.OwnerReferences {
				if p.Pod.Namespace == ns && o.Kind == manifest.KindJob && o.Name == name && o.UID == uid {
					r.forget(&manifest.Job{ObjectMeta: manifest.ObjectMeta{Namespace: ns, Name: name, UID: uid}})
				}
			}
			break
		}
	}
}

// retry runs fn until it succeeds or ctx ends, backing off (capped) and
// saying so: a failed store read is never taken as "nothing to record".
func (r *recorder) retry(ctx context.Context, what string, fn func(ctx context.Context) error) {
	wait := 100 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		r.log.Error(what, "error", err, "retry in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// record writes the run of Job j (finished, or deleted unfinished) unless
// it has one: its pods are the store's, plus those the stream brought that
// the store no longer has.
func (r *recorder) record(ctx context.Context, j *manifest.Job) error {
	has, err := r.db.HasRun(ctx, j.UID)
	if err != nil || has {
		return err
	}
	stored, err := r.db.PodsOfJob(ctx, j.UID)
	if err != nil {
		return err
	}
	pods := stored
	seen := map[string]bool{}
	for _, p := range stored {
		seen[p.Pod.UID] = true
	}
	for uid, p := range r.pods[j.UID] {
		if !seen[uid] {
			pods = append(pods, p)
		}
	}
	run := history.FromJob(j, pods, r.tail, time.Now())
	note, err := r.notification(ctx, j, run)
	if err != nil {
		return err
	}
	created, err := r.db.RecordRun(ctx, run, note, r.keep)
	if err != nil {
		return err
	}
	if created {
		r.log.Debug("run recorded", "job", key(j.Namespace, j.Name), "outcome", run.Outcome)
		if note != nil && r.kick != nil {
			r.kick()
		}
	}
	return nil
}

// notification is the outbox entry of a run, or nil when nobody is to be
// told: the Job's annotations, then its CronJob's, then the global flags.
func (r *recorder) notification(ctx context.Context, j *manifest.Job, run *history.Run) (*history.Notification, error) {
	var cjAnn map[string]string
	if run.CronJob != "" {
		cj, err := r.db.CronJob(ctx, j.Namespace, run.CronJob)
		switch {
		case err == nil:
			cjAnn = cj.Annotations
		case !errors.Is(err, runner.ErrObjectNotFound):
			return nil, err
		}
	}
	t := notify.Resolve(j.Annotations, cjAnn, r.global)
	if !t.Wants(run.Outcome) {
		return nil, nil
	}
	return &history.Notification{UID: run.UID, Target: t, Run: *run, State: history.NotifyPending, Created: time.Now()}, nil
}

// tail is the end of a container's output: its log file's, or, when the
// file is gone already, what the stream brought.
func (r *recorder) tail(rec *runner.PodRecord, container string) string {
	for _, c := range rec.Containers {
		if c.Name != container || c.Current == nil {
			continue
		}
		var b bytes.Buffer
		path := r.db.LogPath(rec.Pod.Namespace, rec.Pod.Name, rec.Pod.UID, container, c.Current.Restart)
		if err := state.ReadLog(path, &b, state.ReadOptions{Tail: 64}); err == nil && b.Len() > 0 {
			return history.Tail(b.String(), history.LogTailMax)
		}
	}
	if t := r.tails[rec.Pod.UID+"/"+container]; t != nil {
		return t.String()
	}
	return ""
}

// prune applies the retention every hour (RecordRun prunes by count as it
// goes; ages need a clock).
func (r *recorder) prune(ctx context.Context) {
	for {
		n, err := r.db.PruneRuns(ctx, r.keep, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			r.log.Error("prune run history", "error", err)
		case n > 0:
			r.log.Info("pruned run history", "runs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}

// tailBuf keeps the last history.LogTailMax bytes of a container's output.
type tailBuf struct{ b []byte }

func (t *tailBuf) add(line string, partial bool) {
	t.b = append(t.b, line...)
	if !partial {
		t.b = append(t.b, '\n')
	}
	if len(t.b) > 2*history.LogTailMax {
		t.b = append(t.b[:0], t.b[len(t.b)-history.LogTailMax:]...)
	}
}

func (t *tailBuf) String() string { return history.Tail(string(t.b), history.LogTailMax) }

func key(ns, name string) string { return ns + "/" + name }
