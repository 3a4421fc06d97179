package runner

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/localjobs/localjobs/manifest"
)

// Labels localjobs puts on every container it creates (DESIGN §3).
const (
	LabelInstance  = "io.localjobs.instance"
	LabelNamespace = "io.localjobs.namespace"
	LabelPod       = "io.localjobs.pod"
	LabelPodUID    = "io.localjobs.pod-uid"
	LabelContainer = "io.localjobs.container"
	LabelRestart   = "io.localjobs.restart"
	LabelJob       = "io.localjobs.job"
	LabelCronJob   = "io.localjobs.cronjob"

	// AnnotationNetwork attaches a pod to an existing engine network.
	AnnotationNetwork = "localjobs.io/network"
)

// ConfigError means a container's configuration could not be built (a
// missing ConfigMap key, an unsupported env source); the container waits
// in CreateContainerConfigError.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// checkPodSecurity refuses what localjobs does not grant yet: anything
// beyond the baseline Pod Security Standard, and volumes. Refusing is the
// safe default: a container never gets less isolation than it asked for
// without the user knowing, nor more privilege than the spec states.
func checkPodSecurity(spec *manifest.PodSpec) error {
	switch {
	case spec.HostNetwork:
		return fmt.Errorf("spec.hostNetwork: Forbidden: host namespaces are not allowed by the baseline pod security level")
	case spec.HostPID:
		return fmt.Errorf("spec.hostPID: Forbidden: host namespaces are not allowed by the baseline pod security level")
	case spec.HostIPC:
		return fmt.Errorf("spec.hostIPC: Forbidden: host namespaces are not allowed by the baseline pod security level")
	case len(spec.Volumes) > 0:
		return fmt.Errorf("spec.volumes: Unsupported value: volumes are not supported by this version of localjobs yet")
	case len(spec.Containers) > 1:
		return fmt.Errorf("spec.containers: Unsupported value: pods with more than one container are not supported by this version of localjobs yet")
	}
	all := append(append([]manifest.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range all {
		if sc := c.SecurityContext; sc != nil {
			if sc.Privileged != nil && *sc.Privileged {
				return fmt.Errorf("containers[%s].securityContext.privileged: Forbidden: privileged containers are not allowed by the baseline pod security level", c.Name)
			}
			if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
				return fmt.Errorf("containers[%s].securityContext.capabilities.add: Forbidden: adding capabilities is not allowed by this version of localjobs", c.Name)
			}
		}
		if c.RestartPolicy != nil {
			return fmt.Errorf("initContainers[%s].restartPolicy: Unsupported value: native sidecars are not supported by this version of localjobs yet", c.Name)
		}
	}
	return nil
}

// containerSpec builds the engine's container spec for one instance.
func (c *Controller) containerSpec(_ context.Context, rec *PodRecord, cr *ContainerRecord, spec *manifest.Container, run *Run) (ContainerSpec, error) {
	pod := &rec.Pod
	labels := map[string]string{}
	maps.Copy(labels, pod.Labels)
	maps.Copy(labels, map[string]string{
		LabelInstance:  c.Store.InstanceID(),
		LabelNamespace: pod.Namespace,
		LabelPod:       pod.Name,
		LabelPodUID:    pod.UID,
		LabelContainer: cr.Name,
		LabelRestart:   strconv.Itoa(int(run.Restart)),
	})
	if name := pod.Labels["batch.kubernetes.io/job-name"]; name != "" {
		labels[LabelJob] = name
	}
	env, err := containerEnv(pod, spec)
	if err != nil {
		return ContainerSpec{}, err
	}
	lookup := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		lookup[k] = v
	}
	hostname := PodHostname(pod)
	cs := ContainerSpec{
		Name:       run.EngineName,
		Labels:     labels,
		Image:      spec.Image,
		Entrypoint: expandAll(spec.Command, lookup),
		Cmd:        expandAll(spec.Args, lookup),
		Env:        append(env, "HOSTNAME="+hostname),
		WorkingDir: spec.WorkingDir,
		Hostname:   hostname,
		Network:    pod.Annotations[AnnotationNetwork],
		TTY:        spec.TTY,
		Stdin:      spec.Stdin,
	}
	if q, ok := spec.Resources.Limits["memory"]; ok {
		cs.MemoryLimit = q.Value()
	}
	if q, ok := spec.Resources.Limits["cpu"]; ok {
		cs.NanoCPUs = q.MilliValue() * 1_000_000
	}
	for _, ha := range pod.Spec.HostAliases {
		for _, h := range ha.Hostnames {
			cs.ExtraHosts = append(cs.ExtraHosts, h+":"+ha.IP)
		}
	}
	if d := pod.Spec.DNSConfig; d != nil {
		cs.DNS = d.Nameservers
		cs.DNSSearch = d.Searches
		for _, o := range d.Options {
			if o.Value != nil {
				cs.DNSOptions = append(cs.DNSOptions, o.Name+":"+*o.Value)
			} else {
				cs.DNSOptions = append(cs.DNSOptions, o.Name)
			}
		}
	}
	user, group := (*int64)(nil), (*int64)(nil)
	if psc := pod.Spec.SecurityContext; psc != nil {
		user, group = psc.RunAsUser, psc.RunAsGroup
	}
	if sc := spec.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			user = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			group = sc.RunAsGroup
		}
		if sc.ReadOnlyRootFilesystem != nil {
			cs.ReadOnly = *sc.ReadOnlyRootFilesystem
		}
		if sc.Capabilities != nil {
			cs.CapDrop = sc.Capabilities.Drop
		}
	}
	if user != nil {
		cs.User = strconv.FormatInt(*user, 10)
		if group != nil {
			cs.User += ":" + strconv.FormatInt(*group, 10)
		}
	}
	return cs, nil
}

// containerEnv resolves a container's env in order, expanding $(VAR)
// references to variables defined before them, as Kubernetes does.
func containerEnv(pod *manifest.Pod, spec *manifest.Container) ([]string, error) {
	var out []string
	seen := map[string]string{}
	for i, e := range spec.Env {
		v := expand(e.Value, seen)
		if e.ValueFrom != nil {
			var err error
			v, err = envFrom(pod, spec, e.ValueFrom)
			if err != nil {
				return nil, &ConfigError{Msg: fmt.Sprintf("env[%d] %s: %v", i, e.Name, err)}
			}
		}
		seen[e.Name] = v
		out = append(out, e.Name+"="+v)
	}
	return out, nil
}

func envFrom(pod *manifest.Pod, spec *manifest.Container, src *manifest.EnvVarSource) (string, error) {
	if f := src.FieldRef; f != nil {
		path := f.FieldPath
		switch {
		case path == "metadata.name":
			return pod.Name, nil
		case path == "metadata.namespace":
			return pod.Namespace, nil
		case path == "metadata.uid":
			return pod.UID, nil
		case path == "spec.nodeName":
			return pod.Spec.NodeName, nil
		case path == "spec.serviceAccountName":
			return pod.Spec.ServiceAccountName, nil
		case strings.HasPrefix(path, "metadata.labels['"):
			return pod.Labels[strings.TrimSuffix(strings.TrimPrefix(path, "metadata.labels['"), "']")], nil
		case strings.HasPrefix(path, "metadata.annotations['"):
			return pod.Annotations[strings.TrimSuffix(strings.TrimPrefix(path, "metadata.annotations['"), "']")], nil
		case path == "status.podIP", path == "status.hostIP", path == "status.podIPs", path == "status.hostIPs":
			return "", fmt.Errorf("fieldRef %s is not supported by this version of localjobs yet", path)
		}
		return "", fmt.Errorf("unsupported fieldRef %q", path)
	}
	if src.ConfigMapKeyRef != nil {
		return "", fmt.Errorf("configmap %q not found", src.ConfigMapKeyRef.Name)
	}
	if src.SecretKeyRef != nil {
		return "", fmt.Errorf("secret %q not found", src.SecretKeyRef.Name)
	}
	return "", fmt.Errorf("this env source is not supported by this version of localjobs yet")
}

// expand replaces $(VAR) with the value of VAR when it is defined, keeps
// unknown references literally and turns $$ into $ (Kubernetes' expansion).
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func expandAll(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, vars)
	}
	return out
}

// PodHostname is the pod's hostname: spec.hostname, else the pod name,
// truncated to 63 characters the kubelet way (dropping trailing '-' and '.').
func PodHostname(pod *manifest.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}
