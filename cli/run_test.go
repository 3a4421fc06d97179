package cli

import (
	"bytes"
	"context"
	"fmt"
	"github.com/localjobs/localjobs/daemon"
	"strings"
	"testing"
	"time"

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
