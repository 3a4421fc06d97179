package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/moby/moby/client"
)

// runOverhead: one attempt's wall time, `localjobs run -f` of a pod running
// `true` (with no daemon, and through a running daemon) next to `docker run
// --rm` of the same image, e.n times each, interleaved.
func runOverhead(ctx context.Context, e *env) ([]result, error) {
	pod := filepath.Join(e.tmp, "true.yaml")
	if err := os.WriteFile(pod, []byte(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: bench-true
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: %s
    imagePullPolicy: IfNotPresent
    command: ["true"]
`, e.image)), 0o644); err != nil {
		return nil, err
	}
	alone := filepath.Join(e.tmp, "state-alone")
	withDaemon := filepath.Join(e.tmp, "state-daemon")
	empty := filepath.Join(e.tmp, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return nil, err
	}
	up, err := startDaemon(ctx, e, withDaemon, empty)
	if err != nil {
		return nil, err
	}
	defer removeContainers(e, alone)
	defer removeContainers(e, withDaemon)
	defer up.stop()

	api, err := client.New(client.FromEnv)
	if err != nil {
		return nil, err
	}
	defer api.Close()
	// timed returns a command's wall time and the part of it outside the
	// engine's own work on its container (engineSpan).
	timed := func(name string, args ...string) (wall, outside time.Duration, err error) {
		t0 := time.Now()
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			return 0, 0, fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
		}
		wall = time.Since(t0)
		engine, err := engineSpan(ctx, api, t0, time.Now())
		if err != nil {
			return 0, 0, err
		}
		return wall, wall - engine, nil
	}
	var lj, ljd, dr, ljOut, ljdOut, drOut []time.Duration
	// One warm-up of each, not counted.
	for i := -1; i < e.n; i++ {
		a, aOut, err := timed(e.bin, "--state-dir", alone, "run", "-f", pod)
		if err != nil {
			return nil, err
		}
		b, bOut, err := timed(e.bin, "--state-dir", withDaemon, "run", "-f", pod)
		if err != nil {
			return nil, err
		}
		c, cOut, err := timed("docker", "run", "--rm", e.image, "true")
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			lj, ljd, dr = append(lj, a), append(ljd, b), append(dr, c)
			ljOut, ljdOut, drOut = append(ljOut, aOut), append(ljdOut, bOut), append(drOut, cOut)
		}
	}
	anchor, anchorOut := pct(dr, 50), pct(drOut, 50)
	return []result{
		{fmt.Sprintf("`run -f` of a `true` pod, no daemon (p50 of %d)", e.n), ms(pct(lj, 50)), "`docker run --rm` " + ms(anchor), ratio(pct(lj, 50), anchor), "≤ 0.90"},
		{"  of which outside the engine's events (before create, after the last)", ms(pct(ljOut, 50)), "`docker run --rm` " + ms(anchorOut), ratio(pct(ljOut, 50), anchorOut), "the part localjobs controls"},
		{fmt.Sprintf("the same through a running daemon (p50 of %d)", e.n), ms(pct(ljd, 50)), "`docker run --rm` " + ms(anchor), ratio(pct(ljd, 50), anchor), "≤ 0.90"},
		{"  of which outside the engine's events (before create, after the last)", ms(pct(ljdOut, 50)), "`docker run --rm` " + ms(anchorOut), ratio(pct(ljdOut, 50), anchorOut), "the part localjobs controls"},
	}, nil
}

// engineSpan is the time from the first container create event to the
// last container event the engine logged between since and until: the
// engine's work on the container that the command waited for (docker run
// --rm and a daemonless run -f wait for the destroy; run -f through a
// daemon returns once the exit is recorded, and the daemon removes the
// container after).
func engineSpan(ctx context.Context, api *client.Client, since, until time.Time) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res := api.Events(ctx, client.EventsListOptions{
		Since:   fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Until:   fmt.Sprintf("%d.%09d", until.Unix(), until.Nanosecond()),
		Filters: make(client.Filters).Add("type", "container"),
	})
	var first, last time.Time
	for {
		select {
		case m := <-res.Messages:
			at := time.Unix(0, m.TimeNano)
			if m.Action == "create" && first.IsZero() {
				first = at
			}
			if !first.IsZero() {
				last = at
			}
		case err := <-res.Err:
			if !errors.Is(err, io.EOF) {
				return 0, fmt.Errorf("engine events: %w", err)
			}
			if first.IsZero() {
				return 0, fmt.Errorf("engine events: no container created between %v and %v", since, until)
			}
			return last.Sub(first), nil
		}
	}
}
