package docker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker"
	"github.com/localjobs/localjobs/state"
)

// cutFollow is the engine's runtime with its first log follows cut after
// a few lines, as an engine restart or a dropped connection cuts them.
type cutFollow struct {
	*docker.Runtime
	mu   sync.Mutex
	cuts int // follows still to cut
}

type sinkFunc func(ts time.Time, stream string, line []byte, partial bool) error

func (f sinkFunc) WriteLine(ts time.Time, stream string, line []byte, partial bool) error {
	return f(ts, stream, line, partial)
}

func (c *cutFollow) Logs(ctx context.Context, id string, since time.Time, follow bool, sink runner.LogSink) error {
	c.mu.Lock()
	cut := follow && c.cuts > 0
	if cut {
		c.cuts--
	}
	c.mu.Unlock()
	if !cut {
		return c.Runtime.Logs(ctx, id, since, follow, sink)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	err := c.Runtime.Logs(cctx, id, since, true, sinkFunc(func(ts time.Time, stream string, line []byte, partial bool) error {
		if n++; n == 3 {
			cancel()
		}
		return sink.WriteLine(ts, stream, line, partial)
	}))
	if ctx.Err() == nil && cctx.Err() != nil {
		return errors.New("log stream: unexpected EOF (cut by the test)")
	}
	return err
}

// TestPod_LogResumesAfterCutFollow: the log follow of a running container
// is cut three times; capture resumes from the last line each time and
// catches up after the exit, so the log file has every line exactly once
// (issue #10 item 9a).
func TestPod_LogResumesAfterCutFollow(t *testing.T) {
	e := newPodEnvOver(t, func(rt *docker.Runtime) runner.Runtime { return &cutFollow{Runtime: rt, cuts: 3} })
	p := e.run(e.pod(`apiVersion: v1
kind: Pod
metadata: {name: chatty}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: %[1]s
    command: [sh, -c, 'for i in $(seq 1 40); do echo line $i; usleep 20000; done']
`))
	var b bytes.Buffer
	if err := state.ReadLog(e.db.LogPath(p.Namespace, p.Name, p.UID, "main", 0), &b, state.ReadOptions{Tail: -1}); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	if b.String() != want.String() {
		t.Errorf("log:\n%s\nwant lines 1…40 once each", b.String())
	}
}
