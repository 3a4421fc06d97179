package runnertest

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Errors the fakes inject by default. Neither is a definite answer from
// the engine or the store: ErrTransport is not runner.ErrNotFound nor a
// *runner.StartError, ErrStore is not runner.ErrObjectNotFound.
var (
	// ErrTransport is a lost connection to the engine (a reset, a
	// timeout): the call may or may not have been carried out.
	ErrTransport = errors.New("fake engine: connection reset by peer")
	// ErrStore is a failed store read or write (an I/O error).
	ErrStore = errors.New("fake store: input/output error")
)

// Faults injects faults into the calls of a fake (Runtime.Faults,
// Store.Faults), each call named by its method ("Start", "Inspect",
// "PodsOfJob", "SavePod"…). The zero value injects nothing. Per call, in
// this order: Hook is asked; then a queued failure (Fail) or lost reply
// (Lose) of that method is used up; then the call waits out its Delay.
//
// A failure returns before the call is carried out; a lost reply carries
// the call out (the container is started, the record saved) and then
// returns the error, as a reply lost in transport does.
type Faults struct {
	// Hook, if set, is asked before every call; a non-nil error fails the
	// call without carrying it out. Set it before the fake is in use, or
	// with SetHook.
	Hook func(op string) error

	mu    sync.Mutex
	queue map[string][]fault
	delay map[string]time.Duration
	calls map[string]int
}

type fault struct {
	err     error
	lost    bool // carried out, then err
	forever bool // stays queued until Reset
}

// Fail makes the next n calls of op fail with err (nil: ErrTransport for
// the Runtime, ErrStore for the Store) without being carried out. n < 0
// means every call from now on, until Reset.
func (f *Faults) Fail(op string, n int, err error) { f.add(op, n, fault{err: err}) }

// Lose makes the next n calls of op be carried out and then return err
// (nil: the fake's default error): the reply was lost. n < 0 means every
// call, until Reset.
func (f *Faults) Lose(op string, n int, err error) { f.add(op, n, fault{err: err, lost: true}) }

// Delay makes every call of op wait d (fake time under synctest) before it
// is carried out, or until its context ends.
func (f *Faults) Delay(op string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.delay == nil {
		f.delay = map[string]time.Duration{}
	}
	f.delay[op] = d
}

// SetHook sets Hook, safely while the fake is in use.
func (f *Faults) SetHook(hook func(op string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Hook = hook
}

// Reset drops every queued fault and delay (Hook and the call counts
// stay).
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue, f.delay = nil, nil
}

// Calls is how many calls of op were made, failed ones included.
func (f *Faults) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *Faults) add(op string, n int, ft fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queue == nil {
		f.queue = map[string][]fault{}
	}
	if n < 0 {
		ft.forever = true
		f.queue[op] = append(f.queue[op], ft)
		return
	}
	for range n {
		f.queue[op] = append(f.queue[op], ft)
	}
}

// take counts a call of op, waits out its delay and returns the fault to
// inject: err, and whether the call is to be carried out first (lost).
// def replaces a nil queued error.
func (f *Faults) take(ctx context.Context, op string, def error) (err error, lost bool) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	hook := f.Hook
	f.mu.Unlock()
	if hook != nil {
		if err := hook(op); err != nil {
			return err, false // the queued faults stay for the next call
		}
	}
	f.mu.Lock()
	d := f.delay[op]
	var ft *fault
	if q := f.queue[op]; len(q) > 0 {
		first := q[0]
		ft = &first
		if !first.forever {
			f.queue[op] = q[1:]
		}
	}
	f.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err(), false
		}
	}
	if ft == nil {
		return nil, false
	}
	if ft.err == nil {
		ft.err = def
	}
	return ft.err, ft.lost
}

// before injects the fault of a call of op that is not carried out: it
// returns the error to fail with, or nil to go on. A lost reply is
// returned as lost, to be returned once the call is carried out.
func (f *Faults) before(ctx context.Context, op string, def error) (fail, lost error) {
	err, l := f.take(ctx, op, def)
	if l {
		return nil, err
	}
	return err, nil
}
