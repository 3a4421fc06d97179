package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"github.com/localjobs/localjobs/localapi"
)

// daemonProc is a `localjobs up` started by a row.
type daemonProc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer // read only once the process has exited (Wait has copied it all)
	done   chan struct{}
	client *localapi.Client
}

// startDaemon runs `localjobs up specs` on stateDir and waits (at most 30 s)
// until its socket answers.
func startDaemon(ctx context.Context, e *env, stateDir, specs string) (*daemonProc, error) {
	p := &daemonProc{cmd: exec.Command(e.bin, "--state-dir", stateDir, "up", specs), stderr: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := localapi.Dial(ctx, localapi.SocketPath(stateDir), "dev")
		if c != nil {
			p.client = c
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("localjobs up exited: %s", p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("localjobs up did not answer within 30s: %v\n%s", err, p.stderr.String())
		}
		<-time.After(20 * time.Millisecond) // bounded polling of the socket
	}
}

// stop sends SIGTERM and waits for the exit (killing after 20 s).
func (p *daemonProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}
