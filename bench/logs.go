package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// logBytes is how much the log row's container writes to stdout.
const logBytes = 200 << 20

// logCapture: a container writes 200 MB to stdout. localjobs: from `apply`
// until the pod is recorded finished (its output captured whole), then
// `logs` reading it all; the anchor: `docker run` of the same container,
// then `docker logs` reading it all. And the daemon's RSS growth.
func logCapture(ctx context.Context, e *env) ([]result, error) {
	script := fmt.Sprintf("yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -c %d", logBytes)
	pod := filepath.Join(e.tmp, "chatty.yaml")
	if err := os.WriteFile(pod, []byte(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: chatty
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: %s
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", %q]
`, e.image, script)), 0o644); err != nil {
		return nil, err
	}
	empty := filepath.Join(e.tmp, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return nil, err
	}
	stateDir := filepath.Join(e.tmp, "state-logs")
	up, err := startDaemon(ctx, e, stateDir, empty)
	if err != nil {
		return nil, err
	}
	defer removeContainers(e, stateDir)
	defer up.stop()
	_, rss0, _, err := idle(ctx, up, time.Second)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if out, err := commandContext(ctx, e.bin, "--state-dir", stateDir, "apply", "-f", pod).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("apply: %v\n%s", err, out)
	}
	if out, err := commandContext(ctx, e.bin, "--state-dir", stateDir, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/chatty", "--timeout", "5m").CombinedOutput(); err != nil {
		// Older CLIs without pod wait: poll the phase.
		if err := waitPhase(ctx, e, stateDir, "chatty", "Succeeded"); err != nil {
			return nil, fmt.Errorf("wait: %v (%s)", err, out)
		}
	}
	captured := time.Since(t0)
	_, rss1, _, err := idle(ctx, up, time.Second)
	if err != nil {
		return nil, err
	}
	n, read, err := countOutput(ctx, exec.CommandContext(ctx, e.bin, "--state-dir", stateDir, "logs", "chatty"))
	if err != nil {
		return nil, err
	}
	lj := captured + read
	// The log file keeps its head and tail within its cap (10 MiB by
	// default, DESIGN §5), so logs gives that much of the 200 MB, with a
	// marker where the middle was dropped.
	e.log("logs: localjobs captured in %v, logs read %d bytes (the capped file) in %v", captured.Round(time.Millisecond), n, read.Round(time.Millisecond))
	if n == 0 {
		return nil, fmt.Errorf("localjobs logs gave nothing")
	}

	name := fmt.Sprintf("lj-bench-logs-%d", os.Getpid())
	t0 = time.Now()
	if out, err := commandContext(ctx, "docker", "run", "--name", name, "--label", "io.localjobs.bench=true", e.image, "sh", "-c", script).Output(); err != nil {
		return nil, fmt.Errorf("docker run: %v", err)
	} else {
		_ = out
	}
	ran := time.Since(t0)
	defer commandContext(context.WithoutCancel(ctx), "docker", "rm", "-f", name).Run()
	dn, dread, err := countOutput(ctx, exec.CommandContext(ctx, "docker", "logs", name))
	if err != nil {
		return nil, err
	}
	anchor := ran + dread
	e.log("logs: docker run %v, docker logs read %d bytes in %v", ran.Round(time.Millisecond), dn, dread.Round(time.Millisecond))
	return []result{
		{fmt.Sprintf("container writing %d MB to stdout: start → `logs` has it (%.1f MB kept: head and tail)", logBytes>>20, float64(n)/(1<<20)), secs(lj),
			fmt.Sprintf("`docker run` + `docker logs` %s", secs(anchor)), ratio(lj, anchor), "—"},
		{"the same: daemon RSS growth", fmt.Sprintf("%.1f MB", rss1-rss0), "—", "—", "bounded"},
	}, nil
}

// countOutput runs cmd and counts its stdout bytes.
func countOutput(ctx context.Context, cmd *exec.Cmd) (int64, time.Duration, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	n, _ := io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return n, 0, fmt.Errorf("%v: %w", cmd.Args, err)
	}
	return n, time.Since(t0), nil
}

// waitPhase polls a pod's phase (bounded: five minutes).
func waitPhase(ctx context.Context, e *env, stateDir, pod, phase string) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		out, _ := commandContext(ctx, e.bin, "--state-dir", stateDir, "get", "pod", pod, "-o", "jsonpath={.status.phase}").Output()
		if string(out) == phase {
			return nil
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("pod %s not %s within 5 minutes", pod, phase)
}
