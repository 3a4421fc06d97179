package jobcontroller

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"strconv"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Labels the apiserver adds to a Job's pod template (generateSelector).
const (
	LabelJobName          = "job-name"
	LabelJobNameNew       = "batch.kubernetes.io/job-name"
	LabelControllerUID    = "controller-uid"
	LabelControllerUIDNew = "batch.kubernetes.io/controller-uid"
)

// Initialize gives a Job being created what the apiserver gives it: its
// identity (uid, resourceVersion, generation, creationTimestamp), the
// selector and template labels that tie its pods to it
// (generateSelector), the template's labels as its own when it has none,
// and an empty status.
func Initialize(job *manifest.Job, uid string, now time.Time) {
	job.APIVersion, job.Kind = "batch/v1", "Job"
	job.UID = uid
	job.ResourceVersion = "1"
	job.Generation = 1
	job.CreationTimestamp = manifest.Time{Time: now.Truncate(time.Second)}
	sel := map[string]string{LabelControllerUIDNew: job.UID}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &manifest.LabelSelector{MatchLabels: sel}
	}
	tl := map[string]string{}
	maps.Copy(tl, job.Spec.Template.Labels)
	maps.Copy(tl, map[string]string{
		LabelControllerUID: job.UID, LabelControllerUIDNew: job.UID,
		LabelJobName: job.Name, LabelJobNameNew: job.Name,
	})
	job.Spec.Template.Labels = tl
	if len(job.Labels) == 0 {
		job.Labels = maps.Clone(tl)
	}
	job.Status = manifest.JobStatus{}
}

// ApplyMutable copies the mutable fields of upd, the Job as re-applied,
// into j and reports whether anything changed: spec.suspend and
// spec.parallelism (nil keeps them), spec.activeDeadlineSeconds (nil
// removes it) and metadata.labels (empty keeps them). A change bumps the
// generation and resourceVersion.
func ApplyMutable(j, upd *manifest.Job) bool {
	before, _ := json.Marshal([]any{j.Labels, j.Spec.Suspend, j.Spec.Parallelism, j.Spec.ActiveDeadlineSeconds})
	if len(upd.Labels) > 0 {
		j.Labels = maps.Clone(upd.Labels)
	}
	if upd.Spec.Suspend != nil {
		j.Spec.Suspend = ptr(*upd.Spec.Suspend)
	}
	if upd.Spec.Parallelism != nil {
		j.Spec.Parallelism = ptr(*upd.Spec.Parallelism)
	}
	j.Spec.ActiveDeadlineSeconds = nil
	if upd.Spec.ActiveDeadlineSeconds != nil {
		j.Spec.ActiveDeadlineSeconds = ptr(*upd.Spec.ActiveDeadlineSeconds)
	}
	after, _ := json.Marshal([]any{j.Labels, j.Spec.Suspend, j.Spec.Parallelism, j.Spec.ActiveDeadlineSeconds})
	if bytes.Equal(before, after) {
		return false
	}
	j.Generation++
	if n, err := strconv.Atoi(j.ResourceVersion); err == nil {
		j.ResourceVersion = strconv.Itoa(n + 1)
	}
	return true
}

// createPod creates one pod from the Job's template (reference §2.3).
func (w *Worker) createPod(ctx context.Context, pc podToCreate) error {
	pod := newPod(w.job, pc)
	// The event is written with the pod: one commit.
	created := w.c.Host.NewEvent(runner.ObjectRef(&w.job.TypeMeta, &w.job.ObjectMeta, ""),
		"Normal", "SuccessfulCreate", "Created pod: "+pod.Name, "job-controller")
	return w.c.Host.CreatePod(ctx, pod, created)
}

// newPod is a pod of the Job from its template: named after the Job (and
// index), owned by it, with the index label, annotations, hostname and
// JOB_COMPLETION_INDEX of an Indexed Job.
func newPod(job *manifest.Job, pc podToCreate) *manifest.Pod {
	spec := runner.Clone(&job.Spec.Template.Spec)
	labels := maps.Clone(job.Spec.Template.Labels)
	annotations := maps.Clone(job.Spec.Template.Annotations)
	if pc.index >= 0 {
		if labels == nil {
			labels = map[string]string{}
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
		idx := strconv.Itoa(pc.index)
		labels[LabelCompletionIndex] = idx
		annotations[AnnotationCompletionIndex] = idx
		if job.Spec.BackoffLimitPerIndex != nil {
			annotations[AnnotationIndexFailureCount] = strconv.Itoa(int(pc.failures))
			if pc.ignore > 0 {
				annotations[AnnotationIndexIgnoredFailures] = strconv.Itoa(int(pc.ignore))
			}
		}
		spec.Hostname = job.Name + "-" + idx
		addCompletionIndexEnv(spec)
	}
	return &manifest.Pod{
		ObjectMeta: manifest.ObjectMeta{
			Name:        runner.GenerateName(podGenerateName(job.Name, pc.index)),
			Namespace:   job.Namespace,
			Labels:      labels,
			Annotations: annotations,
			OwnerReferences: []manifest.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
			Finalizers: []string{"batch.kubernetes.io/job-tracking"},
		},
		Spec: *spec,
	}
}
