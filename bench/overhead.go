package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
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

	timed := func(name string, args ...string) (time.Duration, error) {
		t0 := time.Now()
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
		}
		return time.Since(t0), nil
	}
	var lj, ljd, dr []time.Duration
	// One warm-up of each, not counted.
	for i := -1; i < e.n; i++ {
		a, err := timed(e.bin, "--state-dir", alone, "run", "-f", pod)
		if err != nil {
			return nil, err
		}
		b, err := timed(e.bin, "--state-dir", withDaemon, "run", "-f", pod)
		if err != nil {
			return nil, err
		}
		c, err := timed("docker", "run", "--rm", e.image, "true")
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			lj, ljd, dr = append(lj, a), append(ljd, b), append(dr, c)
		}
	}
	anchor := pct(dr, 50)
	return []result{
		{fmt.Sprintf("`run -f` of a `true` pod, no daemon (p50 of %d)", e.n), ms(pct(lj, 50)), "`docker run --rm` " + ms(anchor), ratio(pct(lj, 50), anchor), "≤ 0.90"},
		{fmt.Sprintf("the same through a running daemon (p50 of %d)", e.n), ms(pct(ljd, 50)), "`docker run --rm` " + ms(anchor), ratio(pct(ljd, 50), anchor), "≤ 0.90"},
	}, nil
}
