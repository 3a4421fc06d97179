package docker

import (
	"context"
	"time"
)

// SawOOM exposes sawOOM to the tests against a real engine.
func (r *Runtime) SawOOM(ctx context.Context, id string, startedAt time.Time, wait time.Duration) bool {
	return r.sawOOM(ctx, id, startedAt, wait)
}
