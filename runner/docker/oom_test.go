package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// fakeExited is a dockerAPI for one exited container whose "oom" event the
// engine logs at oomAt (zero: never), as Docker 20.10 does when containerd's
// TaskOOM event loses the race with the task's exit: State.OOMKilled false.
// Its Events answers as the engine does: buffered events since Since, then
// live ones, until Until.
type fakeExited struct {
	dockerAPI
	exitCode  int
	memory    int64
	oomAt     time.Time
	eventsErr error
	queries   atomic.Int32
}

func (f *fakeExited) ContainerWait(context.Context, string, client.ContainerWaitOptions) client.ContainerWaitResult {
	res := make(chan container.WaitResponse, 1)
	res <- container.WaitResponse{StatusCode: int64(f.exitCode)}
	return client.ContainerWaitResult{Result: res, Error: make(chan error)}
}

func (f *fakeExited) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	now := time.Now()
	return client.ContainerInspectResult{Container: container.InspectResponse{
		ID: id,
		State: &container.State{
			Status: container.StateExited, ExitCode: f.exitCode,
			StartedAt:  now.Add(-time.Minute).Format(time.RFC3339Nano),
			FinishedAt: now.Format(time.RFC3339Nano),
		},
		HostConfig: &container.HostConfig{Resources: container.Resources{Memory: f.memory}},
	}}, nil
}

func (f *fakeExited) Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult {
	f.queries.Add(1)
	msgs, errs := make(chan events.Message), make(chan error, 1)
	if !opts.Filters["container"]["c1"] || !opts.Filters["event"]["oom"] {
		errs <- fmt.Errorf("unexpected filters %v", opts.Filters)
		return client.EventsResult{Messages: msgs, Err: errs}
	}
	since, until := parseEngineTime(opts.Since), parseEngineTime(opts.Until)
	go func() {
		if f.eventsErr != nil {
			errs <- f.eventsErr
			return
		}
		if !f.oomAt.IsZero() && !f.oomAt.Before(since) && !f.oomAt.After(until) {
			wait(ctx, time.Until(f.oomAt))
			select {
			case msgs <- events.Message{Type: events.ContainerEventType, Action: events.ActionOOM, Actor: events.Actor{ID: "c1"}}:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
		}
		wait(ctx, time.Until(until))
		errs <- io.EOF
	}()
	return client.EventsResult{Messages: msgs, Err: errs}
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func parseEngineTime(s string) time.Time {
	var sec, nsec int64
	if _, err := fmt.Sscanf(s, "%d.%d", &sec, &nsec); err != nil {
		panic(fmt.Sprintf("engine time %q: %v", s, err))
	}
	return time.Unix(sec, nsec)
}

// TestWaitOOMEventAfterExit: an OOM kill the engine logged but did not put
// in the container's state (Docker 20.10's TaskOOM/TaskExit race) is
// OOMKilled, whether its event came before Wait asked or a moment after.
func TestWaitOOMEventAfterExit(t *testing.T) {
	for _, tt := range []struct {
		name      string
		exitCode  int
		memory    int64
		oomIn     time.Duration // from Wait's return; < 0 before it, 0 never
		eventsErr error
		wantOOM   bool
		wantTook  time.Duration
		wantQuery bool
	}{
		{name: "EventBeforeWait", exitCode: 137, memory: 16 << 20, oomIn: -time.Millisecond, wantOOM: true, wantQuery: true},
		{name: "EventAfterWait", exitCode: 137, memory: 16 << 20, oomIn: 300 * time.Millisecond, wantOOM: true, wantTook: 300 * time.Millisecond, wantQuery: true},
		{name: "KilledNoEvent", exitCode: 137, memory: 16 << 20, wantTook: oomGrace, wantQuery: true},
		{name: "EventTooLate", exitCode: 137, memory: 16 << 20, oomIn: oomGrace + time.Second, wantTook: oomGrace, wantQuery: true},
		// A shell that outlived its OOM-killed child: its event came long before.
		{name: "ExitZeroEvent", exitCode: 0, memory: 16 << 20, oomIn: -time.Second, wantOOM: true, wantQuery: true},
		{name: "ExitZeroNoEventNoWait", exitCode: 0, memory: 16 << 20, wantQuery: true},
		{name: "ErrorNoEventNoWait", exitCode: 1, memory: 16 << 20, oomIn: time.Second, wantQuery: true},
		{name: "NoLimitNotAsked", exitCode: 137},
		{name: "EventsFail", exitCode: 137, memory: 16 << 20, eventsErr: errors.New("connection reset"), wantQuery: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeExited{exitCode: tt.exitCode, memory: tt.memory, eventsErr: tt.eventsErr}
				if tt.oomIn != 0 {
					f.oomAt = time.Now().Add(tt.oomIn)
				}
				rt := newRuntime(f)
				start := time.Now()
				info, err := rt.Wait(context.Background(), "c1")
				took := time.Since(start)
				if err != nil || info.OOMKilled != tt.wantOOM || info.ExitCode != tt.exitCode {
					t.Errorf("Wait() = OOMKilled %v, exit code %d, %v; want OOMKilled %v, exit code %d",
						info.OOMKilled, info.ExitCode, err, tt.wantOOM, tt.exitCode)
				}
				if took != tt.wantTook {
					t.Errorf("Wait() took %v; want %v", took, tt.wantTook)
				}
				if asked := f.queries.Load() > 0; asked != tt.wantQuery {
					t.Errorf("events asked: %v; want %v", asked, tt.wantQuery)
				}
			})
		})
	}
}

// TestInspectOOMDoesNotWait: Inspect (restore, lost replies) asks the
// engine's event buffer once and never waits for an event to come.
func TestInspectOOMDoesNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeExited{exitCode: 137, memory: 1 << 30, oomAt: time.Now().Add(-time.Second)}
		rt := newRuntime(f)
		if info, err := rt.Inspect(context.Background(), "c1"); err != nil || !info.OOMKilled {
			t.Errorf("Inspect() = OOMKilled %v, %v; want true (event in the buffer)", info.OOMKilled, err)
		}
		f.oomAt = time.Now().Add(time.Second)
		start := time.Now()
		if info, err := rt.Inspect(context.Background(), "c1"); err != nil || info.OOMKilled || time.Since(start) != 0 {
			t.Errorf("Inspect() = OOMKilled %v, %v after %v; want false at once", info.OOMKilled, err, time.Since(start))
		}
	})
}
