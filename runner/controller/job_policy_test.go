package controller_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// TestJobPodFailurePolicy runs the podFailurePolicy actions end to end.
func TestJobPodFailurePolicy(t *testing.T) {
	t.Run("FailJob", testPodFailurePolicyFailJob)
	t.Run("Ignore", testPodFailurePolicyIgnore)
	t.Run("Count", testPodFailurePolicyCount)
	t.Run("FailIndex", testPodFailurePolicyFailIndex)
	t.Run("IgnoreDisruptionTarget", testPodFailurePolicyIgnoreDisruptionTarget)
}

// pfpRule is a podFailurePolicy rule on the exit codes of container main.
func pfpRule(action string, codes ...int32) manifest.PodFailurePolicyRule {
	return manifest.PodFailurePolicyRule{Action: action, OnExitCodes: &manifest.PodFailurePolicyOnExitCodes{
		ContainerName: ptrTo("main"), Operator: "In", Values: codes}}
}

func testPodFailurePolicyFailJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: time.Second, ExitCode: 42}))
		j := h.apply(newJob("job-pod-failure-policy-failjob", func(s *manifest.JobSpec) {
			s.Completions, s.Parallelism = p32(8), p32(2)
			s.PodFailurePolicy = &manifest.PodFailurePolicy{Rules: []manifest.PodFailurePolicyRule{pfpRule("FailJob", 42)}}
		}))
		final := h.waitJob(j.Name, finished)
		pods := h.podsOf(j)
		msgRE := regexp.MustCompile(`^Container main for pod default/job-pod-failure-policy-failjob-[a-z0-9]{5} failed with exit code 42 matching FailJob rule at index 0$`)
		if got := condList(final); !slices.Equal(got, []string{"FailureTarget/PodFailurePolicy", "Failed/PodFailurePolicy"}) {
			t.Errorf("conditions = %v", got)
		}
		for _, c := range final.Status.Conditions {
			if !msgRE.MatchString(c.Message) {
				t.Errorf("%s message %q", c.Type, c.Message)
			}
		}
		if evs := h.jobEvents(final); !strings.HasPrefix(evs[len(evs)-1], "Warning PodFailurePolicy Container main for pod default/") {
			t.Errorf("events %q", evs)
		}
		if len(pods) != 2 || final.Status.Failed != 2 {
			t.Errorf("%d pods, failed %d; want the 2 parallel pods and no retry", len(pods), final.Status.Failed)
		}
	})
}

func testPodFailurePolicyIgnore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, inTurn(runnertest.Behavior{RunFor: time.Second, ExitCode: 3}, runnertest.Behavior{RunFor: time.Second}))
		h.apply(newJob("j", func(s *manifest.JobSpec) {
			s.BackoffLimit = p32(0)
			s.PodFailurePolicy = &manifest.PodFailurePolicy{Rules: []manifest.PodFailurePolicyRule{pfpRule("Ignore", 3)}}
		}))
		start := time.Now()
		final := h.finishedWith("j", "SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached")
		if final.Status.Failed != 0 || final.Status.Succeeded != 1 {
			t.Errorf("failed %d succeeded %d; the ignored failure must not count", final.Status.Failed, final.Status.Succeeded)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("finished after %v: an ignored failure needs no back-off", d)
		}
	})
}

func testPodFailurePolicyCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: time.Second, ExitCode: 5}))
		h.apply(newJob("j", func(s *manifest.JobSpec) {
			s.BackoffLimit = p32(1)
			s.PodFailurePolicy = &manifest.PodFailurePolicy{Rules: []manifest.PodFailurePolicyRule{pfpRule("FailJob", 42), pfpRule("Count", 5)}}
		}))
		final := h.finishedWith("j", "FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded")
		if final.Status.Failed != 2 {
			t.Errorf("failed %d, want 2", final.Status.Failed)
		}
	})
}

func testPodFailurePolicyFailIndex(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, byIndex(runnertest.Behavior{RunFor: time.Second}, runnertest.Behavior{RunFor: time.Second, ExitCode: 42}, "1"))
		h.apply(newJob("j", func(s *manifest.JobSpec) {
			indexedJob(s, 3, 3)
			s.BackoffLimitPerIndex = p32(6)
			s.PodFailurePolicy = &manifest.PodFailurePolicy{Rules: []manifest.PodFailurePolicyRule{pfpRule("FailIndex", 42)}}
		}))
		final := h.finishedWith("j", "FailureTarget/FailedIndexes", "Failed/FailedIndexes")
		if *final.Status.FailedIndexes != "1" || final.Status.CompletedIndexes != "0,2" || final.Status.Failed != 1 || len(h.rt.Created) != 3 {
			t.Errorf("failedIndexes %q completedIndexes %q failed %d pods %d; want no retry of index 1",
				*final.Status.FailedIndexes, final.Status.CompletedIndexes, final.Status.Failed, len(h.rt.Created))
		}
	})
}

func testPodFailurePolicyIgnoreDisruptionTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, inTurn(runnertest.Behavior{RunFor: time.Hour}, runnertest.Behavior{RunFor: time.Second}))
		j := h.apply(newJob("j", func(s *manifest.JobSpec) {
			s.BackoffLimit = p32(0)
			s.PodFailurePolicy = &manifest.PodFailurePolicy{Rules: []manifest.PodFailurePolicyRule{
				{Action: "Ignore", OnPodConditions: []manifest.PodFailurePolicyOnCondition{{Type: "DisruptionTarget", Status: "True"}}},
			}}
		}))
		h.waitJob("j", func(j *manifest.Job) bool { return j.Status.Active == 1 })
		name := h.podsOf(j)[0].Pod.Name
		h.ctrl.TerminatePod("default", name, "Interrupted", "localjobs run was interrupted")
		killed := h.waitPod(name, phaseIs(manifest.PodFailed))
		found := false
		for _, c := range killed.Pod.Status.Conditions {
			if c.Type == "DisruptionTarget" && c.Status == "True" {
				found = true
			}
		}
		if !found {
			t.Errorf("killed pod conditions %+v, want DisruptionTarget", killed.Pod.Status.Conditions)
		}
		final := h.finishedWith("j", "SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached")
		if final.Status.Failed != 0 {
			t.Errorf("failed %d, want 0", final.Status.Failed)
		}
	})
}

func TestJobSuccessPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, byIndex(runnertest.Behavior{RunFor: time.Hour}, runnertest.Behavior{RunFor: time.Second}, "0"))
		j := h.apply(newJob("j", func(s *manifest.JobSpec) {
			indexedJob(s, 3, 3)
			s.SuccessPolicy = &manifest.SuccessPolicy{Rules: []manifest.SuccessPolicyRule{{SucceededIndexes: ptrTo("0")}}}
		}))
		final := h.waitJob("j", finished)
		var got []string
		for _, c := range final.Status.Conditions {
			got = append(got, c.Type+"/"+c.Reason+": "+c.Message)
		}
		if want := []string{"SuccessCriteriaMet/SuccessPolicy: Matched rules at index 0", "Complete/SuccessPolicy: Matched rules at index 0"}; !slices.Equal(got, want) {
			t.Errorf("conditions = %q, want %q", got, want)
		}
		if final.Status.Succeeded != 1 || final.Status.Failed != 0 || final.Status.CompletedIndexes != "0" || final.Status.CompletionTime == nil {
			t.Errorf("status %+v", final.Status)
		}
		for _, p := range h.podsOf(j) {
			if !runner.IsTerminalPhase(p.Pod.Status.Phase) {
				t.Errorf("pod %s still %s", p.Pod.Name, p.Pod.Status.Phase)
			}
		}
	})
}

func TestJobActiveDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, runFor(time.Hour))
		start := time.Now()
		j := h.apply(newJob("j", func(s *manifest.JobSpec) { s.ActiveDeadlineSeconds = p64(5) }))
		ft := h.waitJob("j", func(j *manifest.Job) bool { return len(j.Status.Conditions) > 0 })
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("FailureTarget after %v, want 5s", d)
		}
		if c := ft.Status.Conditions[0]; c.Type != "FailureTarget" || c.Reason != "DeadlineExceeded" || c.Message != "Job was active longer than specified deadline" {
			t.Errorf("condition %+v", c)
		}
		final := h.finishedWith("j", "FailureTarget/DeadlineExceeded", "Failed/DeadlineExceeded")
		if final.Status.Failed != 1 {
			t.Errorf("failed %d, want 1", final.Status.Failed)
		}
		pods := h.podsOf(j)
		if len(pods) != 1 || pods[0].Pod.Status.Phase != manifest.PodFailed {
			t.Fatalf("pods %d, want the stopped pod kept as Failed", len(pods))
		}
		if term := pods[0].Pod.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 143 {
			t.Errorf("terminated %+v, want exit 143 (SIGTERM)", term)
		}
		if evs := h.jobEvents(final); evs[len(evs)-1] != "Warning DeadlineExceeded Job was active longer than specified deadline" {
			t.Errorf("events %q", evs)
		}
	})
}

func TestPodActiveDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: time.Hour, IgnoreTerm: true}))
		p := pod("dl", "busybox", "Never")
		p.Spec.ActiveDeadlineSeconds = p64(3)
		p.Spec.TerminationGracePeriodSeconds = p64(4)
		start := time.Now()
		if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("dl", phaseIs(manifest.PodFailed))
		if d := time.Since(start); d != 7*time.Second {
			t.Errorf("Failed after %v, want 7s (deadline 3 s + grace 4 s)", d)
		}
		if r.Pod.Status.Reason != "DeadlineExceeded" || r.Pod.Status.Message != "Pod was active on the node longer than the specified deadline" {
			t.Errorf("reason %q message %q", r.Pod.Status.Reason, r.Pod.Status.Message)
		}
		if !r.TerminateAt.Equal(start.Add(3 * time.Second)) {
			t.Errorf("stop requested at %v, want at the 3 s deadline", r.TerminateAt.Sub(start))
		}
		for _, c := range r.Pod.Status.Conditions {
			if c.Type == "DisruptionTarget" {
				t.Errorf("deadline pod has %+v; the kubelet's deadline is no disruption", c)
			}
		}
		evs, _ := h.store.Events(context.Background(), "", r.Pod.UID)
		var deadline []*manifest.Event
		for _, e := range evs {
			if e.Reason == "DeadlineExceeded" {
				deadline = append(deadline, e)
			}
		}
		// The kubelet records it as a Normal event on the pod
		// (pkg/kubelet/active_deadline.go), once here.
		if len(deadline) != 1 || deadline[0].Type != "Normal" || deadline[0].InvolvedObject.FieldPath != "" ||
			deadline[0].Message != "Pod was active on the node longer than the specified deadline" ||
			!deadline[0].EventTime.Equal(start.Add(3*time.Second)) {
			t.Errorf("DeadlineExceeded events %+v; want one Normal event on the pod at the 3 s deadline", deadline)
		}
	})
}

func TestJobSuspendResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, runFor(10*time.Second))
		j := h.apply(newJob("j", func(s *manifest.JobSpec) {
			s.Completions, s.Parallelism = p32(2), p32(2)
			s.ActiveDeadlineSeconds = p64(15)
		}))
		h.waitJob("j", func(j *manifest.Job) bool { return j.Status.Active == 2 })
		time.Sleep(5 * time.Second) // fake time: the pods are half-way
		upd := cloneJob(j)
		upd.Spec.Suspend = ptrTo(true)
		if err := h.ctrl.UpdateJob(context.Background(), upd); err != nil {
			t.Fatal(err)
		}
		susp := h.waitJob("j", func(j *manifest.Job) bool {
			return j.Status.Active == 0 && j.Status.Terminating != nil && *j.Status.Terminating == 0 && len(j.Status.Conditions) > 0
		})
		if got := condList(susp); !slices.Equal(got, []string{"Suspended/JobSuspended"}) || susp.Status.Failed != 0 || susp.Status.Succeeded != 0 {
			t.Errorf("suspended: conditions %v failed %d succeeded %d", got, susp.Status.Failed, susp.Status.Succeeded)
		}
		// While suspended the deadline does not run.
		time.Sleep(time.Minute)
		if j2, _ := h.store.Job(context.Background(), "default", "j"); len(j2.Status.Conditions) != 1 || len(h.rt.Created) != 2 {
			t.Errorf("while suspended: conditions %v, %d pods created", condList(j2), len(h.rt.Created))
		}
		resumeAt := time.Now()
		upd.Spec.Suspend = ptrTo(false)
		if err := h.ctrl.UpdateJob(context.Background(), upd); err != nil {
			t.Fatal(err)
		}
		final := h.finishedWith("j", "Suspended/JobResumed", "SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached")
		if final.Status.Conditions[0].Status != "False" || !final.Status.StartTime.Equal(resumeAt.Truncate(time.Second)) && !final.Status.StartTime.Equal(resumeAt) {
			t.Errorf("Suspended %s, startTime %v want %v", final.Status.Conditions[0].Status, final.Status.StartTime, resumeAt)
		}
		if final.Status.Succeeded != 2 || final.Status.Failed != 0 || len(h.rt.Created) != 4 {
			t.Errorf("succeeded %d failed %d pods %d; want 2, 0, 4", final.Status.Succeeded, final.Status.Failed, len(h.rt.Created))
		}
		evs := h.jobEvents(final)
		for _, want := range []string{"Normal Suspended Job suspended", "Normal Resumed Job resumed", "Normal SuccessfulDelete Deleted pod: "} {
			if !slices.ContainsFunc(evs, func(e string) bool { return strings.HasPrefix(e, want) }) {
				t.Errorf("no event %q in %q", want, evs)
			}
		}
	})
}

func TestJobCreatedSuspended(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("busybox")
		h := newHarness(t, rt)
		j := h.apply(newJob("j", func(s *manifest.JobSpec) { s.Suspend = ptrTo(true) }))
		got := h.waitJob("j", func(j *manifest.Job) bool { return len(j.Status.Conditions) > 0 })
		time.Sleep(time.Minute)
		synctest.Wait()
		if got.Status.StartTime != nil || len(rt.Created) != 0 || len(h.podsOf(j)) != 0 {
			t.Errorf("startTime %v, %d pods; want none", got.Status.StartTime, len(rt.Created))
		}
		if c := condList(got); !slices.Equal(c, []string{"Suspended/JobSuspended"}) {
			t.Errorf("conditions %v", c)
		}
	})
}

func TestJobParallelismUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, runFor(time.Minute))
		j := h.apply(newJob("j", func(s *manifest.JobSpec) { s.Completions, s.Parallelism = p32(4), p32(1) }))
		h.waitJob("j", func(j *manifest.Job) bool { return j.Status.Active == 1 })
		upd := cloneJob(j)
		upd.Spec.Parallelism = p32(3)
		upd.Labels = map[string]string{"team": "data"}
		if err := h.ctrl.UpdateJob(context.Background(), upd); err != nil {
			t.Fatal(err)
		}
		got := h.waitJob("j", func(j *manifest.Job) bool { return j.Status.Active == 3 })
		if got.Labels["team"] != "data" || *got.Spec.Parallelism != 3 {
			t.Errorf("labels %v parallelism %d", got.Labels, *got.Spec.Parallelism)
		}
	})
}

func TestJobTTLAfterFinished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBusybox(t, always(runnertest.Behavior{RunFor: 1500 * time.Millisecond, Lines: []string{"done"}}))
		j := h.apply(newJob("j", func(s *manifest.JobSpec) { s.TTLSecondsAfterFinished = p32(5) }))
		h.waitJob("j", finished)
		pod := h.podsOf(j)[0]
		done := time.Now()
		ctx := context.Background()
		for {
			ch, err := h.sub.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Job != nil && ch.Deleted {
				break
			}
		}
		if d := time.Since(done); d < 3*time.Second || d > 5*time.Second {
			t.Errorf("deleted %v after finishing, want ≤ 5 s (TTL from the whole-second finish time)", d)
		}
		if _, err := h.store.Job(ctx, "default", "j"); err == nil {
			t.Error("job still stored")
		}
		if _, err := h.store.Pod(ctx, "default", pod.Pod.Name); err == nil {
			t.Error("pod still stored")
		}
		n := len(h.jobEvents(j))
		time.Sleep(time.Minute)
		if m := len(h.jobEvents(j)); m != n {
			t.Errorf("%d events recorded after deletion", m-n)
		}
	})
}

func cloneJob(j *manifest.Job) *manifest.Job {
	c := *j
	c.Spec = j.Spec
	return &c
}
