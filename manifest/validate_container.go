package manifest

import (
	"fmt"
	"strings"
)

// validateContainer checks one container (or init container, init set) of
// a pod spec; names collects the container names seen so far.
func validateContainer(e *errs, c *Container, p fieldPath, volumes, names map[string]bool, init bool) {
	validateUniqueName(e, c.Name, p.child("name"), names)
	switch {
	case c.Image == "":
		e.required(p.child("image"), "")
	case strings.TrimSpace(c.Image) != c.Image:
		e.invalid(p.child("image"), c.Image, "must not have leading or trailing whitespace")
	}
	e.oneOf(p.child("imagePullPolicy"), c.ImagePullPolicy, PullAlways, PullIfNotPresent, PullNever)
	e.oneOf(p.child("terminationMessagePolicy"), c.TerminationMessagePolicy, "File", "FallbackToLogsOnError")
	if rp := c.RestartPolicy; rp != nil {
		if init {
			if *rp != RestartPolicyAlways {
				e.notSupported(p.child("restartPolicy"), *rp, RestartPolicyAlways)
			}
		} else {
			e.forbidden(p.child("restartPolicy"), "may not be set for non-init containers")
		}
	}
	validatePorts(e, c.Ports, p.child("ports"))
	for i := range c.Env {
		validateEnvVar(e, &c.Env[i], p.child("env").index(i))
	}
	validateEnvFrom(e, c.EnvFrom, p.child("envFrom"))
	validateVolumeMounts(e, c.VolumeMounts, p.child("volumeMounts"), volumes)
	validateResources(e, &c.Resources, p.child("resources"))
}

func validatePorts(e *errs, ports []ContainerPort, p fieldPath) {
	for i, port := range ports {
		pp := p.index(i)
		if port.ContainerPort < 1 || port.ContainerPort > 65535 {
			e.invalid(pp.child("containerPort"), port.ContainerPort, "must be between 1 and 65535, inclusive")
		}
		if port.HostPort < 0 || port.HostPort > 65535 {
			e.invalid(pp.child("hostPort"), port.HostPort, "must be between 1 and 65535, inclusive")
		}
		e.oneOf(pp.child("protocol"), port.Protocol, "SCTP", "TCP", "UDP")
	}
}

// validateEnvVar checks one env entry: its name and at most one source
// of valueFrom.
func validateEnvVar(e *errs, env *EnvVar, p fieldPath) {
	validateEnvName(e, env.Name, p.child("name"))
	vf := env.ValueFrom
	if vf == nil {
		return
	}
	fp := p.child("valueFrom")
	if env.Value != "" {
		e.invalid(fp, "", "may not be specified when `value` is not empty")
	}
	n := 0
	if vf.FieldRef != nil {
		n++
		validateFieldRef(e, vf.FieldRef, fp.child("fieldRef"))
	}
	if vf.ResourceFieldRef != nil {
		n++
		if vf.ResourceFieldRef.Resource == "" {
			e.required(fp.child("resourceFieldRef").child("resource"), "")
		}
	}
	for _, ks := range []struct {
		name string
		sel  *KeySelector
	}{{"configMapKeyRef", vf.ConfigMapKeyRef}, {"secretKeyRef", vf.SecretKeyRef}} {
		if ks.sel == nil {
			continue
		}
		n++
		kp := fp.child(ks.name)
		if ks.sel.Name == "" {
			e.required(kp.child("name"), "")
		}
		if ks.sel.Key == "" {
			e.required(kp.child("key"), "")
		} else if !configKeyRE.MatchString(ks.sel.Key) {
			e.invalid(kp.child("key"), ks.sel.Key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '"+configKeyFmt+"')")
		}
	}
	if len(vf.FileKeyRef) > 0 {
		n++
	}
	switch {
	case n == 0:
		e.invalid(fp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`")
	case n > 1:
		e.invalid(fp, "", "may not have more than one field specified at a time")
	}
}

func validateEnvName(e *errs, name string, p fieldPath) {
	if name == "" {
		e.required(p, "")
		return
	}
	for _, r := range name {
		if r < 32 || r > 126 || r == '=' {
			e.invalid(p, name, "a valid environment variable name must consist only of printable ASCII characters other than '='")
			return
		}
	}
}

func validateEnvFrom(e *errs, envFrom []EnvFromSource, p fieldPath) {
	for i, ef := range envFrom {
		fp := p.index(i)
		if ef.Prefix != "" {
			validateEnvName(e, ef.Prefix, fp.child("prefix"))
		}
		switch {
		case ef.ConfigMapRef != nil && ef.SecretRef != nil:
			e.invalid(fp, "", "may not have more than one field specified at a time")
		case ef.ConfigMapRef != nil:
			if ef.ConfigMapRef.Name == "" {
				e.required(fp.child("configMapRef").child("name"), "")
			}
		case ef.SecretRef != nil:
			if ef.SecretRef.Name == "" {
				e.required(fp.child("secretRef").child("name"), "")
			}
		default:
			e.invalid(fp, "", "must specify one of: `configMapRef` or `secretRef`")
		}
	}
}

// validateVolumeMounts checks a container's mounts against the pod's
// volumes.
func validateVolumeMounts(e *errs, mounts []VolumeMount, p fieldPath, volumes map[string]bool) {
	paths := map[string]bool{}
	for i, m := range mounts {
		mp := p.index(i)
		switch {
		case m.Name == "":
			e.required(mp.child("name"), "")
		case !volumes[m.Name]:
			e.add(mp.child("name"), "Not found: %q", m.Name)
		}
		switch {
		case m.MountPath == "":
			e.required(mp.child("mountPath"), "")
		case paths[m.MountPath]:
			e.invalid(mp.child("mountPath"), m.MountPath, "must be unique")
		}
		paths[m.MountPath] = true
		if m.SubPath != "" {
			validateLocalPath(e, m.SubPath, mp.child("subPath"))
		}
		if m.SubPath != "" && m.SubPathExpr != "" {
			e.invalid(mp.child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive")
		}
	}
}

// validateResources checks limits and requests: none negative, no request
// above its limit.
func validateResources(e *errs, r *ResourceRequirements, rp fieldPath) {
	for _, kind := range []string{"limits", "requests"} {
		list := r.Limits
		if kind == "requests" {
			list = r.Requests
		}
		for _, name := range sortedKeys(list) {
			q := list[name]
			if q.Sign() < 0 {
				e.invalid(rp.child(kind).key(name), q.String(), "must be greater than or equal to 0")
			}
		}
	}
	for _, name := range sortedKeys(r.Requests) {
		req := r.Requests[name]
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			e.invalid(rp.child("requests").key(name), req.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String()))
		}
	}
}
