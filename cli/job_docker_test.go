package cli

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/state"
)

// Real-Docker Job tests: the Kubernetes documentation's Job examples with a
// locally built busybox image standing in for the public ones.

func jobFromJSON(t *testing.T, s string) *manifest.Job {
	t.Helper()
	var j manifest.Job
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		t.Fatalf("decode -o json output: %v\n%s", err, s)
	}
	return &j
}

func jobConds(j *manifest.Job) []string {
	var out []string
	for _, c := range j.Status.Conditions {
		out = append(out, c.Type+"/"+c.Reason)
	}
	return out
}

// jobPods reads the pods of a finished job from the state dir.
func jobPods(t *testing.T, stateDir string, j *manifest.Job) []*runner.PodRecord {
	t.Helper()
	db, err := state.Open(stateDir, state.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pods, err := db.PodsOfJob(context.Background(), j.UID)
	if err != nil {
		t.Fatal(err)
	}
	return pods
}

// TestJobPodFailurePolicyFailJobReal: exit 42 matches a FailJob rule; the
// Job fails at once with Kubernetes' message and no retry.
func TestJobPodFailurePolicyFailJobReal(t *testing.T) {
	st, f := realManifest(t, "job-pod-failure-policy-failjob.yaml", `apiVersion: batch/v1
kind: Job
metadata:
  name: job-pod-failure-policy-failjob
spec:
  completions: 8
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: %s
        command: ["sh", "-c", "echo 'Hello world!' && sleep 2 && exit 42"]
  backoffLimit: 6
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes:
        containerName: main
        operator: In
        values: [42]
`)
	r := runJSON(t, st, f, 1)
	j := jobFromJSON(t, r.stdout)
	if got, want := jobConds(j), []string{"FailureTarget/PodFailurePolicy", "Failed/PodFailurePolicy"}; !slices.Equal(got, want) {
		t.Errorf("conditions %v, want %v", got, want)
	}
	msgRE := regexp.MustCompile(`^Container main for pod default/job-pod-failure-policy-failjob-[bcdfghjklmnpqrstvwxz2456789]{5} failed with exit code 42 matching FailJob rule at index 0$`)
	for _, c := range j.Status.Conditions {
		if !msgRE.MatchString(c.Message) {
			t.Errorf("%s message %q", c.Type, c.Message)
		}
	}
	// The two pods of the first round ran; nothing was retried.
	pods := jobPods(t, st, j)
	if len(pods) != 2 || j.Status.Failed != 2 || j.Status.Succeeded != 0 || j.Status.Active != 0 {
		t.Errorf("%d pods, status %+v; want the 2 parallel pods, both failed, no retry", len(pods), j.Status)
	}
}

// TestJobBackoffLimitPerIndexReal is job-backoff-limit-per-index-example.yaml:
// even indexes fail twice, odd ones succeed; the Job ends FailedIndexes.
func TestJobBackoffLimitPerIndexReal(t *testing.T) {
	st, f := realManifest(t, "job-backoff-limit-per-index-example.yaml", `apiVersion: batch/v1
kind: Job
metadata:
  name: job-backoff-limit-per-index-example
spec:
  completions: 10
  parallelism: 3
  completionMode: Indexed  # required for the feature
  backoffLimitPerIndex: 1  # maximal number of failures per index
  maxFailedIndexes: 5      # maximal number of failed indexes before terminating the Job execution
  template:
    spec:
      restartPolicy: Never # required for the feature
      containers:
      - name: example
        image: %s
        command:
        - sh
        - -c
        - |
          echo "Hello world"
          if [ $((JOB_COMPLETION_INDEX %% 2)) -eq 0 ]; then exit 1; fi
`)
	r := runJSON(t, st, f, 1)
	j := jobFromJSON(t, r.stdout)
	if got, want := jobConds(j), []string{"FailureTarget/FailedIndexes", "Failed/FailedIndexes"}; !slices.Equal(got, want) {
		t.Errorf("conditions %v, want %v", got, want)
	}
	if j.Status.FailedIndexes == nil || *j.Status.FailedIndexes != "0,2,4,6,8" || j.Status.CompletedIndexes != "1,3,5,7,9" ||
		j.Status.Succeeded != 5 || j.Status.Failed != 10 {
		t.Errorf("status %+v; want failedIndexes 0,2,4,6,8, completedIndexes 1,3,5,7,9, succeeded 5, failed 10", j.Status)
	}
	if n := len(jobPods(t, st, j)); n != 15 {
		t.Errorf("%d pods, want 15 (odd indexes once, even twice)", n)
	}
}

// TestIndexedJobReal has the shape of indexed-job.yaml: an init container
// writes the index's item to an emptyDir, the worker prints it reversed.
func TestIndexedJobReal(t *testing.T) {
	st, f := realManifest(t, "indexed-job.yaml", `apiVersion: batch/v1
kind: Job
metadata:
  name: 'indexed-job'
spec:
  completions: 5
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      initContainers:
      - name: 'input'
        image: '%[1]s'
        command:
        - "sh"
        - "-c"
        - |
          set -- foo bar baz qux xyz
          shift $JOB_COMPLETION_INDEX
          echo $1 > /input/data.txt
        volumeMounts:
        - mountPath: /input
          name: input
      containers:
      - name: 'worker'
        image: '%[1]s'
        command:  # the test image links no rev applet into /bin
        - "busybox"
        - "rev"
        - "/input/data.txt"
        volumeMounts:
        - mountPath: /input
          name: input
      volumes:
      - name: input
        emptyDir: {}
`)
	r := runJSON(t, st, f, 0)
	j := jobFromJSON(t, r.stdout)
	if j.Status.CompletedIndexes != "0-4" || j.Status.Succeeded != 5 {
		t.Errorf("completedIndexes %q succeeded %d, want 0-4 and 5", j.Status.CompletedIndexes, j.Status.Succeeded)
	}
	want := map[string]string{"0": "oof", "1": "rab", "2": "zab", "3": "xuq", "4": "zyx"}
	pods := jobPods(t, st, j)
	if len(pods) != 5 {
		t.Fatalf("%d pods, want 5", len(pods))
	}
	for _, p := range pods {
		idx := p.Pod.Labels["batch.kubernetes.io/job-completion-index"]
		if !strings.HasPrefix(p.Pod.Name, "indexed-job-"+idx+"-") || p.Pod.Spec.Hostname != "indexed-job-"+idx {
			t.Errorf("pod %s (hostname %s) for index %s", p.Pod.Name, p.Pod.Spec.Hostname, idx)
		}
		l := runCLI(t, st, "logs", p.Pod.Name, "-c", "worker")
		if got := strings.TrimSpace(l.stdout); got != want[idx] {
			t.Errorf("index %s printed %q, want %q", idx, got, want[idx])
		}
	}
}

// TestJobActiveDeadlineReal: activeDeadlineSeconds 3 on a pod that ignores
// SIGTERM: FailureTarget / DeadlineExceeded at the deadline, SIGTERM then,
// SIGKILL after the grace period, Failed right after.
func TestJobActiveDeadlineReal(t *testing.T) {
	st, f := realManifest(t, "deadline.yaml", `apiVersion: batch/v1
kind: Job
metadata:
  name: deadline
spec:
  activeDeadlineSeconds: 3
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: %s
        command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]
`)
	r := runJSON(t, st, f, 1)
	j := jobFromJSON(t, r.stdout)
	if got, want := jobConds(j), []string{"FailureTarget/DeadlineExceeded", "Failed/DeadlineExceeded"}; !slices.Equal(got, want) {
		t.Fatalf("conditions %v, want %v", got, want)
	}
	if m := j.Status.Conditions[1].Message; m != "Job was active longer than specified deadline" {
		t.Errorf("message %q", m)
	}
	pods := jobPods(t, st, j)
	if len(pods) != 1 || j.Status.Failed != 1 {
		t.Fatalf("%d pods, failed %d; want the one pod kept and counted", len(pods), j.Status.Failed)
	}
	p := pods[0]
	run := p.Containers[0].Current
	// startTime has whole seconds, as in Kubernetes; the deadline counts
	// from it.
	sigterm := p.TerminateAt.Sub(j.Status.StartTime.Time)
	killed := run.FinishedAt.Sub(p.TerminateAt)
	failed := j.Status.Conditions[1].LastTransitionTime.Sub(j.Status.StartTime.Time)
	t.Logf("SIGTERM %v after the Job's startTime; exit %v later; Job Failed %v after its start", sigterm, killed, failed)
	// Lower bounds are the semantics (never before the deadline, never
	// before the grace period); upper bounds only leave a loaded machine
	// room (the values are logged above).
	if sigterm < 3*time.Second || sigterm >= 8*time.Second {
		t.Errorf("SIGTERM %v after startTime, want at the 3 s deadline (≤ 5 s late on a loaded machine)", sigterm)
	}
	if killed < 2*time.Second || killed > 7*time.Second {
		t.Errorf("container ended %v after SIGTERM, want the 2 s grace period (≤ 5 s more on a loaded machine)", killed)
	}
	if failed > 20*time.Second {
		t.Errorf("Failed %v after start, want deadline + grace + rounding (≤ 20 s)", failed)
	}
	if term := p.Pod.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 137 {
		t.Errorf("terminated %+v, want exit 137 (SIGKILL after the grace period)", term)
	}
}
