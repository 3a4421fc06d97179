package manifest

import (
	"math"
	"strings"
)

// Defaults Kubernetes applies, exported for the packages that create objects.
const (
	DefaultNamespace                = "default"
	DefaultTerminationMessagePath   = "/dev/termination-log"
	DefaultTerminationMessagePolicy = "File"
	DefaultGracePeriodSeconds       = 30
	DefaultDNSPolicy                = "ClusterFirst"
	DefaultSchedulerName            = "default-scheduler"
	DefaultBackoffLimit             = 6
	DefaultVolumeMode               = 0o644
	DefaultSuccessfulJobsHistory    = 3
	DefaultFailedJobsHistory        = 1
)

// Job pod replacement policies and CronJob concurrency policies.
const (
	ReplaceTerminatingOrFailed = "TerminatingOrFailed"
	ReplaceFailed              = "Failed"

	ConcurrencyAllow   = "Allow"
	ConcurrencyForbid  = "Forbid"
	ConcurrencyReplace = "Replace"
)

// SecretTypeOpaque is the default Secret type.
const SecretTypeOpaque = "Opaque"

// Default fills in the defaults the apiserver applies to a created object
// (*Pod, *Job, *CronJob, *ConfigMap or *Secret; other values are left
// alone). It is idempotent. Decode calls it.
func Default(obj any) {
	switch o := obj.(type) {
	case *Pod:
		defaultMeta(&o.ObjectMeta)
		defaultPodSpec(&o.Spec)
	case *Job:
		defaultMeta(&o.ObjectMeta)
		defaultJobSpec(&o.Spec)
		if len(o.Labels) == 0 && len(o.Spec.Template.Labels) > 0 {
			o.Labels = copyMap(o.Spec.Template.Labels)
		}
	case *CronJob:
		defaultMeta(&o.ObjectMeta)
		s := &o.Spec
		if s.ConcurrencyPolicy == "" {
			s.ConcurrencyPolicy = ConcurrencyAllow
		}
		setBool(&s.Suspend, false)
		setInt32(&s.SuccessfulJobsHistoryLimit, DefaultSuccessfulJobsHistory)
		setInt32(&s.FailedJobsHistoryLimit, DefaultFailedJobsHistory)
		// As in Kubernetes, only the pod template of jobTemplate is
		// defaulted here; the Job's own defaults apply when a Job is made.
		defaultPodSpec(&s.JobTemplate.Spec.Template.Spec)
	case *ConfigMap:
		defaultMeta(&o.ObjectMeta)
	case *Secret:
		defaultMeta(&o.ObjectMeta)
		if o.Type == "" {
			o.Type = SecretTypeOpaque
		}
		if len(o.StringData) > 0 {
			if o.Data == nil {
				o.Data = map[string][]byte{}
			}
			for k, v := range o.StringData {
				o.Data[k] = []byte(v)
			}
			o.StringData = nil
		}
	}
}

// DefaultJobSpec fills in a Job spec's defaults, including its pod
// template's; the CronJob controller uses it for the Jobs it creates.
func DefaultJobSpec(s *JobSpec) { defaultJobSpec(s) }

func defaultMeta(m *ObjectMeta) {
	if m.Namespace == "" {
		m.Namespace = DefaultNamespace
	}
}

func defaultJobSpec(s *JobSpec) {
	switch {
	case s.Completions == nil && s.Parallelism == nil:
		setInt32(&s.Completions, 1)
		setInt32(&s.Parallelism, 1)
	case s.Parallelism == nil:
		setInt32(&s.Parallelism, 1)
	}
	if s.BackoffLimitPerIndex != nil {
		setInt32(&s.BackoffLimit, math.MaxInt32)
	} else {
		setInt32(&s.BackoffLimit, DefaultBackoffLimit)
	}
	setString(&s.CompletionMode, NonIndexedCompletion)
	setBool(&s.Suspend, false)
	if s.PodFailurePolicy != nil {
		setString(&s.PodReplacementPolicy, ReplaceFailed)
		for i := range s.PodFailurePolicy.Rules {
			for j := range s.PodFailurePolicy.Rules[i].OnPodConditions {
				c := &s.PodFailurePolicy.Rules[i].OnPodConditions[j]
				if c.Status == "" {
					c.Status = "True"
				}
			}
		}
	} else {
		setString(&s.PodReplacementPolicy, ReplaceTerminatingOrFailed)
	}
	defaultPodSpec(&s.Template.Spec)
}

func defaultPodSpec(s *PodSpec) {
	if s.RestartPolicy == "" {
		s.RestartPolicy = RestartPolicyAlways
	}
	if s.TerminationGracePeriodSeconds == nil {
		v := int64(DefaultGracePeriodSeconds)
		s.TerminationGracePeriodSeconds = &v
	}
	if s.DNSPolicy == "" {
		s.DNSPolicy = DefaultDNSPolicy
	}
	if s.SchedulerName == "" {
		s.SchedulerName = DefaultSchedulerName
	}
	setBool(&s.EnableServiceLinks, true)
	for i := range s.InitContainers {
		defaultContainer(&s.InitContainers[i])
	}
	for i := range s.Containers {
		defaultContainer(&s.Containers[i])
	}
	for i := range s.Volumes {
		defaultVolume(&s.Volumes[i])
	}
}

func defaultContainer(c *Container) {
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = DefaultTerminationMessagePath
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = DefaultTerminationMessagePolicy
	}
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = DefaultPullPolicy(c.Image)
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = "TCP"
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
}

// DefaultPullPolicy returns Kubernetes' default imagePullPolicy for image:
// Always for ":latest" or no tag, IfNotPresent for any other tag or a digest.
func DefaultPullPolicy(image string) string {
	if strings.Contains(image, "@") {
		return PullIfNotPresent
	}
	name := image[strings.LastIndexByte(image, '/')+1:]
	_, tag, tagged := strings.Cut(name, ":")
	if !tagged || tag == "latest" {
		return PullAlways
	}
	return PullIfNotPresent
}

func defaultVolume(v *Volume) {
	mode := int32(DefaultVolumeMode)
	switch {
	case v.Secret != nil:
		setInt32(&v.Secret.DefaultMode, mode)
	case v.ConfigMap != nil:
		setInt32(&v.ConfigMap.DefaultMode, mode)
	case v.DownwardAPI != nil:
		setInt32(&v.DownwardAPI.DefaultMode, mode)
		defaultDownward(v.DownwardAPI.Items)
	case v.Projected != nil:
		setInt32(&v.Projected.DefaultMode, mode)
		for _, s := range v.Projected.Sources { // the projection's own items
			if s.DownwardAPI != nil {
				defaultDownward(s.DownwardAPI.Items)
			}
		}
	case v.HostPath != nil:
		setString(&v.HostPath.Type, "")
	}
}

func defaultDownward(items []DownwardAPIVolumeFile) {
	for i := range items {
		if f := items[i].FieldRef; f != nil && f.APIVersion == "" {
			f.APIVersion = "v1"
		}
	}
}

func setInt32(p **int32, v int32) {
	if *p == nil {
		*p = &v
	}
}

func setBool(p **bool, v bool) {
	if *p == nil {
		*p = &v
	}
}

func setString(p **string, v string) {
	if *p == nil {
		*p = &v
	}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
