package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// TestRunTimeoutStopsJob: run --timeout on a Job that keeps failing exits
// 124 once the current pod has stopped, and the Job creates no pod after
// the timeout, so nothing is left running.
func TestRunTimeoutStopsJob(t *testing.T) {
	rt := runnertest.NewRuntime("busybox")
	rt.Script = func(runner.ContainerSpec) runnertest.Behavior {
		return runnertest.Behavior{RunFor: 3 * time.Second, ExitCode: 1}
	}
	f := writeFile(t, t.TempDir(), "job.yaml", `apiVersion: batch/v1
kind: Job
metadata:
  name: flaky
spec:
  backoffLimit: 6
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: busybox
`)
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stateDir: shortTempDir(t), starter: daemon.Starter{Version: Version, Runtime: rt}}
	t0 := time.Now()
	code := e.report(e.run(context.Background(), []string{"-f", f, "--timeout", "5s"}))
	took := time.Since(t0)
	t.Logf("exit %d after %v\n%s%s", code, took, out.String(), errb.String())
	if code != exitTimeout {
		t.Fatalf("exit %d, want 124", code)
	}
	if took > 20*time.Second { // 5 s + the 2 s grace, with room for a loaded machine
		t.Errorf("run took %v after a 5s timeout, want it back after the 2s grace period", took)
	}
	if n := len(rt.Running()); n != 0 {
		t.Errorf("%d containers still running after run returned", n)
	}
	if created := len(rt.Created); created > 2 {
		t.Errorf("%d pods created, want at most 2 (nothing after the timeout)", created)
	}
	if !strings.Contains(errb.String(), "timed out after 5s waiting for job/flaky") {
		t.Errorf("stderr does not name the job: %s", errb.String())
	}
}

// TestRunRefusesBeforeRunning: a refused object in a folder means nothing
// runs at all.
func TestRunRefusesBeforeRunning(t *testing.T) {
	rt := runnertest.NewRuntime("busybox")
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", seedYAML("busybox", "true"))
	writeFile(t, dir, "b.yaml", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: root
spec:
  restartPolicy: Never
  hostNetwork: true
  containers:
  - name: main
    image: %s
`, "busybox"))
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stateDir: shortTempDir(t), starter: daemon.Starter{Version: Version, Runtime: rt}}
	code := e.report(e.run(context.Background(), []string{"-f", dir}))
	if code != exitFailed || !strings.Contains(errb.String(), "--pod-security=privileged") || !strings.Contains(errb.String(), "nothing was run") {
		t.Errorf("exit %d, stderr %q; want 1 naming the flag", code, errb.String())
	}
	if len(rt.Created) != 0 {
		t.Errorf("%d containers created, want none", len(rt.Created))
	}
}

// TestRunDaemonLog: the daemon's own log goes to stderr through log/slog;
// --log-format json gives one JSON object a line, --log-level picks what
// is shown (run's default, warn, keeps the start and stop lines out), and
// a bad value is a usage error.
func TestRunDaemonLog(t *testing.T) {
	f := writeFile(t, t.TempDir(), "pod.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
`)
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		e := &env{stdout: &out, stderr: &errb, stateDir: shortTempDir(t), starter: daemon.Starter{Version: Version, Runtime: runnertest.NewRuntime("busybox")}}
		return e.report(e.run(context.Background(), append([]string{"-f", f}, args...))), errb.String()
	}
	code, stderr := run("--log-level=info", "--log-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var started, stopped bool
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q: %v", line, err)
		}
		switch rec["msg"] {
		case "daemon started":
			started = rec["level"] == "INFO" && rec["socket"] != nil
		case "daemon stopped":
			stopped = rec["containersLeftRunning"] == float64(0)
		}
	}
	if !started || !stopped {
		t.Errorf("want JSON lines for the daemon's start and stop (started %v, stopped %v):\n%s", started, stopped, stderr)
	}
	if code, stderr := run(); code != 0 || strings.Contains(stderr, "daemon started") {
		t.Errorf("run's default level (warn) shows info lines, or failed (exit %d):\n%s", code, stderr)
	}
	if code, stderr := run("--log-level=loud"); code != exitUsage || !strings.Contains(stderr, "--log-level=loud: want debug, info, warn or error") {
		t.Errorf("bad --log-level: exit %d, stderr %q", code, stderr)
	}
	if code, stderr := run("--log-format=xml"); code != exitUsage || !strings.Contains(stderr, "--log-format=xml: want text or json") {
		t.Errorf("bad --log-format: exit %d, stderr %q", code, stderr)
	}
}
