package jobcontroller

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/localjobs/localjobs/manifest"
)

// Labels, annotations and the env var of Indexed Job pods (reference §2.3).
const (
	LabelCompletionIndex           = "batch.kubernetes.io/job-completion-index"
	AnnotationCompletionIndex      = "batch.kubernetes.io/job-completion-index"
	AnnotationIndexFailureCount    = "batch.kubernetes.io/job-index-failure-count"
	AnnotationIndexIgnoredFailures = "batch.kubernetes.io/job-index-ignored-failure-count"
	envCompletionIndex             = "JOB_COMPLETION_INDEX"
	// maxGeneratedNameLength is the apiserver's limit for a generateName
	// prefix: 63 minus the 5 random characters.
	maxGeneratedNameLength = 58
)

// formatIndexes writes sorted, distinct indexes in the Job status range
// format: runs of three or more as "a-b", so 1,2 stays "1,2" and 1,2,3 is
// "1-3" (indexed_job_utils.go orderedIntervals.String).
func formatIndexes(idx []int) string {
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		switch {
		case j == i:
			b.WriteString(strconv.Itoa(idx[i]))
		case j == i+1:
			fmt.Fprintf(&b, "%d,%d", idx[i], idx[j])
		default:
			fmt.Fprintf(&b, "%d-%d", idx[i], idx[j])
		}
		i = j + 1
	}
	return b.String()
}

// parseIndexes reads the range format ("0,2-4"); entries that do not parse
// are skipped (validation has refused them already).
func parseIndexes(s string) []int {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// podGenerateName is the generateName prefix of a Job's pods: "<job>-" or,
// for an index, "<job>-<index>-" with the job name shortened so the index
// part is kept (podGenerateNameWithIndex).
func podGenerateName(job string, index int) string {
	if index < 0 {
		p := job + "-"
		if len(p) > maxGeneratedNameLength {
			p = p[:maxGeneratedNameLength]
		}
		return p
	}
	suffix := "-" + strconv.Itoa(index) + "-"
	p := job + suffix
	if len(p) > maxGeneratedNameLength {
		p = p[:maxGeneratedNameLength-len(suffix)] + suffix
	}
	return p
}

// addCompletionIndexEnv adds JOB_COMPLETION_INDEX, read from the index
// label, to every container and init container that does not set it.
func addCompletionIndexEnv(spec *manifest.PodSpec) {
	add := func(cs []manifest.Container) {
		for i := range cs {
			if slices.ContainsFunc(cs[i].Env, func(e manifest.EnvVar) bool { return e.Name == envCompletionIndex }) {
				continue
			}
			cs[i].Env = append(cs[i].Env, manifest.EnvVar{
				Name: envCompletionIndex,
				ValueFrom: &manifest.EnvVarSource{FieldRef: &manifest.ObjectFieldSelector{
					APIVersion: "v1",
					FieldPath:  fmt.Sprintf("metadata.labels['%s']", LabelCompletionIndex),
				}},
			})
		}
	}
	add(spec.InitContainers)
	add(spec.Containers)
}

// podIndex reads a pod's completion index from its annotation (the label
// as a fallback); -1 if it has none.
func podIndex(m *manifest.ObjectMeta) int {
	v, ok := m.Annotations[AnnotationCompletionIndex]
	if !ok {
		v, ok = m.Labels[LabelCompletionIndex]
	}
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return -1
	}
	return i
}
