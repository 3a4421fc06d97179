package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

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

// Pod Security Standards levels (DESIGN §3).
const (
	PodSecurityBaseline   = "baseline"
	PodSecurityPrivileged = "privileged"
)

// baselineCaps are the capabilities the baseline level allows adding.
var baselineCaps = []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}

const privilegedHint = " (run localjobs with --pod-security=privileged to allow it)"

// checkPodSecurity admits a pod at the controller's Pod Security level:
// baseline (the default) refuses privileged containers, host namespaces
// (hostNetwork, hostPID, hostIPC, and a localjobs.io/network annotation
// that would share the host's or another container's network),
// capabilities beyond baseline's, unconfined seccomp, unmasked /proc and
// hostPath volumes outside AllowHostPath; privileged allows everything.
// Refusals name the field and the flag that lifts them.
func (c *Controller) checkPodSecurity(meta *manifest.ObjectMeta, spec *manifest.PodSpec) error {
	if c.PodSecurity == PodSecurityPrivileged {
		return nil
	}
	if err := checkNetworkAnnotation(meta.Annotations); err != nil {
		return err
	}
	switch {
	case spec.HostNetwork:
		return errors.New("spec.hostNetwork: Forbidden: host namespaces are not allowed by the baseline pod security level" + privilegedHint)
	case spec.HostPID:
		return errors.New("spec.hostPID: Forbidden: host namespaces are not allowed by the baseline pod security level" + privilegedHint)
	case spec.HostIPC:
		return errors.New("spec.hostIPC: Forbidden: host namespaces are not allowed by the baseline pod security level" + privilegedHint)
	}
	if psc := spec.SecurityContext; psc != nil && psc.SeccompProfile != nil && psc.SeccompProfile.Type == "Unconfined" {
		return errors.New("spec.securityContext.seccompProfile.type: Forbidden: Unconfined is not allowed by the baseline pod security level" + privilegedHint)
	}
	for i, v := range spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		if err := c.checkHostPath(v.HostPath.Path); err != nil {
			return fmt.Errorf("spec.volumes[%d].hostPath.path: Forbidden: %v", i, err)
		}
	}
	check := func(field string, list []manifest.Container) error {
		for i, ct := range list {
			sc := ct.SecurityContext
			if sc == nil {
				continue
			}
			path := fmt.Sprintf("spec.%s[%d].securityContext", field, i)
			if sc.Privileged != nil && *sc.Privileged {
				return fmt.Errorf("%s.privileged: Forbidden: privileged containers are not allowed by the baseline pod security level%s", path, privilegedHint)
			}
			if sc.Capabilities != nil {
				for _, cp := range sc.Capabilities.Add {
					if !slices.Contains(baselineCaps, normCap(cp)) {
						return fmt.Errorf("%s.capabilities.add: Forbidden: capability %s is not allowed by the baseline pod security level%s", path, cp, privilegedHint)
					}
				}
			}
			if sc.ProcMount != nil && *sc.ProcMount == "Unmasked" {
				return fmt.Errorf("%s.procMount: Forbidden: Unmasked is not allowed by the baseline pod security level%s", path, privilegedHint)
			}
			if sc.SeccompProfile != nil && sc.SeccompProfile.Type == "Unconfined" {
				return fmt.Errorf("%s.seccompProfile.type: Forbidden: Unconfined is not allowed by the baseline pod security level%s", path, privilegedHint)
			}
		}
		return nil
	}
	if err := check("initContainers", spec.InitContainers); err != nil {
		return err
	}
	return check("containers", spec.Containers)
}

// networkName is what Docker accepts as the name of a network.
var networkName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// checkNetworkAnnotation admits the localjobs.io/network annotation under
// baseline: a named network (a user-defined one, or bridge, default or
// none — none takes the network away, which is less, not more), never the
// host's network namespace or another container's ("container:ID"), which
// is a host namespace or a way around the pod's own sandbox.
func checkNetworkAnnotation(annotations map[string]string) error {
	n, ok := annotations[AnnotationNetwork]
	if !ok {
		return nil
	}
	field := "metadata.annotations[" + AnnotationNetwork + "]"
	switch {
	case strings.EqualFold(n, "host"):
		return fmt.Errorf("%s: Forbidden: host namespaces are not allowed by the baseline pod security level (network %q is the host's)%s", field, n, privilegedHint)
	case strings.HasPrefix(strings.ToLower(n), "container:"):
		return fmt.Errorf("%s: Forbidden: joining another container's namespaces is not allowed by the baseline pod security level (network %q)%s", field, n, privilegedHint)
	case !networkName.MatchString(n):
		return fmt.Errorf("%s: Forbidden: %q is not the name of a network; the baseline pod security level allows only a named network%s", field, n, privilegedHint)
	}
	return nil
}

func normCap(s string) string { return strings.TrimPrefix(strings.ToUpper(s), "CAP_") }

// allowedHostPaths is AllowHostPath, or DefaultAllowHostPath() when nil.
func (c *Controller) allowedHostPaths() []string {
	if c.AllowHostPath == nil {
		return DefaultAllowHostPath()
	}
	return c.AllowHostPath
}

// DefaultAllowHostPath is the default of --allow-host-path: the given
// folders (the manifests') and the user's home, except any that is, or
// holds, a home directory of uid 0 (or is /). A pod that can write root's
// home (.ssh/authorized_keys, .docker/config.json) is root on the host, so
// a daemon running as root allows no home by default (DESIGN §9b).
func DefaultAllowHostPath(folders ...string) []string {
	home, _ := os.UserHomeDir()
	rootHome := "/root"
	if u, err := user.LookupId("0"); err == nil && u.HomeDir != "" {
		rootHome = u.HomeDir
	}
	return defaultAllowHostPath(folders, os.Getuid(), home, rootHome)
}

func defaultAllowHostPath(folders []string, uid int, home, rootHome string) []string {
	if uid != 0 && home != "" {
		folders = append(folders, home)
	}
	rh := resolvePath(rootHome)
	out := []string{}
	for _, f := range folders {
		if r := resolvePath(f); r == "/" || within(rh, r) || slices.Contains(out, f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// resolvePath cleans p and resolves its symbolic links; a path that does
// not exist yet has its nearest existing parent resolved.
func resolvePath(p string) string {
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	if dir := filepath.Dir(p); dir != p {
		return filepath.Join(resolvePath(dir), filepath.Base(p))
	}
	return p
}

// within reports whether p is dir or below it (both clean).
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

// checkHostPath allows a hostPath inside one of the allowed folders, after
// resolving symbolic links. (It is checked again, without following links
// out of the folder, each time the path is mounted: see hostpath.go.)
func (c *Controller) checkHostPath(p string) error {
	_, _, err := c.hostPathRoot(p)
	return err
}

// hostPathRoot finds the allowed folder that holds p once links are
// resolved; it returns that folder (resolved) and p's resolved path below
// it.
func (c *Controller) hostPathRoot(p string) (root, rel string, err error) {
	allowed := c.allowedHostPaths()
	rp := resolvePath(p)
	for _, prot := range c.ProtectedPaths {
		if rprot := resolvePath(prot); within(rp, rprot) || within(rprot, rp) {
			return "", "", fmt.Errorf("%s would give the pod localjobs' own state in %s, and with it control of the daemon; mount a folder that neither holds nor is inside it%s", p, prot, privilegedHint)
		}
	}
	for _, a := range allowed {
		ra := resolvePath(a)
		if within(rp, ra) {
			rel, err := filepath.Rel(ra, rp)
			return ra, rel, err
		}
	}
	list := strings.Join(allowed, ", ")
	if list == "" {
		list = "none"
	}
	return "", "", fmt.Errorf("%s is outside the directories allowed for hostPath volumes (%s); allow it with --allow-host-path=%s or run localjobs with --pod-security=privileged",
		p, list, filepath.Dir(filepath.Clean(p)))
}

// podSetup is what a pod worker prepared before creating containers: the
// host side of the volumes, the sandbox and the pod's host directory.
type podSetup struct {
	vols      map[string]hostVolume
	sandboxID string
	podDir    string // "" when the store has none (no termination files)
}

// terminationFile is the host file bind-mounted at a container instance's
// terminationMessagePath.
func terminationFile(podDir, container string, restart int32) string {
	return filepath.Join(podDir, "containers", container, strconv.Itoa(int(restart))+"-termination-log")
}

// containerSpec builds the engine's container spec for one instance.
// release undoes the staging of its bind mounts (hostpath.go); call it once
// the container has started, or failed to.
func (c *Controller) containerSpec(ctx context.Context, rec *PodRecord, cr *ContainerRecord, spec *manifest.Container, run *Run, setup *podSetup) (cs ContainerSpec, release func(), err error) {
	release = func() {}
	pod := &rec.Pod
	labels := c.podLabels(pod, cr.Name, run.Restart)
	env, err := c.containerEnv(ctx, rec, spec)
	if err != nil {
		return ContainerSpec{}, release, err
	}
	lookup := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		lookup[k] = v
	}
	hostname := PodHostname(pod)
	if pod.Spec.HostNetwork {
		hostname = ""
	}
	cs = ContainerSpec{
		Name:       run.EngineName,
		Labels:     labels,
		Image:      spec.Image,
		Entrypoint: expandAll(spec.Command, lookup),
		Cmd:        expandAll(spec.Args, lookup),
		Env:        append(env, "HOSTNAME="+cmp.Or(hostname, c.NodeName)),
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
	mounts, staged, release, err := c.containerMounts(spec, setup.vols, lookup)
	if err != nil {
		return ContainerSpec{}, func() {}, err
	}
	cs.Mounts = mounts
	if staged {
		cs.Labels[LabelStagedMounts] = "true"
	}
	if setup.podDir != "" && spec.TerminationMessagePath != "" {
		f := terminationFile(setup.podDir, cr.Name, run.Restart)
		if err := createTerminationFile(f); err != nil {
			release()
			return ContainerSpec{}, func() {}, fmt.Errorf("termination message file: %w", err)
		}
		cs.Mounts = append(cs.Mounts, Mount{Source: f, Target: spec.TerminationMessagePath})
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
func (c *Controller) podLabels(pod *manifest.Pod, container string, restart int32) map[string]string {
	labels := map[string]string{}
	maps.Copy(labels, pod.Labels)
	maps.Copy(labels, map[string]string{
		LabelInstance:  c.Store.InstanceID(),
		LabelNamespace: pod.Namespace,
		LabelPod:       pod.Name,
		LabelPodUID:    pod.UID,
		LabelContainer: container,
		LabelRestart:   strconv.Itoa(int(restart)),
	})
	if name := pod.Labels["batch.kubernetes.io/job-name"]; name != "" {
		labels[LabelJob] = name
	}
	return labels
}

// applyPodNetwork sets the pod-level network options on the container
// that owns the pod's network namespace (the sandbox, or the only
// container): network, hostname, host aliases and DNS.
func applyPodNetwork(cs *ContainerSpec, pod *manifest.Pod, hostname string) {
	cs.Hostname = hostname
	cs.Network = pod.Annotations[AnnotationNetwork]
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

func createTerminationFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(path, 0o666) // writable by any container user
}

// containerEnv resolves a container's environment as the kubelet does:
// envFrom sources first (prefixed, in key order), then env in order, each
// value's $(VAR) references expanded against what is defined before it. A
// missing ConfigMap, Secret or key is a *ConfigError unless optional.
func (c *Controller) containerEnv(ctx context.Context, rec *PodRecord, spec *manifest.Container) ([]string, error) {
	pod := &rec.Pod
	var keys []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	for _, ef := range spec.EnvFrom {
		var data map[string]string
		switch {
		case ef.ConfigMapRef != nil:
			cm, err := c.Store.ConfigMap(ctx, pod.Namespace, ef.ConfigMapRef.Name)
			if errors.Is(err, ErrObjectNotFound) {
				if isTrue(ef.ConfigMapRef.Optional) {
					continue
				}
				return nil, &ConfigError{Msg: fmt.Sprintf("configmap %q not found", ef.ConfigMapRef.Name)}
			}
			if err != nil {
				return nil, err
			}
			data = cm.Data
		case ef.SecretRef != nil:
			s, err := c.Store.Secret(ctx, pod.Namespace, ef.SecretRef.Name)
			if errors.Is(err, ErrObjectNotFound) {
				if isTrue(ef.SecretRef.Optional) {
					continue
				}
				return nil, &ConfigError{Msg: fmt.Sprintf("secret %q not found", ef.SecretRef.Name)}
			}
			if err != nil {
				return nil, err
			}
			data = map[string]string{}
			for k, v := range secretData(s) {
				data[k] = string(v)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(data)) {
			set(ef.Prefix+k, data[k])
		}
	}
	for _, e := range spec.Env {
		v := expand(e.Value, vals)
		if e.ValueFrom != nil {
			var err error
			var skip bool
			v, skip, err = c.envSource(ctx, rec, spec, e.ValueFrom)
			if err != nil {
				return nil, err
			}
			if skip {
				continue
			}
		}
		set(e.Name, v)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+vals[k])
	}
	return out, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// envSource resolves one env valueFrom. skip is true for a missing
// optional key (the variable is left out, as in Kubernetes).
func (c *Controller) envSource(ctx context.Context, rec *PodRecord, spec *manifest.Container, src *manifest.EnvVarSource) (v string, skip bool, err error) {
	pod := &rec.Pod
	switch {
	case src.FieldRef != nil:
		v, err := c.fieldValue(ctx, rec, src.FieldRef.FieldPath, false)
		if err != nil {
			return "", false, &ConfigError{Msg: err.Error()}
		}
		return v, false, nil
	case src.ResourceFieldRef != nil:
		v, err := c.resourceValue(ctx, pod, spec, src.ResourceFieldRef)
		if err != nil {
			return "", false, &ConfigError{Msg: err.Error()}
		}
		return v, false, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := c.Store.ConfigMap(ctx, pod.Namespace, ref.Name)
		if errors.Is(err, ErrObjectNotFound) {
			if isTrue(ref.Optional) {
				return "", true, nil
			}
			return "", false, &ConfigError{Msg: fmt.Sprintf("configmap %q not found", ref.Name)}
		}
		if err != nil {
			return "", false, err
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, false, nil
		}
		if b, ok := cm.BinaryData[ref.Key]; ok {
			return string(b), false, nil
		}
		if isTrue(ref.Optional) {
			return "", true, nil
		}
		return "", false, &ConfigError{Msg: fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)}
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := c.Store.Secret(ctx, pod.Namespace, ref.Name)
		if errors.Is(err, ErrObjectNotFound) {
			if isTrue(ref.Optional) {
				return "", true, nil
			}
			return "", false, &ConfigError{Msg: fmt.Sprintf("secret %q not found", ref.Name)}
		}
		if err != nil {
			return "", false, err
		}
		if b, ok := secretData(s)[ref.Key]; ok {
			return string(b), false, nil
		}
		if isTrue(ref.Optional) {
			return "", true, nil
		}
		return "", false, &ConfigError{Msg: fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)}
	}
	return "", false, &ConfigError{Msg: "env source not supported by localjobs"}
}

// fieldValue is the downward API value of a pod field. volume allows the
// whole-map forms metadata.labels and metadata.annotations (downwardAPI
// volumes only), formatted as Kubernetes does: key="value" lines, sorted.
func (c *Controller) fieldValue(ctx context.Context, rec *PodRecord, path string, volume bool) (string, error) {
	pod := &rec.Pod
	quoted := func(prefix string) (string, bool) {
		if strings.HasPrefix(path, prefix+"['") && strings.HasSuffix(path, "']") {
			return path[len(prefix)+2 : len(path)-2], true
		}
		return "", false
	}
	formatMap := func(m map[string]string) string {
		var lines []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			lines = append(lines, k+"="+strconv.Quote(m[k]))
		}
		return strings.Join(lines, "\n")
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return pod.UID, nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return cmp.Or(pod.Spec.ServiceAccountName, "default"), nil
	case "status.podIP", "status.podIPs":
		return pod.Status.PodIP, nil
	case "status.hostIP", "status.hostIPs":
		return pod.Status.HostIP, nil
	case "metadata.labels":
		if volume {
			return formatMap(pod.Labels), nil
		}
	case "metadata.annotations":
		if volume {
			return formatMap(pod.Annotations), nil
		}
	}
	if k, ok := quoted("metadata.labels"); ok {
		return pod.Labels[k], nil
	}
	if k, ok := quoted("metadata.annotations"); ok {
		return pod.Annotations[k], nil
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// resourceValue is the downward API value of a container resource: the
// limit (the node's capacity when unset) or the request (the limit when
// unset, else 0), divided by the divisor and rounded up, as the kubelet.
func (c *Controller) resourceValue(ctx context.Context, pod *manifest.Pod, self *manifest.Container, ref *manifest.ResourceFieldSelector) (string, error) {
	ct := self
	if ref.ContainerName != "" {
		ct = nil
		for _, list := range [][]manifest.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for i := range list {
				if list[i].Name == ref.ContainerName {
					ct = &list[i]
				}
			}
		}
	}
	if ct == nil {
		return "", fmt.Errorf("resourceFieldRef: container %q not found", ref.ContainerName)
	}
	kind, res, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported resourceFieldRef resource %q", ref.Resource)
	}
	q, have := ct.Resources.Limits[res]
	if kind == "requests" {
		if r, ok := ct.Resources.Requests[res]; ok {
			q, have = r, true
		}
		if !have {
			return "0", nil
		}
	}
	divisor := resource.MustParse("1")
	if ref.Divisor != nil && !ref.Divisor.IsZero() {
		divisor = *ref.Divisor
	}
	if res == "cpu" {
		milli := q.MilliValue()
		if !have {
			node, err := c.node(ctx)
			if err != nil {
				return "", err
			}
			milli = int64(node.CPUs) * 1000
		}
		return strconv.FormatInt(int64(math.Ceil(float64(milli)/float64(divisor.MilliValue()))), 10), nil
	}
	val := q.Value()
	if !have {
		if res != "memory" {
			return "0", nil
		}
		node, err := c.node(ctx)
		if err != nil {
			return "", err
		}
		val = node.Memory
	}
	return strconv.FormatInt(int64(math.Ceil(float64(val)/float64(divisor.Value()))), 10), nil
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

// CheckPodSpec reports whether the controller would admit a pod with this
// metadata and spec (its Pod Security level and hostPath rules), without
// running it. For a Job, pass its template's.
func (c *Controller) CheckPodSpec(meta *manifest.ObjectMeta, spec *manifest.PodSpec) error {
	return c.checkPodSecurity(meta, spec)
}
