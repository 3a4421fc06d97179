package runner

import (
	"context"
	"io"
)

// Execer is implemented by runtimes that can run a command inside a running
// container (`localjobs exec`). It is separate from Runtime because the
// controllers never need it; callers check for it with a type assertion.
type Execer interface {
	// Exec runs cmd in container id, copying its output to stdout and
	// stderr until it exits, and returns its exit code.
	Exec(ctx context.Context, id string, cmd []string, stdout, stderr io.Writer) (exitCode int, err error)
}
