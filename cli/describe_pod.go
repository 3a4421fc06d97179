package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/localjobs/localjobs/manifest"
)

// The pod sections of describe, also used for a Job's pod template.

func describePod(w io.Writer, p *manifest.Pod, evs []*manifest.Event, events bool, now time.Time) {
	d := newDescribeWriter(w)
	d.line(0, "Name:\t%s\n", p.Name)
	d.line(0, "Namespace:\t%s\n", p.Namespace)
	d.line(0, "Priority:\t%d\n", derefInt32(p.Spec.Priority, 0))
	d.line(0, "Service Account:\t%s\n", orDefault(p.Spec.ServiceAccountName, "default"))
	node := orNone(p.Spec.NodeName)
	if p.Spec.NodeName != "" && p.Status.HostIP != "" {
		node += "/" + p.Status.HostIP
	}
	d.line(0, "Node:\t%s\n", node)
	if p.Status.StartTime != nil {
		d.line(0, "Start Time:\t%s\n", p.Status.StartTime.Format(rfc1123z))
	}
	d.mapLines("Labels", p.Labels)
	d.mapLines("Annotations", p.Annotations)
	if p.DeletionTimestamp != nil && !podTerminal(p) {
		d.line(0, "Status:\tTerminating (lasts %s)\n", duration.HumanDuration(p.DeletionTimestamp.Sub(now)))
		if g := p.DeletionGracePeriodSeconds; g != nil {
			d.line(0, "Termination Grace Period:\t%ds\n", *g)
		}
	} else {
		d.line(0, "Status:\t%s\n", p.Status.Phase)
	}
	if p.Status.Reason != "" {
		d.line(0, "Reason:\t%s\n", p.Status.Reason)
	}
	if p.Status.Message != "" {
		d.line(0, "Message:\t%s\n", p.Status.Message)
	}
	d.line(0, "IP:\t%s\n", p.Status.PodIP)
	if p.Status.PodIP == "" {
		d.line(0, "IPs:\t<none>\n")
	} else {
		d.line(0, "IPs:\n")
		d.line(1, "IP:\t%s\n", p.Status.PodIP)
	}
	if c := controlledBy(p.OwnerReferences); c != "" {
		d.line(0, "Controlled By:\t%s\n", c)
	}
	if len(p.Spec.InitContainers) > 0 {
		describeContainers(d, "", "Init Containers", p.Spec.InitContainers, p.Status.InitContainerStatuses, p)
	}
	describeContainers(d, "", "Containers", p.Spec.Containers, p.Status.ContainerStatuses, p)
	if len(p.Status.Conditions) > 0 {
		d.line(0, "Conditions:\n")
		d.line(1, "Type\tStatus\n")
		for _, c := range p.Status.Conditions {
			d.line(1, "%v \t%v \n", c.Type, c.Status)
		}
	}
	describeVolumes(d, "", p.Spec.Volumes)
	d.line(0, "QoS Class:\t%s\n", p.Status.QOSClass)
	d.mapLines("Node-Selectors", p.Spec.NodeSelector)
	describeTolerations(d, "Tolerations", p.Spec.Tolerations)
	if events {
		describeEvents(d, evs, now)
	}
	d.flush()
}

func controlledBy(refs []manifest.OwnerReference) string {
	for _, o := range refs {
		if o.Controller != nil && *o.Controller {
			return o.Kind + "/" + o.Name
		}
	}
	return ""
}

func statusOf(list []manifest.ContainerStatus, name string) *manifest.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// describeContainers writes a Containers (or Init Containers) section as
// kubectl's describeContainers does; space is the indentation of a pod
// template's section ("  "); pod is the pod of the statuses (nil for a
// template).
func describeContainers(d *describeWriter, space, label string, cs []manifest.Container, statuses []manifest.ContainerStatus, pod *manifest.Pod) {
	none := ""
	if len(cs) == 0 {
		none = " <none>"
	}
	d.line(0, "%s%s:%s\n", space, label, none)
	nameIndent := ""
	if space != "" {
		nameIndent = " "
	}
	for i := range cs {
		c := &cs[i]
		var st *manifest.ContainerStatus
		if pod != nil {
			st = statusOf(statuses, c.Name)
		}
		d.line(1, "%s%s:\n", nameIndent, c.Name)
		if st != nil {
			d.line(2, "Container ID:\t%s\n", st.ContainerID)
		}
		d.line(2, "Image:\t%s\n", c.Image)
		if st != nil {
			d.line(2, "Image ID:\t%s\n", st.ImageID)
		}
		ports, hostPorts := containerPorts(c.Ports)
		if len(c.Ports) > 1 {
			d.line(2, "Ports:\t%s\n", ports)
			d.line(2, "Host Ports:\t%s\n", hostPorts)
		} else {
			d.line(2, "Port:\t%s\n", ports)
			d.line(2, "Host Port:\t%s\n", hostPorts)
		}
		for _, l := range []struct {
			title string
			items []string
		}{{"Command", c.Command}, {"Args", c.Args}} {
			if len(l.items) > 0 {
				d.line(2, "%s:\n", l.title)
				for _, a := range l.items {
					for _, part := range strings.Split(a, "\n") {
						d.line(3, "%s\n", part)
					}
				}
			}
		}
		if st != nil {
			describeState(d, "State", st.State)
			if st.LastState.Terminated != nil {
				describeState(d, "Last State", st.LastState)
			}
			d.line(2, "Ready:\t%s\n", map[bool]string{true: "True", false: "False"}[st.Ready])
			d.line(2, "Restart Count:\t%d\n", st.RestartCount)
		}
		for _, r := range []struct {
			title string
			m     map[string]resourceQuantity
		}{{"Limits", quantities(c.Resources.Limits)}, {"Requests", quantities(c.Resources.Requests)}} {
			if len(r.m) == 0 {
				continue
			}
			d.line(2, "%s:\n", r.title)
			names := make([]string, 0, len(r.m))
			for n := range r.m {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				d.line(3, "%s:\t%s\n", n, r.m[n])
			}
		}
		if len(c.EnvFrom) > 0 {
			d.line(2, "Environment Variables from:\n")
			for _, ef := range c.EnvFrom {
				from, ref := "ConfigMap", ef.ConfigMapRef
				if ef.SecretRef != nil {
					from, ref = "Secret", ef.SecretRef
				}
				if ref == nil {
					continue
				}
				optional := ref.Optional != nil && *ref.Optional
				if ef.Prefix != "" {
					d.line(3, "%s\t%s with prefix '%s'\tOptional: %t\n", ref.Name, from, ef.Prefix, optional)
				} else {
					d.line(3, "%s\t%s\tOptional: %t\n", ref.Name, from, optional)
				}
			}
		}
		if len(c.Env) == 0 {
			d.line(2, "Environment:\t<none>\n")
		} else {
			d.line(2, "Environment:\n")
			for _, e := range c.Env {
				d.line(3, "%s\n", envLine(e, pod))
			}
		}
		if len(c.VolumeMounts) == 0 {
			d.line(2, "Mounts:\t<none>\n")
		} else {
			d.line(2, "Mounts:\n")
			for _, m := range c.VolumeMounts {
				opts := "rw"
				if m.ReadOnly {
					opts = "ro"
				}
				if m.SubPath != "" {
					opts += fmt.Sprintf(",path=%q", m.SubPath)
				}
				d.line(3, "%s from %s (%s)\n", m.MountPath, m.Name, opts)
			}
		}
	}
}

// envLine is one Environment line of describe, as kubectl writes it; a
// pod's own fields (fieldRef) are shown with their values.
func envLine(e manifest.EnvVar, pod *manifest.Pod) string {
	vf := e.ValueFrom
	switch {
	case vf == nil:
		return fmt.Sprintf("%s:\t%s", e.Name, e.Value)
	case vf.FieldRef != nil:
		return fmt.Sprintf("%s:\t%s (%s:%s)", e.Name, podField(pod, vf.FieldRef.FieldPath), orDefault(vf.FieldRef.APIVersion, "v1"), vf.FieldRef.FieldPath)
	case vf.ResourceFieldRef != nil:
		return fmt.Sprintf("%s:\t (%s)", e.Name, vf.ResourceFieldRef.Resource)
	case vf.SecretKeyRef != nil:
		k := vf.SecretKeyRef
		return fmt.Sprintf("%s:\t<set to the key '%s' in secret '%s'>\tOptional: %t", e.Name, k.Key, k.Name, k.Optional != nil && *k.Optional)
	case vf.ConfigMapKeyRef != nil:
		k := vf.ConfigMapKeyRef
		return fmt.Sprintf("%s:\t<set to the key '%s' of config map '%s'>\tOptional: %t", e.Name, k.Key, k.Name, k.Optional != nil && *k.Optional)
	}
	return fmt.Sprintf("%s:\t<set from a reference>", e.Name)
}

// podField is the value of a fieldRef of a pod, as kubectl's describe
// resolves it ("" for a template, or a field it does not resolve).
func podField(p *manifest.Pod, path string) string {
	if p == nil {
		return ""
	}
	switch path {
	case "metadata.name":
		return p.Name
	case "metadata.namespace":
		return p.Namespace
	case "metadata.uid":
		return p.UID
	case "spec.nodeName":
		return p.Spec.NodeName
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName
	case "status.podIP":
		return p.Status.PodIP
	case "status.hostIP":
		return p.Status.HostIP
	}
	return ""
}

// containerPorts are describe's Port and Host Port values.
func containerPorts(ports []manifest.ContainerPort) (string, string) {
	if len(ports) == 0 {
		return "<none>", "<none>"
	}
	var p, h []string
	for _, cp := range ports {
		proto := orDefault(cp.Protocol, "TCP")
		p = append(p, fmt.Sprintf("%d/%s", cp.ContainerPort, proto))
		h = append(h, fmt.Sprintf("%d/%s", cp.HostPort, proto))
	}
	return strings.Join(p, ", "), strings.Join(h, ", ")
}

type resourceQuantity = string

func quantities(m map[string]resource.Quantity) map[string]resourceQuantity {
	out := map[string]resourceQuantity{}
	for k, q := range m {
		out[k] = q.String()
	}
	return out
}

// describeState writes a container state as kubectl's describeStatus does,
// except that a container that never started has no "Started: Mon, 01 Jan
// 0001" line.
func describeState(d *describeWriter, title string, s manifest.ContainerState) {
	switch {
	case s.Running != nil:
		d.line(2, "%s:\tRunning\n", title)
		if !s.Running.StartedAt.IsZero() {
			d.line(3, "Started:\t%s\n", s.Running.StartedAt.Format(rfc1123z))
		}
	case s.Waiting != nil:
		d.line(2, "%s:\tWaiting\n", title)
		if s.Waiting.Reason != "" {
			d.line(3, "Reason:\t%s\n", s.Waiting.Reason)
		}
		if s.Waiting.Message != "" {
			d.line(3, "Message:\t%s\n", s.Waiting.Message)
		}
	case s.Terminated != nil:
		t := s.Terminated
		d.line(2, "%s:\tTerminated\n", title)
		if t.Reason != "" {
			d.line(3, "Reason:\t%s\n", t.Reason)
		}
		if t.Message != "" {
			d.line(3, "Message:\t%s\n", t.Message)
		}
		d.line(3, "Exit Code:\t%d\n", t.ExitCode)
		if t.Signal > 0 {
			d.line(3, "Signal:\t%d\n", t.Signal)
		}
		if !t.StartedAt.IsZero() {
			d.line(3, "Started:\t%s\n", t.StartedAt.Format(rfc1123z))
		}
		if !t.FinishedAt.IsZero() {
			d.line(3, "Finished:\t%s\n", t.FinishedAt.Format(rfc1123z))
		}
	default:
		d.line(2, "%s:\tWaiting\n", title)
	}
}

// describeVolumes writes the Volumes section (kubectl describeVolumes) for
// the volume types localjobs runs.
func describeVolumes(d *describeWriter, space string, vols []manifest.Volume) {
	if len(vols) == 0 {
		d.line(0, "%sVolumes:\t<none>\n", space)
		return
	}
	d.line(0, "%sVolumes:\n", space)
	for _, v := range vols {
		d.line(1, "%s%s:\n", space, v.Name)
		kv := func(k, format string, a ...any) { d.line(2, k+":\t"+format+"\n", a...) }
		switch {
		case v.EmptyDir != nil:
			kv("Type", "EmptyDir (a temporary directory that shares a pod's lifetime)")
			kv("Medium", "%s", v.EmptyDir.Medium)
			if v.EmptyDir.SizeLimit != nil {
				kv("SizeLimit", "%s", v.EmptyDir.SizeLimit.String())
			} else {
				kv("SizeLimit", "<unset>")
			}
		case v.HostPath != nil:
			kv("Type", "HostPath (bare host directory volume)")
			kv("Path", "%s", v.HostPath.Path)
			kv("HostPathType", "%s", derefS(v.HostPath.Type, ""))
		case v.Secret != nil:
			kv("Type", "Secret (a volume populated by a Secret)")
			kv("SecretName", "%s", v.Secret.SecretName)
			kv("Optional", "%t", v.Secret.Optional != nil && *v.Secret.Optional)
		case v.ConfigMap != nil:
			kv("Type", "ConfigMap (a volume populated by a ConfigMap)")
			kv("Name", "%s", v.ConfigMap.Name)
			kv("Optional", "%t", v.ConfigMap.Optional != nil && *v.ConfigMap.Optional)
		case v.DownwardAPI != nil:
			kv("Type", "DownwardAPI (a volume populated by information about the pod)")
		case v.Projected != nil:
			kv("Type", "Projected (a volume that contains injected data from multiple sources)")
		default:
			kv("Type", "<unknown>")
		}
	}
}

// describeTolerations writes tolerations as kubectl's
// printPodTolerationsMultiline does.
func describeTolerations(d *describeWriter, title string, ts []manifest.Toleration) {
	d.line(0, "%s:\t", title)
	if len(ts) == 0 {
		d.line(0, "<none>\n")
		return
	}
	for i, t := range ts {
		if i > 0 {
			d.line(0, "\t")
		}
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		if t.Effect != "" {
			s += ":" + t.Effect
		}
		if t.Operator == "Exists" && t.Value == "" {
			if t.Key != "" || t.Effect != "" {
				s += " "
			}
			s += "op=Exists"
		}
		if t.TolerationSeconds != nil {
			s += fmt.Sprintf(" for %ds", *t.TolerationSeconds)
		}
		d.line(0, "%s\n", s)
	}
}
