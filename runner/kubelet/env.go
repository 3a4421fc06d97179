package kubelet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// containerEnv resolves a container's environment as the kubelet does:
// envFrom sources first (prefixed, in key order), then env in order, each
// value's $(VAR) references expanded against what is defined before it. A
// missing ConfigMap, Secret or key is a *ConfigError unless optional.
func (k *Kubelet) containerEnv(ctx context.Context, rec *runner.PodRecord, spec *manifest.Container) ([]string, error) {
	pod := &rec.Pod
	var keys []string
	vals := map[string]string{}
	set := func(key, v string) {
		if _, ok := vals[key]; !ok {
			keys = append(keys, key)
		}
		vals[key] = v
	}
	for _, ef := range spec.EnvFrom {
		var data map[string]string
		switch {
		case ef.ConfigMapRef != nil:
			cm, err := getRef(ctx, k.Store.ConfigMap, "configmap", pod.Namespace, ef.ConfigMapRef.Name, isTrue(ef.ConfigMapRef.Optional))
			if err != nil {
				return nil, err
			}
			if cm != nil {
				data = cm.Data
			}
		case ef.SecretRef != nil:
			s, err := getRef(ctx, k.Store.Secret, "secret", pod.Namespace, ef.SecretRef.Name, isTrue(ef.SecretRef.Optional))
			if err != nil {
				return nil, err
			}
			data = map[string]string{}
			if s != nil {
				for key, v := range SecretData(s) {
					data[key] = string(v)
				}
			}
		}
		for _, key := range slices.Sorted(maps.Keys(data)) {
			set(ef.Prefix+key, data[key])
		}
	}
	for _, e := range spec.Env {
		v := manifest.Expand(e.Value, vals)
		if e.ValueFrom != nil {
			var err error
			var skip bool
			v, skip, err = k.envSource(ctx, rec, spec, e.ValueFrom)
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
	for _, key := range keys {
		out = append(out, key+"="+vals[key])
	}
	return out, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// getRef gets the ConfigMap or Secret (kind, as the kubelet words it) that
// a pod references, with get. A missing one is nil when optional, else a
// *ConfigError.
func getRef[T any](ctx context.Context, get func(context.Context, string, string) (*T, error), kind, ns, name string, optional bool) (*T, error) {
	obj, err := get(ctx, ns, name)
	if errors.Is(err, runner.ErrObjectNotFound) {
		if optional {
			return nil, nil
		}
		return nil, &ConfigError{Msg: fmt.Sprintf("%s %q not found", kind, name)}
	}
	return obj, err
}

// keyRefValue resolves a configMapKeyRef or secretKeyRef: the value
// lookup finds in the object (a kind, got with get), or skip for a missing
// optional object or key, else a *ConfigError.
func keyRefValue[T any](ctx context.Context, get func(context.Context, string, string) (*T, error), kind, ns, name, key string,
	optional *bool, lookup func(*T) (string, bool)) (v string, skip bool, err error) {
	obj, err := getRef(ctx, get, strings.ToLower(kind), ns, name, isTrue(optional))
	switch {
	case err != nil:
		return "", false, err
	case obj == nil:
		return "", true, nil // missing and optional
	}
	if v, ok := lookup(obj); ok {
		return v, false, nil
	}
	if isTrue(optional) {
		return "", true, nil
	}
	return "", false, &ConfigError{Msg: fmt.Sprintf("couldn't find key %s in %s %s/%s", key, kind, ns, name)}
}

// envSource resolves one env valueFrom. skip is true for a missing
// optional key (the variable is left out, as in Kubernetes).
func (k *Kubelet) envSource(ctx context.Context, rec *runner.PodRecord, spec *manifest.Container, src *manifest.EnvVarSource) (v string, skip bool, err error) {
	pod := &rec.Pod
	switch {
	case src.FieldRef != nil:
		v, err := k.fieldValue(ctx, rec, src.FieldRef.FieldPath, false)
		if err != nil {
			return "", false, &ConfigError{Msg: err.Error()}
		}
		return v, false, nil
	case src.ResourceFieldRef != nil:
		v, err := k.resourceValue(ctx, pod, spec, src.ResourceFieldRef)
		if err != nil {
			return "", false, &ConfigError{Msg: err.Error()}
		}
		return v, false, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		return keyRefValue(ctx, k.Store.ConfigMap, "ConfigMap", pod.Namespace, ref.Name, ref.Key, ref.Optional,
			func(cm *manifest.ConfigMap) (string, bool) {
				if v, ok := cm.Data[ref.Key]; ok {
					return v, true
				}
				b, ok := cm.BinaryData[ref.Key]
				return string(b), ok
			})
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		return keyRefValue(ctx, k.Store.Secret, "Secret", pod.Namespace, ref.Name, ref.Key, ref.Optional,
			func(s *manifest.Secret) (string, bool) {
				b, ok := SecretData(s)[ref.Key]
				return string(b), ok
			})
	}
	return "", false, &ConfigError{Msg: "env source not supported by localjobs"}
}

// fieldValue is the downward API value of a pod field. volume allows the
// whole-map forms metadata.labels and metadata.annotations (downwardAPI
// volumes only), formatted as Kubernetes does: key="value" lines, sorted.
func (k *Kubelet) fieldValue(ctx context.Context, rec *runner.PodRecord, path string, volume bool) (string, error) {
	pod := &rec.Pod
	quoted := func(prefix string) (string, bool) {
		if strings.HasPrefix(path, prefix+"['") && strings.HasSuffix(path, "']") {
			return path[len(prefix)+2 : len(path)-2], true
		}
		return "", false
	}
	formatMap := func(m map[string]string) string {
		var lines []string
		for _, key := range slices.Sorted(maps.Keys(m)) {
			lines = append(lines, key+"="+strconv.Quote(m[key]))
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
	if key, ok := quoted("metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := quoted("metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// resourceValue is the downward API value of a container resource: the
// limit (the node's capacity when unset) or the request (the limit when
// unset, else 0), divided by the divisor and rounded up, as the kubelet.
func (k *Kubelet) resourceValue(ctx context.Context, pod *manifest.Pod, self *manifest.Container, ref *manifest.ResourceFieldSelector) (string, error) {
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
			node, err := k.node(ctx)
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
		node, err := k.node(ctx)
		if err != nil {
			return "", err
		}
		val = node.Memory
	}
	return strconv.FormatInt(int64(math.Ceil(float64(val)/float64(divisor.Value()))), 10), nil
}

func expandAll(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = manifest.Expand(s, vars)
	}
	return out
}
