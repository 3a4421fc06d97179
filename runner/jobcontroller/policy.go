package jobcontroller

import (
	"fmt"
	"slices"

	"github.com/localjobs/localjobs/manifest"
)

// podFailurePolicy actions.
const (
	pfpFailJob   = "FailJob"
	pfpFailIndex = "FailIndex"
	pfpIgnore    = "Ignore"
	pfpCount     = "Count"
)

// matchPodFailurePolicy applies a Job's podFailurePolicy to one failed pod
// (pod_failure_policy.go matchPodFailurePolicy): the first matching rule's
// action, and for FailJob the Job condition message. No policy or no match
// is Count.
func matchPodFailurePolicy(pfp *manifest.PodFailurePolicy, pod *manifest.Pod) (action, msg string) {
	if pfp == nil {
		return pfpCount, ""
	}
	for i, rule := range pfp.Rules {
		if req := rule.OnExitCodes; req != nil {
			cs := matchingContainer(pod.Status.ContainerStatuses, req)
			if cs == nil {
				cs = matchingContainer(pod.Status.InitContainerStatuses, req)
			}
			if cs != nil {
				if rule.Action == pfpFailJob {
					msg = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
						cs.Name, pod.Namespace, pod.Name, cs.State.Terminated.ExitCode, rule.Action, i)
				}
				return rule.Action, msg
			}
		}
		for _, pat := range rule.OnPodConditions {
			status := pat.Status
			if status == "" {
				status = "True"
			}
			if slices.ContainsFunc(pod.Status.Conditions, func(c manifest.PodCondition) bool {
				return c.Type == pat.Type && c.Status == status
			}) {
				if rule.Action == pfpFailJob {
					msg = fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
						pod.Namespace, pod.Name, pat.Type, rule.Action, i)
				}
				return rule.Action, msg
			}
		}
	}
	return pfpCount, ""
}

// matchingContainer is the first terminated container with a non-zero exit
// code that satisfies the requirement (exit 0 never matches, even NotIn).
func matchingContainer(statuses []manifest.ContainerStatus, req *manifest.PodFailurePolicyOnExitCodes) *manifest.ContainerStatus {
	for i := range statuses {
		cs := &statuses[i]
		t := cs.State.Terminated
		if t == nil || t.ExitCode == 0 {
			continue
		}
		if req.ContainerName != nil && *req.ContainerName != cs.Name {
			continue
		}
		in := slices.Contains(req.Values, t.ExitCode)
		if req.Operator == "In" && in || req.Operator == "NotIn" && !in {
			return cs
		}
	}
	return nil
}

// matchSuccessPolicy returns the index of the first successPolicy rule the
// succeeded indexes satisfy, or -1 (success_policy.go).
func matchSuccessPolicy(sp *manifest.SuccessPolicy, succeeded map[int]bool) int {
	if sp == nil || len(succeeded) == 0 {
		return -1
	}
	for i, r := range sp.Rules {
		switch {
		case r.SucceededIndexes != nil:
			n, all := 0, true
			for _, idx := range parseIndexes(*r.SucceededIndexes) {
				if succeeded[idx] {
					n++
				} else {
					all = false
				}
			}
			if r.SucceededCount == nil && all || r.SucceededCount != nil && int32(n) >= *r.SucceededCount {
				return i
			}
		case r.SucceededCount != nil:
			if int32(len(succeeded)) >= *r.SucceededCount {
				return i
			}
		}
	}
	return -1
}
