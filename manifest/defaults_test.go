package manifest

import (
	"encoding/json"
	"math"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestDefaultPullPolicy(t *testing.T) {
	tests := []struct{ image, want string }{
		{"busybox", PullAlways},
		{"busybox:latest", PullAlways},
		{"busybox:1.36", PullIfNotPresent},
		{"localhost:5000/busybox", PullAlways},
		{"localhost:5000/busybox:1.0", PullIfNotPresent},
		{"registry.example.com:443/team/app:latest", PullAlways},
		{"busybox@sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c", PullIfNotPresent},
		{"busybox:latest@sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c", PullIfNotPresent},
	}
	for _, tt := range tests {
		if got := DefaultPullPolicy(tt.image); got != tt.want {
			t.Errorf("DefaultPullPolicy(%q) = %q, want %q", tt.image, got, tt.want)
		}
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name string
		in   any
		// check returns a description of what is wrong, or "".
		check func(obj any) string
	}{
		{
			name: "Pod",
			in:   &Pod{Spec: PodSpec{Containers: []Container{{Name: "c", Image: "busybox", Ports: []ContainerPort{{ContainerPort: 80}}}}}},
			check: func(obj any) string {
				p := obj.(*Pod)
				c := p.Spec.Containers[0]
				switch {
				case p.Namespace != "default":
					return "namespace " + p.Namespace
				case p.Spec.RestartPolicy != RestartPolicyAlways:
					return "restartPolicy " + p.Spec.RestartPolicy
				case *p.Spec.TerminationGracePeriodSeconds != 30:
					return "terminationGracePeriodSeconds"
				case p.Spec.DNSPolicy != "ClusterFirst" || p.Spec.SchedulerName != "default-scheduler":
					return "dnsPolicy/schedulerName"
				case *p.Spec.EnableServiceLinks != true:
					return "enableServiceLinks"
				case c.ImagePullPolicy != PullAlways:
					return "imagePullPolicy " + c.ImagePullPolicy
				case c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != "File":
					return "terminationMessage*"
				case c.Ports[0].Protocol != "TCP":
					return "port protocol"
				}
				return ""
			},
		},
		{
			name: "PodKeepsSetValues",
			in: &Pod{ObjectMeta: ObjectMeta{Namespace: "ns"}, Spec: PodSpec{RestartPolicy: RestartPolicyNever,
				TerminationGracePeriodSeconds: ptr(int64(0)),
				Containers:                    []Container{{Name: "c", Image: "busybox", ImagePullPolicy: PullNever}}}},
			check: func(obj any) string {
				p := obj.(*Pod)
				if p.Namespace != "ns" || p.Spec.RestartPolicy != RestartPolicyNever || *p.Spec.TerminationGracePeriodSeconds != 0 || p.Spec.Containers[0].ImagePullPolicy != PullNever {
					return "a value set in the file was overwritten"
				}
				return ""
			},
		},
		{
			name: "JobBothNil",
			in:   &Job{Spec: JobSpec{Template: PodTemplateSpec{ObjectMeta: ObjectMeta{Labels: map[string]string{"app": "x"}}}}},
			check: func(obj any) string {
				j := obj.(*Job)
				s := j.Spec
				switch {
				case *s.Completions != 1 || *s.Parallelism != 1:
					return "completions/parallelism"
				case *s.BackoffLimit != 6:
					return "backoffLimit"
				case *s.CompletionMode != NonIndexedCompletion || *s.Suspend:
					return "completionMode/suspend"
				case *s.PodReplacementPolicy != ReplaceTerminatingOrFailed:
					return "podReplacementPolicy " + *s.PodReplacementPolicy
				case j.Labels["app"] != "x":
					return "labels not copied from the template"
				case s.Template.Spec.RestartPolicy != RestartPolicyAlways:
					return "template not defaulted"
				}
				return ""
			},
		},
		{
			name: "JobParallelismOnly",
			in:   &Job{Spec: JobSpec{Parallelism: ptr(int32(3))}},
			check: func(obj any) string {
				s := obj.(*Job).Spec
				if s.Completions != nil || *s.Parallelism != 3 {
					return "completions must stay nil in work-queue mode"
				}
				return ""
			},
		},
		{
			name: "JobCompletionsOnly",
			in:   &Job{Spec: JobSpec{Completions: ptr(int32(4))}},
			check: func(obj any) string {
				s := obj.(*Job).Spec
				if *s.Completions != 4 || *s.Parallelism != 1 {
					return "parallelism must default to 1"
				}
				return ""
			},
		},
		{
			name: "JobPerIndexAndPodFailurePolicy",
			in: &Job{Spec: JobSpec{BackoffLimitPerIndex: ptr(int32(1)), PodFailurePolicy: &PodFailurePolicy{Rules: []PodFailurePolicyRule{
				{Action: "Ignore", OnPodConditions: []PodFailurePolicyOnCondition{{Type: "DisruptionTarget"}, {Type: "X", Status: "False"}}},
			}}}},
			check: func(obj any) string {
				s := obj.(*Job).Spec
				conds := s.PodFailurePolicy.Rules[0].OnPodConditions
				switch {
				case *s.BackoffLimit != math.MaxInt32:
					return "backoffLimit must be MaxInt32 with backoffLimitPerIndex"
				case *s.PodReplacementPolicy != ReplaceFailed:
					return "podReplacementPolicy must be Failed with podFailurePolicy"
				case conds[0].Status != "True" || conds[1].Status != "False":
					return "onPodConditions status"
				}
				return ""
			},
		},
		{
			name: "CronJob",
			in:   &CronJob{Spec: CronJobSpec{JobTemplate: JobTemplateSpec{Spec: JobSpec{Template: PodTemplateSpec{Spec: PodSpec{Containers: []Container{{Image: "busybox:1"}}}}}}}},
			check: func(obj any) string {
				c := obj.(*CronJob)
				s := c.Spec
				switch {
				case c.Namespace != "default":
					return "namespace"
				case s.ConcurrencyPolicy != ConcurrencyAllow || *s.Suspend:
					return "concurrencyPolicy/suspend"
				case *s.SuccessfulJobsHistoryLimit != 3 || *s.FailedJobsHistoryLimit != 1:
					return "history limits"
				case s.JobTemplate.Spec.BackoffLimit != nil:
					return "jobTemplate Job fields are defaulted when the Job is made, not in the CronJob"
				case s.JobTemplate.Spec.Template.Spec.Containers[0].ImagePullPolicy != PullIfNotPresent:
					return "jobTemplate pod template not defaulted"
				}
				return ""
			},
		},
		{
			name: "Secret",
			in:   &Secret{Data: map[string][]byte{"a": []byte("1"), "b": []byte("old")}, StringData: map[string]string{"b": "new", "c": "3"}},
			check: func(obj any) string {
				s := obj.(*Secret)
				switch {
				case s.Type != SecretTypeOpaque:
					return "type " + s.Type
				case string(s.Data["a"]) != "1" || string(s.Data["b"]) != "new" || string(s.Data["c"]) != "3":
					return "stringData not merged into data (stringData wins)"
				case s.StringData != nil:
					return "stringData kept"
				}
				return ""
			},
		},
		{
			name: "Volumes",
			in: &Pod{Spec: PodSpec{Volumes: []Volume{
				{Name: "s", Secret: &SecretVolume{SecretName: "s"}},
				{Name: "c", ConfigMap: &ConfigMapVolume{Name: "c", DefaultMode: ptr(int32(0o400))}},
				{Name: "d", DownwardAPI: &DownwardAPIVolume{Items: []DownwardAPIVolumeFile{{Path: "n", FieldRef: &ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
			}}},
			check: func(obj any) string {
				v := obj.(*Pod).Spec.Volumes
				switch {
				case *v[0].Secret.DefaultMode != 0o644:
					return "secret defaultMode"
				case *v[1].ConfigMap.DefaultMode != 0o400:
					return "configMap defaultMode overwritten"
				case *v[2].DownwardAPI.DefaultMode != 0o644 || v[2].DownwardAPI.Items[0].FieldRef.APIVersion != "v1":
					return "downwardAPI defaults"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Default(tt.in)
			if msg := tt.check(tt.in); msg != "" {
				t.Error(msg)
			}
			// Default is idempotent.
			before, _ := json.Marshal(tt.in)
			Default(tt.in)
			after, _ := json.Marshal(tt.in)
			if string(before) != string(after) {
				t.Errorf("second Default changed the object:\n%s\n%s", before, after)
			}
		})
	}
}

func TestDecode_AppliesDefaults(t *testing.T) {
	res := Decode("pod.yaml", []byte(goodPod))
	if len(res.Objects) != 1 {
		t.Fatal(res.Errors)
	}
	p := res.Objects[0].Obj.(*Pod)
	if p.Namespace != "default" || p.Spec.Containers[0].ImagePullPolicy != PullAlways || p.Spec.Containers[0].TerminationMessagePath != DefaultTerminationMessagePath {
		t.Errorf("defaults not applied: %+v", p)
	}
}
