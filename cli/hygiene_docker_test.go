package cli

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
	"github.com/localjobs/localjobs/state"
)

const threeCompletions = `apiVersion: batch/v1
kind: Job
metadata:
  name: three
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: task
        image: %s
        command: ["sh", "-c", "echo done"]
`

// instanceContainers lists the engine's containers (any state) of the
// localjobs instance of stateDir, as docker ps -a --filter
// label=io.localjobs.instance=… does.
func instanceContainers(t *testing.T, stateDir string) []string {
	t.Helper()
	db, err := state.Open(stateDir, state.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	inst := db.InstanceID()
	db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dockertest.RemoveContainers(ctx, map[string]string{runner.LabelInstance: inst})
	})
	infos, err := dockertest.RequireDocker(t).List(ctx, map[string]string{runner.LabelInstance: inst})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range infos {
		out = append(out, fmt.Sprintf("%s (%s)", i.Name, i.Status))
	}
	return out
}

// TestRunRemovesExitedContainersReal: after `run -f` of a Job with three
// completions the engine has none of its containers (issue #10 item 10),
// and the logs are still there; with --keep-exited all three remain.
func TestRunRemovesExitedContainersReal(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		st, f := realManifest(t, "three.yaml", threeCompletions)
		runJSON(t, st, f, 0)
		if got := instanceContainers(t, st); len(got) != 0 {
			t.Errorf("engine has %v after the run, want none of ours", got)
		}
		if r := runCLI(t, st, "logs", "job/three"); r.code != 0 || r.stdout != "done\n" {
			t.Errorf("logs job/three: exit %d, %q; want done", r.code, r.stdout)
		}
	})
	t.Run("keep-exited", func(t *testing.T) {
		st, f := realManifest(t, "three.yaml", threeCompletions)
		if r := runCLI(t, st, "run", "--keep-exited", "-f", f); r.code != 0 {
			t.Fatalf("exit %d", r.code)
		}
		if got := instanceContainers(t, st); len(got) != 3 {
			t.Errorf("engine has %v after the run, want the 3 exited containers", got)
		}
	})
}
