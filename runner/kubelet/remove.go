package kubelet

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/localjobs/localjobs/runner"
)

// Engine hygiene (DESIGN §5): once a container instance's exit and logs
// are recorded, the container is removed from the engine, off the
// critical path — our records and log files are the history, not the
// engine's list of exited containers. In a pod with a sandbox each
// container's last two instances stay until the pod has finished (they
// were created into the sandbox's namespaces and hold its memory-backed
// volumes), then go with those volumes. A removal the daemon did not get to (it stopped first) is
// done by the next one at restore (SweepExited).

// drainTimeout bounds the removals still queued when the daemon stops.
const drainTimeout = 10 * time.Second

// removal is one queued piece of engine clean-up.
type removal struct {
	ids     []string // containers, removed first
	volumes []string // then these engine volumes
}

// removeLater queues the removal of exited containers (and then volumes)
// and makes sure a goroutine works through the queue. Nothing is removed
// with KeepExited.
func (k *Kubelet) removeLater(ctx context.Context, r removal) {
	if k.KeepExited || len(r.ids)+len(r.volumes) == 0 {
		return
	}
	k.rmMu.Lock()
	k.rmQueue = append(k.rmQueue, r)
	start := !k.rmRunning
	k.rmRunning = true
	if start {
		k.wg.Add(1)
	}
	k.rmMu.Unlock()
	if start {
		go k.removeQueued(ctx)
	}
}

// removeQueued removes what is queued, then returns. Once ctx is done it
// still works through the queue for up to drainTimeout, so that a `run`
// that ends with its Job leaves nothing behind; what it does not get to is
// removed at the next start.
func (k *Kubelet) removeQueued(ctx context.Context) {
	defer k.wg.Done()
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(drainTimeout, cancel)
		context.AfterFunc(rctx, func() { t.Stop() })
	})
	defer stop()
	for {
		k.rmMu.Lock()
		if len(k.rmQueue) == 0 || rctx.Err() != nil {
			k.rmQueue, k.rmRunning = nil, false
			k.rmMu.Unlock()
			return
		}
		r := k.rmQueue[0]
		k.rmQueue = k.rmQueue[1:]
		k.rmMu.Unlock()
		for _, id := range r.ids {
			if err := k.Runtime.Remove(rctx, id); err != nil {
				k.Log.Warn("remove exited container", "container", id, "error", err)
			}
		}
		for _, v := range r.volumes {
			if err := k.Runtime.RemoveVolume(rctx, v); err != nil {
				k.Log.Warn("remove volume", "volume", v, "error", err)
			}
		}
	}
}

// removeRecordedExits queues the removal of the instances whose exit the
// worker recorded (and has saved). In a pod with a sandbox each container
// keeps its last two instances (its current one and lastState) until the
// pod has finished (removeFinished), as the kubelet's container GC keeps
// dead containers per pod; older ones go.
func (w *Worker) removeRecordedExits(ctx context.Context) {
	if len(w.exited) == 0 {
		return
	}
	if !needsSandbox(&w.rec.Pod.Spec) {
		w.k.removeLater(ctx, removal{ids: w.exited})
		w.exited = nil
		return
	}
	keep := map[string]bool{}
	for _, c := range w.rec.Containers {
		for _, run := range []*runner.Run{c.Last, c.Current} {
			if run != nil {
				keep[run.ID] = true
			}
		}
	}
	var r removal
	kept := w.exited[:0]
	for _, id := range w.exited {
		if keep[id] {
			kept = append(kept, id)
		} else {
			r.ids = append(r.ids, id)
		}
	}
	w.exited = kept
	w.k.removeLater(ctx, r)
}

// removeFinished queues the removal of a finished (and saved) pod's
// containers, which have all exited, and then of its memory-backed
// volumes, which they held.
func (w *Worker) removeFinished(ctx context.Context) {
	r := removal{ids: w.exited}
	for _, c := range w.rec.Containers {
		for _, run := range []*runner.Run{c.Last, c.Current} {
			if run != nil && run.ID != "" {
				r.ids = append(r.ids, run.ID)
			}
		}
	}
	if w.setup != nil {
		for _, hv := range w.setup.vols {
			if hv.engine != "" {
				r.volumes = append(r.volumes, hv.engine)
			}
		}
	}
	slices.Sort(r.ids)
	r.ids = slices.Compact(r.ids)
	w.exited = nil
	w.k.removeLater(ctx, r)
}

// SweepExited removes, after a restart, the engine's exited containers of
// this instance whose exit is recorded: in recs (the live pods, as Restore
// left them) or, for other pods, in the store (read by the containers'
// labels): the removals a stopped daemon did not get to. A
// container no record explains is left alone; a pod with a sandbox keeps
// its exited containers until it has finished. It works in the
// background; Wait waits for it.
func (k *Kubelet) SweepExited(ctx context.Context, recs []*runner.PodRecord) {
	if k.KeepExited {
		return
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		k.sweepExited(ctx, recs)
	}()
}

func (k *Kubelet) sweepExited(ctx context.Context, recs []*runner.PodRecord) {
	infos, err := k.Runtime.List(ctx, map[string]string{runner.LabelInstance: k.Store.InstanceID()})
	if err != nil {
		k.Log.Warn("list containers to remove exited ones", "error", err)
		return
	}
	// The records of the exited containers' pods: recs, else the store's
	// (a finished pod's).
	byUID := make(map[string]*runner.PodRecord, len(recs))
	for _, r := range recs {
		byUID[r.Pod.UID] = r
	}
	var others []runner.ContainerInfo
	for _, info := range infos {
		if !info.Running && byUID[info.Labels[runner.LabelPodUID]] == nil {
			others = append(others, info)
		}
	}
	stored, err := runner.RecordsOf(ctx, k.Store, others)
	if err != nil {
		k.Log.Warn("read the pods of exited containers to remove them", "error", err)
		return
	}
	maps.Copy(byUID, stored)
	var r removal
	for _, info := range infos {
		if rec := byUID[info.Labels[runner.LabelPodUID]]; rec != nil && !info.Running && exitRecorded(rec, info.Labels) {
			r.ids = append(r.ids, info.ID)
		}
	}
	k.removeLater(ctx, r)
}

// exitRecorded reports whether the record has the exit of the container
// instance with these labels, and its pod lets it be removed now.
func exitRecorded(rec *runner.PodRecord, labels map[string]string) bool {
	if runner.IsTerminalPhase(rec.Pod.Status.Phase) {
		return true
	}
	if needsSandbox(&rec.Pod.Spec) || labels[runner.LabelSandbox] == "true" {
		return false
	}
	restart, err := strconv.Atoi(labels[runner.LabelRestart])
	if err != nil {
		return false
	}
	for _, c := range rec.Containers {
		if c.Name != labels[runner.LabelContainer] || c.Current == nil {
			continue
		}
		return int32(restart) < c.Current.Restart || int32(restart) == c.Current.Restart && c.Current.Step == runner.StepExited
	}
	return false
}
