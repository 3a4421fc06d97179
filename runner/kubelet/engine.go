package kubelet

import (
	"context"
	"errors"

	"github.com/localjobs/localjobs/runner"
)

// Engine outages (DESIGN §5): a watcher whose wait for its container fails
// for any reason but the container being gone does not take that as the
// container's death. It reports the outage — a Warning event on its pod,
// and one error line on the daemon's log however many pods see it — and
// asks the engine again with a capped back-off; when the engine answers
// again, a Normal event on the pod and one line on the daemon's log.

// Event reasons of engine outages.
const (
	reasonEngineUnreachable = "EngineUnreachable"
	reasonEngineReachable   = "EngineReachable"
)

// engineLost counts one more watcher that cannot reach the engine; the
// first one logs it.
func (k *Kubelet) engineLost(err error) {
	k.engMu.Lock()
	defer k.engMu.Unlock()
	k.engDown++
	if k.engDown == 1 {
		k.Log.Error("container engine unreachable; running pods are watched again once it answers", "error", err)
	}
}

// engineBack counts one watcher less that cannot reach the engine; the
// last one logs that it answers again (unless the daemon is stopping).
func (k *Kubelet) engineBack(stopping bool) {
	k.engMu.Lock()
	defer k.engMu.Unlock()
	k.engDown--
	if k.engDown == 0 && !stopping {
		k.Log.Info("container engine reachable again")
	}
}

// waitExit waits for the container to stop. An engine error is retried
// with back-off: only a container the engine no longer has counts as gone
// (DESIGN §5), never one we merely failed to ask about.
func (w *Worker) waitExit(ctx context.Context, id string) (runner.ContainerInfo, error) {
	for {
		info, err := w.k.Runtime.Wait(ctx, id)
		if err == nil || errors.Is(err, runner.ErrNotFound) || ctx.Err() != nil {
			return info, err
		}
		w.k.engineLost(err)
		w.event(nil, "Warning", reasonEngineUnreachable,
			"The container engine does not answer; the pod's state is unknown until it does: "+err.Error())
		// Whether the engine answers again: Wait would block.
		if _, err := w.k.inspectRetrying(ctx, id, 0); err != nil && !errors.Is(err, runner.ErrNotFound) {
			w.k.engineBack(true) // only ctx ends the retries
			return info, ctx.Err()
		}
		w.k.engineBack(false)
		w.event(nil, "Normal", reasonEngineReachable, "The container engine answers again")
	}
}
