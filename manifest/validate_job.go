package manifest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

func validateJobSpec(e *errs, s *JobSpec, p fieldPath, jobName string, inCronJob bool) {
	e.nonNegative(p.child("parallelism"), s.Parallelism)
	e.nonNegative(p.child("completions"), s.Completions)
	e.nonNegative(p.child("activeDeadlineSeconds"), s.ActiveDeadlineSeconds)
	e.nonNegative(p.child("backoffLimit"), s.BackoffLimit)
	e.nonNegative(p.child("ttlSecondsAfterFinished"), s.TTLSecondsAfterFinished)
	e.nonNegative(p.child("backoffLimitPerIndex"), s.BackoffLimitPerIndex)
	e.nonNegative(p.child("maxFailedIndexes"), s.MaxFailedIndexes)

	indexed := s.CompletionMode != nil && *s.CompletionMode == IndexedCompletion
	if s.CompletionMode != nil {
		e.oneOf(p.child("completionMode"), *s.CompletionMode, NonIndexedCompletion, IndexedCompletion)
	}
	const maxIndexed, maxPerIndexParallelism = 100000, 10000
	if indexed {
		if s.Completions == nil {
			e.required(p.child("completions"), "when completion mode is Indexed")
		}
		if s.Parallelism != nil && *s.Parallelism > maxIndexed {
			e.invalid(p.child("parallelism"), *s.Parallelism, "must be less than or equal to 100000 when completion mode is Indexed")
		}
		if s.Completions != nil && s.MaxFailedIndexes != nil {
			if *s.MaxFailedIndexes > *s.Completions {
				e.invalid(p.child("maxFailedIndexes"), *s.MaxFailedIndexes, "must be less than or equal to completions")
			}
			if *s.MaxFailedIndexes > maxIndexed {
				e.invalid(p.child("maxFailedIndexes"), *s.MaxFailedIndexes, "must be less than or equal to 100000")
			}
		}
		if s.Completions != nil && *s.Completions > maxIndexed && s.BackoffLimitPerIndex != nil {
			if s.MaxFailedIndexes == nil {
				e.required(p.child("maxFailedIndexes"), "must be specified when completions is above 100000")
			} else if *s.MaxFailedIndexes > maxPerIndexParallelism {
				e.invalid(p.child("maxFailedIndexes"), *s.MaxFailedIndexes, "must be less than or equal to 10000 when completions is above 100000")
			}
			if s.Parallelism != nil && *s.Parallelism > maxPerIndexParallelism {
				e.invalid(p.child("parallelism"), *s.Parallelism, "must be less than or equal to 10000 when completions is above 100000")
			}
		}
		if jobName != "" && s.Completions != nil && *s.Completions > 0 {
			last := fmt.Sprintf("%s-%d", jobName, *s.Completions-1)
			if len(dnsLabelErrors(last)) > 0 {
				e.invalid(fieldPath{}.child("metadata").child("name"), jobName, "will not able to create pod with invalid DNS label: "+last)
			}
		}
	} else {
		if s.BackoffLimitPerIndex != nil {
			e.invalid(p.child("backoffLimitPerIndex"), *s.BackoffLimitPerIndex, "requires indexed completion mode")
		}
		if s.MaxFailedIndexes != nil {
			e.invalid(p.child("maxFailedIndexes"), *s.MaxFailedIndexes, "requires indexed completion mode")
		}
		if s.SuccessPolicy != nil {
			e.invalid(p.child("successPolicy"), "", "requires indexed completion mode")
		}
	}
	if s.MaxFailedIndexes != nil && s.BackoffLimitPerIndex == nil {
		e.required(p.child("backoffLimitPerIndex"), "when maxFailedIndexes is specified")
	}

	tp := p.child("template")
	rp := tp.child("spec").child("restartPolicy")
	switch rp2 := s.Template.Spec.RestartPolicy; rp2 {
	case RestartPolicyOnFailure, RestartPolicyNever:
	case "", RestartPolicyAlways:
		// Kubernetes says `Required value: valid values: "OnFailure",
		// "Never"` whether restartPolicy is unset (Always by default) or
		// Always; for an explicit Always, say what is wrong with it.
		e.add(rp, "%s", ifAbsent(
			fmt.Sprintf("Unsupported value: %q: Always is not allowed in a Job (its pods must finish); use OnFailure or Never", RestartPolicyAlways),
			`Required value: valid values: "OnFailure", "Never" (a Job's pods must finish, so the Pod default Always is not allowed)`))
	default:
		e.notSupported(rp, rp2, RestartPolicyOnFailure, RestartPolicyNever)
	}
	if s.PodFailurePolicy != nil {
		if r := s.Template.Spec.RestartPolicy; r == RestartPolicyOnFailure {
			e.invalid(rp, r, `only "Never" is supported when podFailurePolicy is specified`)
		}
		validatePodFailurePolicy(e, s, p.child("podFailurePolicy"))
	}
	if s.SuccessPolicy != nil && indexed {
		validateSuccessPolicy(e, s, p.child("successPolicy"))
	}
	if r := s.PodReplacementPolicy; r != nil {
		if s.PodFailurePolicy != nil {
			e.oneOf(p.child("podReplacementPolicy"), *r, ReplaceFailed)
		} else {
			e.oneOf(p.child("podReplacementPolicy"), *r, ReplaceFailed, ReplaceTerminatingOrFailed)
		}
	}
	if m := s.ManagedBy; m != nil {
		if len(*m) > 63 {
			e.add(p.child("managedBy"), "Too long: may not be more than 63 bytes")
		} else if !strings.Contains(*m, "/") {
			e.invalid(p.child("managedBy"), *m, "must be a domain-prefixed path (such as \"acme.io/foo\")")
		}
	}

	manual := s.ManualSelector != nil && *s.ManualSelector
	switch {
	case inCronJob && s.Selector != nil:
		e.invalid(p.child("selector"), "", "`selector` will be auto-generated")
	case inCronJob && manual:
		e.notSupported(p.child("manualSelector"), true, "nil", "false")
	case !manual && s.Selector != nil:
		e.invalid(p.child("selector"), "", "`selector` not auto-generated")
	case manual && s.Selector == nil:
		e.required(p.child("selector"), "")
	case manual && !selectorMatches(s.Selector, s.Template.Labels):
		e.invalid(tp.child("metadata").child("labels"), fmt.Sprint(s.Template.Labels), "`selector` does not match template `labels`")
	}
	validateMeta(e, &s.Template.ObjectMeta, tp.child("metadata"), false, 0)
	validatePodSpec(e, &s.Template.Spec, tp.child("spec"), true)
}

// selectorMatches reports whether labels satisfy sel.
func selectorMatches(sel *LabelSelector, labels map[string]string) bool {
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	for _, r := range sel.MatchExpressions {
		v, has := labels[r.Key]
		switch r.Operator {
		case "In":
			if !has || !slices.Contains(r.Values, v) {
				return false
			}
		case "NotIn":
			if has && slices.Contains(r.Values, v) {
				return false
			}
		case "Exists":
			if !has {
				return false
			}
		case "DoesNotExist":
			if has {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func validatePodFailurePolicy(e *errs, s *JobSpec, p fieldPath) {
	pfp := s.PodFailurePolicy
	rp := p.child("rules")
	if len(pfp.Rules) > 20 {
		e.add(rp, "Too many: %d: must have at most 20 items", len(pfp.Rules))
	}
	containers := map[string]bool{}
	for _, c := range s.Template.Spec.InitContainers {
		containers[c.Name] = true
	}
	for _, c := range s.Template.Spec.Containers {
		containers[c.Name] = true
	}
	for i, r := range pfp.Rules {
		ip := rp.index(i)
		switch r.Action {
		case "":
			e.required(ip.child("action"), "")
		case "Count", "FailJob", "Ignore":
		case "FailIndex":
			if s.BackoffLimitPerIndex == nil {
				e.invalid(ip.child("action"), r.Action, "requires the backoffLimitPerIndex to be set")
			}
		default:
			e.notSupported(ip.child("action"), r.Action, "Count", "FailIndex", "FailJob", "Ignore")
		}
		switch {
		case r.OnExitCodes != nil && r.OnPodConditions != nil:
			e.invalid(ip, "", "specifying both OnExitCodes and OnPodConditions is not supported")
		case r.OnExitCodes == nil && r.OnPodConditions == nil:
			e.invalid(ip, "", "specifying one of OnExitCodes and OnPodConditions is required")
		}
		if oc := r.OnExitCodes; oc != nil {
			op := ip.child("onExitCodes")
			switch oc.Operator {
			case "":
				e.required(op.child("operator"), "")
			case "In", "NotIn":
			default:
				e.notSupported(op.child("operator"), oc.Operator, "In", "NotIn")
			}
			vp := op.child("values")
			switch {
			case len(oc.Values) == 0:
				e.invalid(vp, 0, "at least one value is required")
			case len(oc.Values) > 255:
				e.add(vp, "Too many: %d: must have at most 255 items", len(oc.Values))
			}
			for j, v := range oc.Values {
				switch {
				case oc.Operator == "In" && v == 0:
					e.invalid(vp.index(j), v, "must not be 0 for the In operator")
				case j > 0 && v == oc.Values[j-1]:
					e.duplicate(vp.index(j), v)
				case j > 0 && v < oc.Values[j-1]:
					e.invalid(vp.index(j), v, "must be ordered")
				}
			}
			if oc.ContainerName != nil && !containers[*oc.ContainerName] {
				e.invalid(op.child("containerName"), *oc.ContainerName, "must be one of the container or initContainer names in the pod template")
			}
		}
		if len(r.OnPodConditions) > 20 {
			e.add(ip.child("onPodConditions"), "Too many: %d: must have at most 20 items", len(r.OnPodConditions))
		}
		for j, c := range r.OnPodConditions {
			cp := ip.child("onPodConditions").index(j)
			if c.Type == "" {
				e.required(cp.child("type"), "")
			} else {
				e.invalidEach(cp.child("type"), c.Type, qualifiedNameErrors(c.Type))
			}
			e.oneOf(cp.child("status"), c.Status, "True", "False", "Unknown")
		}
	}
}

// parseIndexes parses an index list such as "0,2-4" as successPolicy and
// Job status use it, checking order and bounds; it returns the number of
// indexes listed.
func parseIndexes(s string, completions int32) (int64, string) {
	var n int64
	last := int64(-1)
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(lo, 10, 32)
		if err != nil {
			return 0, fmt.Sprintf("error parsing %q: not a non-negative integer", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(hi, 10, 32); err != nil {
				return 0, fmt.Sprintf("error parsing %q: not a non-negative integer", part)
			}
			if b <= a {
				return 0, fmt.Sprintf("range %q: the first index must be smaller than the last", part)
			}
		}
		if a <= last {
			return 0, fmt.Sprintf("%q: indexes must be in ascending order without overlap", part)
		}
		if b >= int64(completions) {
			return 0, fmt.Sprintf("%q: must be less than completions (%d)", part, completions)
		}
		n += b - a + 1
		last = b
	}
	return n, ""
}

func validateSuccessPolicy(e *errs, s *JobSpec, p fieldPath) {
	rp := p.child("rules")
	switch n := len(s.SuccessPolicy.Rules); {
	case n == 0:
		e.required(rp, "at least one rules must be specified when the successPolicy is specified")
	case n > 20:
		e.add(rp, "Too many: %d: must have at most 20 items", n)
	}
	completions := int32(0)
	if s.Completions != nil {
		completions = *s.Completions
	}
	for i, r := range s.SuccessPolicy.Rules {
		ip := rp.index(i)
		if r.SucceededIndexes == nil && r.SucceededCount == nil {
			e.required(ip, "at least one of succeededCount or succeededIndexes must be specified")
			continue
		}
		total := int64(-1)
		if r.SucceededIndexes != nil {
			if len(*r.SucceededIndexes) > 64*1024 {
				e.add(ip.child("succeededIndexes"), "Too long: may not be more than 65536 bytes")
			} else if n, msg := parseIndexes(*r.SucceededIndexes, completions); msg != "" {
				e.invalid(ip.child("succeededIndexes"), *r.SucceededIndexes, msg)
			} else {
				total = n
			}
		}
		if c := r.SucceededCount; c != nil {
			cp := ip.child("succeededCount")
			switch {
			case *c < 0:
				e.invalid(cp, *c, "must be greater than or equal to 0")
			case *c > completions:
				e.invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions))
			case total >= 0 && int64(*c) > total:
				e.invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total))
			}
		}
	}
}
