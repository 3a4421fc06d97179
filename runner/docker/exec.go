package docker

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/localjobs/localjobs/runner"
)

// execAPI is the part of the SDK that Exec uses.
type execAPI interface {
	ExecCreate(ctx context.Context, container string, options client.ExecCreateOptions) (client.ExecCreateResult, error)
	ExecAttach(ctx context.Context, execID string, options client.ExecAttachOptions) (client.ExecAttachResult, error)
	ExecInspect(ctx context.Context, execID string, options client.ExecInspectOptions) (client.ExecInspectResult, error)
}

var _ runner.Execer = (*Runtime)(nil)

// Exec implements runner.Execer: it runs cmd in the container without a TTY
// or stdin, demultiplexes its output to stdout and stderr and returns the
// command's exit code.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string, stdout, stderr io.Writer) (int, error) {
	api, ok := r.api.(execAPI)
	if !ok {
		return 0, fmt.Errorf("exec: this engine client cannot exec")
	}
	created, err := api.ExecCreate(ctx, id, client.ExecCreateOptions{AttachStdout: true, AttachStderr: true, Cmd: cmd})
	if err != nil {
		return 0, fmt.Errorf("exec create: %w", err)
	}
	att, err := api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return 0, fmt.Errorf("exec attach: %w", err)
	}
	defer att.Close()
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, att.Reader)
		copied <- err
	}()
	select {
	case err = <-copied:
	case <-ctx.Done():
		att.Close()
		<-copied
		return 0, ctx.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("exec output: %w", err)
	}
	// The stream ends when the process exits; its exit code can lag
	// behind by a moment.
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		in, err := api.ExecInspect(ictx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return 0, fmt.Errorf("exec inspect: %w", err)
		}
		if !in.Running {
			return in.ExitCode, nil
		}
		select {
		case <-ictx.Done():
			return 0, fmt.Errorf("exec inspect: %w", ictx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
