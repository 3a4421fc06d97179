package runner

import (
	"context"
	"time"
)

// DeletePodWithGrace deletes a pod as DeletePod does, but stops its running
// containers after grace instead of the pod's terminationGracePeriodSeconds:
// kubectl delete --grace-period=N, or 0 for --force (SIGKILL at once). A nil
// grace is the pod's own. A pod already stopping with a longer grace is
// stopped again with the shorter one.
func (c *Controller) DeletePodWithGrace(ctx context.Context, ns, name string, grace *time.Duration) error {
	if grace != nil {
		c.mu.Lock()
		w := c.pods[key(ns, name)]
		c.mu.Unlock()
		if w != nil {
			select {
			case w.terminate <- terminateReq{grace: grace}:
			case <-w.done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return c.DeletePod(ctx, ns, name)
}
