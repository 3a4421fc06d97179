package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// These tests run the real CLI against the real Docker engine, with images
// built locally from busybox-static.

type cliResult struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stateDir string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	// A bound for a run that would never end: the cancel stops it as a
	// signal would (exit 130), and the test sees that exit.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := Main(ctx, append([]string{"--state-dir", stateDir}, args...), &out, &errb, daemon.Starter{Version: Version})
	if ctx.Err() != nil {
		t.Errorf("localjobs %s was still running after 3 minutes; cancelled", strings.Join(args, " "))
	}
	t.Logf("localjobs %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	return cliResult{code, out.String(), errb.String()}
}

// runJSON runs `run -f file -o json` in state dir st and fails the test
// unless it exits with code.
func runJSON(t *testing.T, st, file string, code int) cliResult {
	t.Helper()
	r := runCLI(t, st, "run", "-f", file, "-o", "json")
	if r.code != code {
		t.Fatalf("exit %d, want %d", r.code, code)
	}
	return r
}

// realManifest starts a test against the real engine: it needs Docker,
// runs in parallel with the others, and writes manifest (with %s for the
// busybox image) to a file called name; st is a fresh state dir.
func realManifest(t *testing.T, name, manifest string) (st, file string) {
	t.Helper()
	dockertest.RequireDocker(t)
	t.Parallel()
	image := dockertest.Busybox(t)
	st = t.TempDir()
	return st, writeFile(t, t.TempDir(), name, fmt.Sprintf(manifest, image))
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const seedPod = `apiVersion: v1
kind: Pod
metadata:
  name: simple-task
  labels:
    app: simple-task
spec:
  containers:
    - name: echo-task
      image: %s
      command:
%s
  restartPolicy: Never
`

func seedYAML(image string, cmd ...string) string {
	var b strings.Builder
	for _, c := range cmd {
		fmt.Fprintf(&b, "        - %q\n", c)
	}
	return fmt.Sprintf(seedPod, image, strings.TrimRight(b.String(), "\n"))
}

func podFromJSON(t *testing.T, s string) *manifest.Pod {
	t.Helper()
	var p manifest.Pod
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatalf("decode -o json output: %v\n%s", err, s)
	}
	return &p
}

// TestSeedPods runs the seed article's three simple-task Pods one after
// another, as its story does.
func TestSeedPods(t *testing.T) {
	dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	dir, st := t.TempDir(), t.TempDir()

	t.Run("echo", func(t *testing.T) {
		f := writeFile(t, dir, "echo.yaml", seedYAML(image, "echo", "network-task"))
		r := runCLI(t, st, "run", "-f", f)
		if r.code != 0 {
			t.Fatalf("exit %d, want 0", r.code)
		}
		var statuses []string
		for _, l := range strings.Split(r.stdout, "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "simple-task" {
				statuses = append(statuses, f[2])
			}
		}
		for _, want := range []string{"Pending", "ContainerCreating", "Completed"} {
			if !slices.Contains(statuses, want) {
				t.Errorf("statuses %v lack %s", statuses, want)
			}
		}
		if statuses[len(statuses)-1] != "Completed" {
			t.Errorf("last status %s, want Completed", statuses[len(statuses)-1])
		}
		if !strings.Contains(r.stdout, "simple-task | network-task") {
			t.Errorf("run output lacks the container's line")
		}
		if l := runCLI(t, st, "logs", "simple-task"); l.stdout != "network-task\n" {
			t.Errorf("logs = %q, want network-task", l.stdout)
		}
		j := runCLI(t, st, "get", "pod", "simple-task", "-o", "json")
		term := podFromJSON(t, j.stdout).Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.Reason != "Completed" || term.ExitCode != 0 {
			t.Errorf("terminated = %+v, want Completed/0", term)
		}
	})

	t.Run("ecoh", func(t *testing.T) {
		f := writeFile(t, dir, "ecoh.yaml", seedYAML(image, "ecoh", "network-task"))
		r := runJSON(t, st, f, 1)
		term := podFromJSON(t, r.stdout).Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.Reason != "ContainerCannotRun" || term.ExitCode == 0 {
			t.Fatalf("terminated = %+v, want ContainerCannotRun", term)
		}
		if !strings.Contains(term.Message, `"ecoh": executable file not found in $PATH`) {
			t.Errorf("message %q lacks Docker's exec error", term.Message)
		}
		d := runCLI(t, st, "describe", "pod", "simple-task")
		found := false
		for _, l := range strings.Split(d.stdout, "\n") {
			f := strings.Fields(l)
			if len(f) > 2 && f[0] == "Warning" && f[1] == "Failed" && strings.Contains(l, `exec: "ecoh": executable file not found`) {
				found = true
			}
		}
		if !found {
			t.Errorf("describe lacks a Warning Failed event with the exec error:\n%s", d.stdout)
		}
		if !strings.Contains(d.stdout, "ContainerCannotRun") {
			t.Errorf("describe lacks the ContainerCannotRun state")
		}
	})

	t.Run("exit1", func(t *testing.T) {
		f := writeFile(t, dir, "exit1.yaml", seedYAML(image, "sh", "-c", "echo network-task; echo second line; exit 1"))
		r := runJSON(t, st, f, 1)
		term := podFromJSON(t, r.stdout).Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.Reason != "Error" || term.ExitCode != 1 {
			t.Fatalf("terminated = %+v, want Error/1", term)
		}
		if l := runCLI(t, st, "logs", "simple-task"); l.stdout != "network-task\nsecond line\n" {
			t.Errorf("logs = %q, want both lines", l.stdout)
		}
		if g := runCLI(t, st, "get", "pods"); !strings.Contains(g.stdout, "Error") {
			t.Errorf("get pods lacks Error")
		}
	})
}

func TestOOMKilled(t *testing.T) {
	st, f := realManifest(t, "oom.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: hog
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: %s
    command: ["sh", "-c", "a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done"]
    resources:
      limits:
        memory: 16Mi
`)
	r := runJSON(t, st, f, 1)
	term := podFromJSON(t, r.stdout).Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.Reason != "OOMKilled" {
		t.Fatalf("terminated = %+v, want OOMKilled", term)
	}
}

// TestJobBackoffReal checks the Job back-off against real containers: 3
// pods, each started ≥ 10 s then ≥ 20 s after the previous one finished (and
// less than 2 s later than that), ending Failed / BackoffLimitExceeded.
func TestJobBackoffReal(t *testing.T) {
	st, f := realManifest(t, "job.yaml", `apiVersion: batch/v1
kind: Job
metadata:
  name: fails
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: task
        image: %s
        command: ["sh", "-c", "exit 1"]
`)
	r := runJSON(t, st, f, 1)
	job := jobFromJSON(t, r.stdout)
	if conds, want := jobConds(job), []string{"FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded"}; !slices.Equal(conds, want) {
		t.Errorf("conditions %v, want %v", conds, want)
	}
	pods := jobPods(t, st, job)
	if len(pods) != 3 {
		t.Fatalf("%d pods, want exactly 3", len(pods))
	}
	slices.SortFunc(pods, func(a, b *runner.PodRecord) int {
		return a.Containers[0].Current.StartedAt.Compare(b.Containers[0].Current.StartedAt)
	})
	for i, want := range []time.Duration{10 * time.Second, 20 * time.Second} {
		prev, next := pods[i].Containers[0].Current, pods[i+1].Containers[0].Current
		gap := next.StartedAt.Sub(prev.FinishedAt)
		t.Logf("pod %d started %v after pod %d finished", i+2, gap, i+1)
		// Never before the back-off; the upper bound leaves a loaded
		// machine room and still tells 10 s from the next step, 20 s.
		if gap < want || gap >= want+8*time.Second {
			t.Errorf("pod %d started %v after pod %d finished, want [%v, %v)", i+2, gap, i+1, want, want+8*time.Second)
		}
	}
}

// TestMissingImage: ErrImagePull then ImagePullBackOff; --timeout exits 124
// naming the image. --wait-for-image, because with a registry in reach the
// engine says the image does not exist and run would give up (exit 1)
// after two pulls; offline it says the registry cannot be reached, which
// never counts. The give-up is tested with the fake runtime (run.txtar).
func TestMissingImage(t *testing.T) {
	dockertest.RequireDocker(t)
	t.Parallel()
	image := dockertest.MissingImage()
	f := writeFile(t, t.TempDir(), "missing.yaml", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: nope
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: %s
`, image))
	r := runCLI(t, t.TempDir(), "run", "-f", f, "--timeout", "30s", "--wait-for-image")
	if r.code != 124 {
		t.Fatalf("exit %d, want 124", r.code)
	}
	i, j := strings.Index(r.stdout, "ErrImagePull"), strings.Index(r.stdout, "ImagePullBackOff")
	if i < 0 || j < 0 || j < i {
		t.Errorf("want ErrImagePull then ImagePullBackOff in the watch output")
	}
	if !strings.Contains(r.stderr, image) || !strings.Contains(r.stderr, "timed out after 30s") {
		t.Errorf("stderr %q does not name the image and the timeout", r.stderr)
	}
	if n := strings.Count(r.stderr, "Failed to pull image"); n != 1 {
		t.Errorf("the pull error printed %d times, want once:\n%s", n, r.stderr)
	}
}
