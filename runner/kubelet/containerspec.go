package kubelet

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// ConfigError means a container's configuration could not be built (a
// missing ConfigMap key, an unsupported env source); the container waits
// in CreateContainerConfigError.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// podSetup is what a pod worker prepared before creating containers: the
// host side of the volumes, the sandbox and the pod's host directory.
type podSetup struct {
	vols      map[string]hostVolume
	sandboxID string
	podDir    string // "" when the store has none (no termination files)
}

// containerSpec builds the engine's container spec for one instance.
// release undoes the staging of its bind mounts (hostpath.go); call it once
// the container has started, or failed to.
func (k *Kubelet) containerSpec(ctx context.Context, rec *runner.PodRecord, cr *runner.ContainerRecord, spec *manifest.Container, run *runner.Run, setup *podSetup) (cs runner.ContainerSpec, release func(), err error) {
	release = func() {}
	pod := &rec.Pod
	labels := k.podLabels(pod, cr.Name, run.Restart)
	env, err := k.containerEnv(ctx, rec, spec)
	if err != nil {
		return runner.ContainerSpec{}, release, err
	}
	lookup := map[string]string{}
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		lookup[name] = val
	}
	hostname := PodHostname(pod)
	if pod.Spec.HostNetwork {
		hostname = ""
	}
	cs = runner.ContainerSpec{
		Name:       run.EngineName,
		Labels:     labels,
		Image:      spec.Image,
		Entrypoint: expandAll(spec.Command, lookup),
		Cmd:        expandAll(spec.Args, lookup),
		Env:        append(env, "HOSTNAME="+cmp.Or(hostname, k.NodeName)),
		WorkingDir: spec.WorkingDir,
		TTY:        spec.TTY,
		Stdin:      spec.Stdin,
	}
	if setup.sandboxID != "" {
		// The sandbox holds the network (with hostname, hosts and DNS) and
		// IPC namespaces; the engine refuses those options on a joiner.
		cs.Network = "container:" + setup.sandboxID
		cs.IPC = "container:" + setup.sandboxID
		if pod.Spec.HostIPC {
			cs.IPC = "host"
		}
		if pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace {
			cs.PID = "container:" + setup.sandboxID
		}
	} else {
		applyPodNetwork(&cs, pod, hostname)
	}
	if pod.Spec.HostPID {
		cs.PID = "host"
	}
	if q, ok := spec.Resources.Limits["memory"]; ok {
		cs.MemoryLimit = q.Value()
	}
	if q, ok := spec.Resources.Limits["cpu"]; ok {
		cs.NanoCPUs = q.MilliValue() * 1_000_000
	}
	mounts, staged, release, err := k.containerMounts(spec, setup.vols, lookup)
	if err != nil {
		return runner.ContainerSpec{}, func() {}, err
	}
	cs.Mounts = mounts
	if staged {
		cs.Labels[runner.LabelStagedMounts] = "true"
	}
	if setup.podDir != "" && spec.TerminationMessagePath != "" {
		f := terminationFile(setup.podDir, cr.Name, run.Restart)
		if err := createTerminationFile(f); err != nil {
			release()
			return runner.ContainerSpec{}, func() {}, fmt.Errorf("termination message file: %w", err)
		}
		cs.Mounts = append(cs.Mounts, runner.Mount{Source: f, Target: spec.TerminationMessagePath})
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
		if sc.Privileged != nil {
			cs.Privileged = *sc.Privileged
		}
		if sc.Capabilities != nil {
			for _, cp := range sc.Capabilities.Add {
				cs.CapAdd = append(cs.CapAdd, normCap(cp))
			}
			for _, cp := range sc.Capabilities.Drop {
				cs.CapDrop = append(cs.CapDrop, normCap(cp))
			}
		}
	}
	if user != nil {
		cs.User = strconv.FormatInt(*user, 10)
		if group != nil {
			cs.User += ":" + strconv.FormatInt(*group, 10)
		}
	}
	return cs, release, nil
}

// podLabels are the identity labels of one of the pod's engine containers.
func (k *Kubelet) podLabels(pod *manifest.Pod, container string, restart int32) map[string]string {
	labels := map[string]string{}
	maps.Copy(labels, pod.Labels)
	maps.Copy(labels, map[string]string{
		runner.LabelInstance:  k.Store.InstanceID(),
		runner.LabelNamespace: pod.Namespace,
		runner.LabelPod:       pod.Name,
		runner.LabelPodUID:    pod.UID,
		runner.LabelContainer: container,
		runner.LabelRestart:   strconv.Itoa(int(restart)),
	})
	if name := pod.Labels["batch.kubernetes.io/job-name"]; name != "" {
		labels[runner.LabelJob] = name
	}
	return labels
}

// applyPodNetwork sets the pod-level network options on the container
// that owns the pod's network namespace (the sandbox, or the only
// container): network, hostname, host aliases and DNS.
func applyPodNetwork(cs *runner.ContainerSpec, pod *manifest.Pod, hostname string) {
	cs.Hostname = hostname
	cs.Network = pod.Annotations[runner.AnnotationNetwork]
	if pod.Spec.HostNetwork {
		cs.Network = "host"
	}
	if pod.Spec.HostIPC {
		cs.IPC = "host"
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
