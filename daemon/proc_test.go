package daemon_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// upProc is a `localjobs up` process started by a test.
type upProc struct {
	cmd    *exec.Cmd
	stderr *runnertest.SyncBuffer
	done   chan struct{} // closed once the process has exited
	err    error         // its exit status, once done
}

// startUp starts `localjobs --state-dir stateDir up specs`. The process is
// killed when the test ends if it still runs.
func startUp(t *testing.T, bin, stateDir, specs string) *upProc {
	t.Helper()
	p := &upProc{cmd: exec.Command(bin, "--state-dir", stateDir, "up", specs), stderr: &runnertest.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

// stopGrace is how long a test waits for `up` to exit after SIGTERM: the
// daemon's own ShutdownGrace (past which it exits with an error naming
// what was busy) plus room for the process to end on a loaded machine.
const stopGrace = daemon.ShutdownGrace + 10*time.Second

// signal sends sig and waits up to timeout for the process to exit; it
// returns how long the exit took and the exit status. On expiry it asks the
// process for a goroutine dump (SIGQUIT), kills it, and fails the test with
// everything the process printed.
func (p *upProc) signal(t *testing.T, sig syscall.Signal, timeout time.Duration) (time.Duration, error) {
	t.Helper()
	t0 := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-p.done:
		return time.Since(t0), p.err
	case <-time.After(timeout):
	}
	p.cmd.Process.Signal(syscall.SIGQUIT) // the Go runtime prints every goroutine
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	t.Fatalf("localjobs up did not exit within %v of %v; it printed:\n%s", timeout, sig, p.stderr.String())
	return 0, nil
}

// stop sends SIGTERM and fails the test unless up exits cleanly (status 0)
// within stopGrace.
func (p *upProc) stop(t *testing.T) {
	t.Helper()
	if _, err := p.signal(t, syscall.SIGTERM, stopGrace); err != nil {
		t.Errorf("localjobs up exited with %v after SIGTERM; it printed:\n%s", err, p.stderr.String())
	}
}

// dialUntil waits for the daemon's socket to answer.
func dialUntil(t *testing.T, stateDir string, timeout time.Duration) *localapi.Client {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := localapi.Dial(context.Background(), localapi.SocketPath(stateDir), "dev")
		if err == nil || c != nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not answer within %v: %v", timeout, err)
		}
		<-time.After(20 * time.Millisecond) // bounded polling of the socket
	}
}

// stopDaemon stops an in-process daemon and fails the test if it did not
// stop cleanly within its ShutdownGrace.
func stopDaemon(t *testing.T, d *daemon.Daemon) int {
	t.Helper()
	n, err := d.Stop()
	if err != nil {
		t.Errorf("daemon stop: %v", err)
	}
	return n
}
