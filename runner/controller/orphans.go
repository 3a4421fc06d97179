package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/localjobs/localjobs/runner"
)

// DefaultOrphanSweep is how often Run looks for orphan containers when
// Controller.OrphanSweep is 0.
const DefaultOrphanSweep = 30 * time.Second

// orphanSweep is the period of the orphan sweep; 0 means none.
func (c *Controller) orphanSweep() time.Duration {
	switch {
	case c.OrphanSweep < 0:
		return 0
	case c.OrphanSweep == 0:
		return DefaultOrphanSweep
	}
	return c.OrphanSweep
}

// sweepLoop sweeps orphan containers every period until ctx ends. A
// period in which no pod worker ran and none started is skipped: only a
// worker's engine calls can leave an orphan after Restore's sweep, and an
// idle daemon then costs the engine nothing.
func (c *Controller) sweepLoop(ctx context.Context, period time.Duration) {
	seen := c.podWorkers.Load()
	for {
		if !runner.Sleep(ctx, c.clock(), period) {
			return
		}
		c.mu.Lock()
		running := len(c.pods)
		c.mu.Unlock()
		started := c.podWorkers.Load()
		if running == 0 && started == seen {
			continue
		}
		seen = started
		if _, err := c.SweepOrphans(ctx); err != nil && ctx.Err() == nil {
			c.logger().Warn("sweep orphan containers; next sweep", "error", err, "in", period)
		}
	}
}

// SweepOrphans stops and removes the engine containers of this instance
// that no pod record explains, as Nomad's dangling-container reconciler
// does (DESIGN §5): so a lost engine reply (a create or start that
// happened though the daemon saw an error) never leaves a container
// running beside the one the record names. A container is an orphan when
// its pod has no record, or when it is running or created (not exited)
// and its record names neither it (by ID or engine name) as a live
// instance: the sandbox, the current instance of a container, or the
// previous one. Exited containers of a recorded pod are history, not
// orphans. A failed observation (the engine's list or the store's) is
// returned and nothing is removed. It returns how many it removed; each is
// a line on the daemon's log and, when its pod has a record, a Warning
// event on the pod.
func (c *Controller) SweepOrphans(ctx context.Context) (int, error) {
	// The engine first: a container created after the list is not
	// looked at, and every container listed was created after its
	// record's intent was saved, so the records read next explain it.
	cs, err := c.Runtime.List(ctx, map[string]string{runner.LabelInstance: c.Store.InstanceID()})
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	byUID, err := runner.RecordsOf(ctx, c.Store, cs)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ci := range cs {
		uid := ci.Labels[runner.LabelPodUID]
		if uid == "" {
			continue // not a pod's container: not ours to judge
		}
		rec := byUID[uid]
		why := orphanReason(rec, ci)
		if why == "" {
			continue
		}
		if err := c.removeOrphan(ctx, ci); err != nil {
			c.logger().Warn("remove orphan container", "container", ci.Name, "error", err)
			continue
		}
		n++
		c.logger().Warn("removed orphan container", "container", ci.Name, "id", ci.ID, "reason", why)
		if rec != nil {
			ref := runner.ObjectRef(&rec.Pod.TypeMeta, &rec.Pod.ObjectMeta, "")
			c.RecordEvent(ctx, ref, "Warning", "OrphanContainer",
				fmt.Sprintf("Stopped and removed container %s: %s", ci.Name, why), "kubelet")
		}
	}
	return n, nil
}

// orphanReason says why ci is an orphan given its pod's record (nil: no
// record), or "" if the record explains it.
func orphanReason(rec *runner.PodRecord, ci runner.ContainerInfo) string {
	if rec == nil {
		return "no pod record has it"
	}
	if !ci.Running && ci.Status != "created" {
		return "" // exited: history
	}
	runs := []*runner.Run{rec.Sandbox}
	for _, cr := range rec.Containers {
		runs = append(runs, cr.Current, cr.Last)
	}
	for _, r := range runs {
		if r == nil || (r.ID != ci.ID && (r.ID != "" || r.EngineName != ci.Name)) {
			continue
		}
		if r.Step == runner.StepExited && ci.Running {
			return "its pod's record says it has exited"
		}
		return ""
	}
	return "its pod's record names another container"
}

// removeOrphan stops a container at once and removes it, even if ctx
// ends meanwhile.
func (c *Controller) removeOrphan(ctx context.Context, ci runner.ContainerInfo) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ci.Running {
		if err := c.Runtime.Stop(rctx, ci.ID, 0); err != nil {
			return err
		}
	}
	return c.Runtime.Remove(rctx, ci.ID)
}
