package controller_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/controller"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// flakyEngine is the fake runtime with an engine that can stop answering:
// while down, Wait and Inspect fail at once and the Waits in progress
// fail, as when the engine's socket goes away.
type flakyEngine struct {
	*runnertest.Runtime
	mu     sync.Mutex
	downCh chan struct{} // closed while down; nil while up
}

var errEngineDown = errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")

func (e *flakyEngine) setDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case down && e.downCh == nil:
		e.downCh = make(chan struct{})
		close(e.downCh)
	case !down:
		e.downCh = nil
	}
}

func (e *flakyEngine) down() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.downCh
}

func (e *flakyEngine) Wait(ctx context.Context, id string) (runner.ContainerInfo, error) {
	if e.down() != nil {
		return runner.ContainerInfo{}, errEngineDown
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-wctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
				if e.down() != nil {
					cancel()
					return
				}
			}
		}
	}()
	info, err := e.Runtime.Wait(wctx, id)
	if err != nil && ctx.Err() == nil && e.down() != nil {
		return info, errEngineDown
	}
	return info, err
}

func (e *flakyEngine) Inspect(ctx context.Context, id string) (runner.ContainerInfo, error) {
	if e.down() != nil {
		return runner.ContainerInfo{}, errEngineDown
	}
	return e.Runtime.Inspect(ctx, id)
}

// TestEngineOutageReported: the engine stops answering while two pods
// run: each pod gets a Warning event and the daemon's log one line; when
// the engine is back, each pod gets a Normal event and the daemon's log
// one line, and the pods go on (issue #10 item 9d).
func TestEngineOutageReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		rt.Script = runFor(time.Hour)
		eng := &flakyEngine{Runtime: rt}
		var daemonLog runnertest.SyncBuffer
		store := runnertest.NewStore()
		c, _, stop := startDaemonWith(store, eng, func(c *controller.Controller) {
			c.Log = slog.New(slog.NewTextHandler(&daemonLog, nil))
		})
		for _, name := range []string{"a", "b"} {
			if _, err := c.ApplyPod(context.Background(), pod(name, "busybox", manifest.RestartPolicyNever)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		eng.setDown(true)
		time.Sleep(time.Minute)
		synctest.Wait()
		eng.setDown(false)
		time.Sleep(time.Minute)
		synctest.Wait()
		for _, name := range []string{"a", "b"} {
			r, err := store.Pod(context.Background(), "default", name)
			if err != nil {
				t.Fatal(err)
			}
			evs, _ := store.Events(context.Background(), "", r.Pod.UID)
			var got []string
			for _, e := range evs {
				if strings.HasPrefix(e.Reason, "Engine") {
					got = append(got, e.Type+" "+e.Reason)
				}
			}
			if strings.Join(got, ",") != "Warning EngineUnreachable,Normal EngineReachable" {
				t.Errorf("pod %s: engine events %v, want a Warning EngineUnreachable then a Normal EngineReachable", name, got)
			}
			if r.Pod.Status.Phase != manifest.PodRunning {
				t.Errorf("pod %s: phase %s, want Running", name, r.Pod.Status.Phase)
			}
		}
		l := daemonLog.String()
		if n := strings.Count(l, "container engine unreachable"); n != 1 {
			t.Errorf("daemon log has %d 'unreachable' lines, want 1:\n%s", n, l)
		}
		if n := strings.Count(l, "container engine reachable again"); n != 1 {
			t.Errorf("daemon log has %d 'reachable again' lines, want 1:\n%s", n, l)
		}
		stop()
		rt.KillAll()
	})
}

// startDaemonWith is startDaemon over any runtime, with the controller's
// fields changed by mod before it runs.
func startDaemonWith(store runner.Store, rt runner.Runtime, mod func(*controller.Controller)) (c *controller.Controller, sub *runner.Subscription, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	c = &controller.Controller{Store: store, Runtime: rt, NodeName: "n"}
	mod(c)
	sub = c.Subscribe()
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	return c, sub, func() { cancel(); <-done }
}
