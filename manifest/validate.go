package manifest

import (
	"encoding/json"
	"fmt"
	"net"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // timeZone validation must know every IANA zone, even in a scratch image

	"github.com/robfig/cron/v3"
)

// Validate checks a defaulted object (*Pod, *Job, *CronJob, *ConfigMap or
// *Secret) as the apiserver does on create, for what localjobs supports.
// The problems carry field paths and Kubernetes' messages but no file or
// line; Decode positions them.
func Validate(obj any) []Problem {
	var out []Problem
	for _, e := range validateObject(obj) {
		msg, _, _ := strings.Cut(e.msg, "\x00") // no file: as if every field were in it
		out = append(out, Problem{Path: e.path.String(), Msg: msg})
	}
	return out
}

// errs collects field errors in Kubernetes' formats.
type errs []fieldErr

func (e *errs) add(p fieldPath, format string, args ...any) {
	*e = append(*e, fieldErr{p, fmt.Sprintf(format, args...)})
}

func (e *errs) required(p fieldPath, detail string) {
	if detail == "" {
		e.add(p, "Required value")
		return
	}
	e.add(p, "Required value: %s", detail)
}

func (e *errs) invalid(p fieldPath, value any, detail string) {
	e.add(p, "Invalid value: %s: %s", fmtValue(value), detail)
}

func (e *errs) forbidden(p fieldPath, detail string) { e.add(p, "Forbidden: %s", detail) }

func (e *errs) notSupported(p fieldPath, value any, supported ...string) {
	q := make([]string, len(supported))
	for i, s := range supported {
		q[i] = strconv.Quote(s)
	}
	e.add(p, "Unsupported value: %s: supported values: %s", fmtValue(value), strings.Join(q, ", "))
}

func (e *errs) duplicate(p fieldPath, value any) { e.add(p, "Duplicate value: %s", fmtValue(value)) }

func (e *errs) nonNegative(p fieldPath, v any) {
	var n int64
	switch x := v.(type) {
	case *int32:
		if x == nil {
			return
		}
		n = int64(*x)
	case *int64:
		if x == nil {
			return
		}
		n = *x
	}
	if n < 0 {
		e.invalid(p, n, "must be greater than or equal to 0")
	}
}

// oneOf checks that v, if set, is one of supported.
func (e *errs) oneOf(p fieldPath, v string, supported ...string) {
	if v != "" && !slices.Contains(supported, v) {
		e.notSupported(p, v, supported...)
	}
}

// fmtValue renders a value as field.Error does: strings quoted.
func fmtValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case *string:
		if x == nil {
			return "null"
		}
		return strconv.Quote(*x)
	case *int32:
		if x == nil {
			return "null"
		}
		return strconv.Itoa(int(*x))
	case *int64:
		if x == nil {
			return "null"
		}
		return strconv.FormatInt(*x, 10)
	case *bool:
		if x == nil {
			return "null"
		}
		return strconv.FormatBool(*x)
	}
	return fmt.Sprint(v)
}

func validateObject(obj any) []fieldErr {
	var e errs
	meta := fieldPath{}.child("metadata")
	spec := fieldPath{}.child("spec")
	switch o := obj.(type) {
	case *Pod:
		validateMeta(&e, &o.ObjectMeta, meta, true, 0)
		validatePodSpec(&e, &o.Spec, spec, false)
	case *Job:
		validateMeta(&e, &o.ObjectMeta, meta, true, 63)
		validateJobSpec(&e, &o.Spec, spec, o.Name, false)
	case *CronJob:
		validateMeta(&e, &o.ObjectMeta, meta, true, 52)
		validateCronJobSpec(&e, &o.Spec, spec)
	case *ConfigMap:
		validateMeta(&e, &o.ObjectMeta, meta, true, 0)
		validateConfigMap(&e, o)
	case *Secret:
		validateMeta(&e, &o.ObjectMeta, meta, true, 0)
		validateSecret(&e, o)
	default:
		e.add(nil, "unsupported object type %T", obj)
	}
	return e
}

// ---- names and metadata ----

const (
	dns1123LabelFmt     = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
	dns1123SubdomainFmt = dns1123LabelFmt + "(\\." + dns1123LabelFmt + ")*"
	qualifiedNameFmt    = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
	labelValueFmt       = "(" + qualifiedNameFmt + ")?"
	configKeyFmt        = "[-._a-zA-Z0-9]+"
)

var (
	dns1123LabelRE     = regexp.MustCompile("^" + dns1123LabelFmt + "$")
	dns1123SubdomainRE = regexp.MustCompile("^" + dns1123SubdomainFmt + "$")
	qualifiedNameRE    = regexp.MustCompile("^" + qualifiedNameFmt + "$")
	labelValueRE       = regexp.MustCompile("^" + labelValueFmt + "$")
	configKeyRE        = regexp.MustCompile("^" + configKeyFmt + "$")
)

// dnsLabelErrors returns Kubernetes' messages for an invalid DNS-1123 label.
func dnsLabelErrors(s string) []string {
	var msgs []string
	if len(s) > 63 {
		msgs = append(msgs, "must be no more than 63 characters")
	}
	if !dns1123LabelRE.MatchString(s) {
		msgs = append(msgs, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '"+dns1123LabelFmt+"')")
	}
	return msgs
}

// dnsSubdomainErrors returns Kubernetes' messages for an invalid DNS-1123
// subdomain.
func dnsSubdomainErrors(s string) []string {
	var msgs []string
	if len(s) > 253 {
		msgs = append(msgs, "must be no more than 253 characters")
	}
	if !dns1123SubdomainRE.MatchString(s) {
		msgs = append(msgs, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '"+dns1123SubdomainFmt+"')")
	}
	return msgs
}

// qualifiedNameErrors validates a label or annotation key.
func qualifiedNameErrors(s string) []string {
	var msgs []string
	name := s
	if prefix, n, ok := strings.Cut(s, "/"); ok {
		name = n
		if prefix == "" {
			msgs = append(msgs, "prefix part must be non-empty")
		} else {
			for _, m := range dnsSubdomainErrors(prefix) {
				msgs = append(msgs, "prefix part "+m)
			}
		}
		if strings.Contains(name, "/") {
			return append(msgs, "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '"+qualifiedNameFmt+"') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
		}
	}
	switch {
	case name == "":
		msgs = append(msgs, "name part must be non-empty")
	case len(name) > 63:
		msgs = append(msgs, "name part must be no more than 63 characters")
	}
	if name != "" && !qualifiedNameRE.MatchString(name) {
		msgs = append(msgs, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '"+qualifiedNameFmt+"')")
	}
	return msgs
}

func labelValueErrors(s string) []string {
	var msgs []string
	if len(s) > 63 {
		msgs = append(msgs, "must be no more than 63 characters")
	}
	if !labelValueRE.MatchString(s) {
		msgs = append(msgs, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '"+labelValueFmt+"')")
	}
	return msgs
}

// validateMeta checks metadata; maxName > 0 further limits the name length
// (63 for Jobs, whose name becomes a label value; 52 for CronJobs, whose
// Jobs' names add 11 characters).
func validateMeta(e *errs, m *ObjectMeta, p fieldPath, top bool, maxName int) {
	switch {
	case m.Name != "":
		for _, msg := range dnsSubdomainErrors(m.Name) {
			e.invalid(p.child("name"), m.Name, msg)
		}
		if maxName > 0 && len(m.Name) > maxName && len(m.Name) <= 253 {
			e.invalid(p.child("name"), m.Name, fmt.Sprintf("must be no more than %d characters", maxName))
		}
	case m.GenerateName != "":
		// As apimachinery's prefix check: a trailing '-' is allowed.
		g := m.GenerateName
		if len(g) > 1 && strings.HasSuffix(g, "-") {
			g = g[:len(g)-1] + "a"
		}
		for _, msg := range dnsSubdomainErrors(g) {
			e.invalid(p.child("generateName"), m.GenerateName, msg)
		}
	case top:
		e.required(p.child("name"), "name or generateName is required")
	}
	if top && m.Namespace != "" {
		for _, msg := range dnsLabelErrors(m.Namespace) {
			e.invalid(p.child("namespace"), m.Namespace, msg)
		}
	}
	for _, k := range sortedKeys(m.Labels) {
		for _, msg := range qualifiedNameErrors(k) {
			e.invalid(p.child("labels"), k, msg)
		}
		for _, msg := range labelValueErrors(m.Labels[k]) {
			e.invalid(p.child("labels").key(k), m.Labels[k], msg)
		}
	}
	size := 0
	for _, k := range sortedKeys(m.Annotations) {
		size += len(k) + len(m.Annotations[k])
		for _, msg := range qualifiedNameErrors(strings.ToLower(k)) {
			e.invalid(p.child("annotations"), k, msg)
		}
	}
	if size > 256*1024 {
		e.add(p.child("annotations"), "Too long: may not be more than 262144 bytes")
	}
	validateNotify(e, m.Annotations, p.child("annotations"))
}

// ---- Pod ----

var fieldRefPaths = []string{
	"metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels", "metadata.annotations",
	"spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
}

var fieldRefKeyRE = regexp.MustCompile(`^metadata\.(labels|annotations)\['[^']+'\]$`)

// validatePodSpec checks a pod spec; in a Job template (job set) the
// restartPolicy is left to validateJobSpec, which allows fewer values.
func validatePodSpec(e *errs, s *PodSpec, p fieldPath, job bool) {
	volumes := validateVolumes(e, s.Volumes, p.child("volumes"))

	if len(s.Containers) == 0 {
		e.required(p.child("containers"), "")
	}
	names := map[string]bool{}
	for i := range s.InitContainers {
		validateContainer(e, &s.InitContainers[i], p.child("initContainers").index(i), volumes, names, true)
	}
	for i := range s.Containers {
		validateContainer(e, &s.Containers[i], p.child("containers").index(i), volumes, names, false)
	}

	switch s.RestartPolicy {
	case RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever:
	case "":
		if job {
			break
		}
		e.required(p.child("restartPolicy"), "")
	default:
		if !job {
			e.notSupported(p.child("restartPolicy"), s.RestartPolicy, RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever)
		}
	}
	e.oneOf(p.child("dnsPolicy"), s.DNSPolicy, "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
	if s.DNSPolicy == "None" && (s.DNSConfig == nil || len(s.DNSConfig.Nameservers) == 0) {
		e.required(p.child("dnsConfig").child("nameservers"), "must provide at least one DNS nameserver when dnsPolicy is None")
	}
	if c := s.DNSConfig; c != nil {
		if len(c.Nameservers) > 3 {
			e.invalid(p.child("dnsConfig").child("nameservers"), strings.Join(c.Nameservers, " "), "must not have more than 3 nameservers")
		}
		for i, ns := range c.Nameservers {
			if net.ParseIP(ns) == nil {
				e.invalid(p.child("dnsConfig").child("nameservers").index(i), ns, "must be valid IP address")
			}
		}
		if len(c.Searches) > 32 {
			e.invalid(p.child("dnsConfig").child("searches"), strings.Join(c.Searches, " "), "must not have more than 32 search paths")
		}
	}
	e.nonNegative(p.child("terminationGracePeriodSeconds"), s.TerminationGracePeriodSeconds)
	if a := s.ActiveDeadlineSeconds; a != nil && (*a < 1 || *a > 1<<31-1) {
		e.invalid(p.child("activeDeadlineSeconds"), *a, "must be between 1 and 2147483647, inclusive")
	}
	if s.Hostname != "" {
		for _, msg := range dnsLabelErrors(s.Hostname) {
			e.invalid(p.child("hostname"), s.Hostname, msg)
		}
	}
	if s.Subdomain != "" {
		for _, msg := range dnsLabelErrors(s.Subdomain) {
			e.invalid(p.child("subdomain"), s.Subdomain, msg)
		}
	}
	for i, h := range s.HostAliases {
		hp := p.child("hostAliases").index(i)
		if net.ParseIP(h.IP) == nil {
			e.invalid(hp.child("ip"), h.IP, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
		}
		for j, name := range h.Hostnames {
			for _, msg := range dnsSubdomainErrors(name) {
				e.invalid(hp.child("hostnames").index(j), name, msg)
			}
		}
	}
	if s.HostPID && s.ShareProcessNamespace != nil && *s.ShareProcessNamespace {
		e.invalid(p.child("shareProcessNamespace"), true, "ShareProcessNamespace and HostPID cannot both be enabled")
	}
	for i, ref := range s.ImagePullSecrets {
		if ref.Name == "" {
			e.required(p.child("imagePullSecrets").index(i).child("name"), "")
		}
	}
}

// validVolumeSources are the sources localjobs provides (DESIGN §3).
var validVolumeSources = []string{"emptyDir", "hostPath", "configMap", "secret", "projected", "downwardAPI"}

// validateVolumes checks volumes and returns their names.
func validateVolumes(e *errs, vols []Volume, p fieldPath) map[string]bool {
	names := map[string]bool{}
	for i := range vols {
		v := &vols[i]
		vp := p.index(i)
		switch {
		case v.Name == "":
			e.required(vp.child("name"), "")
		case names[v.Name]:
			e.duplicate(vp.child("name"), v.Name)
		default:
			for _, msg := range dnsLabelErrors(v.Name) {
				e.invalid(vp.child("name"), v.Name, msg)
			}
		}
		names[v.Name] = true

		// Count every source set, typed or raw (raw ones are rejected by
		// unsupportedFields with their own message).
		n := 0
		rv := reflect.ValueOf(v).Elem()
		for _, name := range sortedFieldOrder(rv.Type()) {
			if name != "name" && !rv.FieldByIndex(jsonFields(rv.Type())[name].index).IsZero() {
				n++
			}
		}
		switch {
		case n == 0:
			e.required(vp, "must specify a volume type (localjobs provides "+strings.Join(validVolumeSources, ", ")+")")
		case n > 1:
			e.forbidden(vp, "may not specify more than 1 volume type")
		}
		switch {
		case v.HostPath != nil:
			hp := vp.child("hostPath")
			if v.HostPath.Path == "" {
				e.required(hp.child("path"), "")
			}
			if t := v.HostPath.Type; t != nil {
				e.oneOf(hp.child("type"), *t, "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice")
			}
		case v.EmptyDir != nil:
			e.oneOf(vp.child("emptyDir").child("medium"), v.EmptyDir.Medium, "Memory")
		case v.Secret != nil:
			sp := vp.child("secret")
			if v.Secret.SecretName == "" {
				e.required(sp.child("secretName"), "")
			}
			validateMode(e, v.Secret.DefaultMode, sp.child("defaultMode"))
			validateKeyToPaths(e, v.Secret.Items, sp.child("items"))
		case v.ConfigMap != nil:
			cp := vp.child("configMap")
			if v.ConfigMap.Name == "" {
				e.required(cp.child("name"), "")
			}
			validateMode(e, v.ConfigMap.DefaultMode, cp.child("defaultMode"))
			validateKeyToPaths(e, v.ConfigMap.Items, cp.child("items"))
		case v.DownwardAPI != nil:
			dp := vp.child("downwardAPI")
			validateMode(e, v.DownwardAPI.DefaultMode, dp.child("defaultMode"))
			validateDownwardFiles(e, v.DownwardAPI.Items, dp.child("items"))
		case v.Projected != nil:
			pp := vp.child("projected")
			validateMode(e, v.Projected.DefaultMode, pp.child("defaultMode"))
			for j, src := range v.Projected.Sources {
				sp := pp.child("sources").index(j)
				k := 0
				if src.Secret != nil {
					k++
					if src.Secret.Name == "" {
						e.required(sp.child("secret").child("name"), "")
					}
					validateKeyToPaths(e, src.Secret.Items, sp.child("secret").child("items"))
				}
				if src.ConfigMap != nil {
					k++
					if src.ConfigMap.Name == "" {
						e.required(sp.child("configMap").child("name"), "")
					}
					validateKeyToPaths(e, src.ConfigMap.Items, sp.child("configMap").child("items"))
				}
				if src.DownwardAPI != nil {
					k++
					validateDownwardFiles(e, src.DownwardAPI.Items, sp.child("downwardAPI").child("items"))
				}
				if len(src.ServiceAccountToken)+len(src.ClusterTrustBundle)+len(src.PodCertificate) > 0 {
					k++
				}
				if k > 1 {
					e.forbidden(sp, "may not specify more than 1 volume type per source")
				} else if k == 0 {
					e.required(sp, "must specify one volume projection")
				}
			}
		}
	}
	return names
}

func validateMode(e *errs, mode *int32, p fieldPath) {
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		e.invalid(p, *mode, "must be a number between 0 and 0777 (octal), both inclusive")
	}
}

// validateLocalPath checks a path inside a volume: relative, no "..".
func validateLocalPath(e *errs, s string, p fieldPath) {
	switch {
	case s == "":
		e.required(p, "")
	case path.IsAbs(s):
		e.invalid(p, s, "must be a relative path")
	case slices.Contains(strings.Split(s, "/"), ".."):
		e.invalid(p, s, "must not contain '..'")
	}
}

func validateKeyToPaths(e *errs, items []KeyToPath, p fieldPath) {
	for i, it := range items {
		ip := p.index(i)
		if it.Key == "" {
			e.required(ip.child("key"), "")
		}
		validateLocalPath(e, it.Path, ip.child("path"))
		validateMode(e, it.Mode, ip.child("mode"))
	}
}

func validateDownwardFiles(e *errs, items []DownwardAPIVolumeFile, p fieldPath) {
	for i, it := range items {
		ip := p.index(i)
		validateLocalPath(e, it.Path, ip.child("path"))
		validateMode(e, it.Mode, ip.child("mode"))
		switch {
		case it.FieldRef != nil && it.ResourceFieldRef != nil:
			e.invalid(ip, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously")
		case it.FieldRef != nil:
			validateFieldRef(e, it.FieldRef, ip.child("fieldRef"))
		case it.ResourceFieldRef == nil:
			e.required(ip, "one of fieldRef and resourceFieldRef is required")
		}
	}
}

func validateFieldRef(e *errs, f *ObjectFieldSelector, p fieldPath) {
	switch {
	case f.FieldPath == "":
		e.required(p.child("fieldPath"), "")
	case f.APIVersion != "" && f.APIVersion != "v1":
		e.notSupported(p.child("apiVersion"), f.APIVersion, "v1")
	case fieldRefKeyRE.MatchString(f.FieldPath):
	case !slices.Contains(fieldRefPaths, f.FieldPath):
		e.notSupported(p.child("fieldPath"), f.FieldPath, fieldRefPaths...)
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

func validateContainer(e *errs, c *Container, p fieldPath, volumes, names map[string]bool, init bool) {
	switch {
	case c.Name == "":
		e.required(p.child("name"), "")
	case names[c.Name]:
		e.duplicate(p.child("name"), c.Name)
	default:
		for _, msg := range dnsLabelErrors(c.Name) {
			e.invalid(p.child("name"), c.Name, msg)
		}
	}
	names[c.Name] = true
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
	for i, port := range c.Ports {
		pp := p.child("ports").index(i)
		if port.ContainerPort < 1 || port.ContainerPort > 65535 {
			e.invalid(pp.child("containerPort"), port.ContainerPort, "must be between 1 and 65535, inclusive")
		}
		if port.HostPort < 0 || port.HostPort > 65535 {
			e.invalid(pp.child("hostPort"), port.HostPort, "must be between 1 and 65535, inclusive")
		}
		e.oneOf(pp.child("protocol"), port.Protocol, "SCTP", "TCP", "UDP")
	}
	for i, env := range c.Env {
		ep := p.child("env").index(i)
		validateEnvName(e, env.Name, ep.child("name"))
		vf := env.ValueFrom
		if vf == nil {
			continue
		}
		fp := ep.child("valueFrom")
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
	for i, ef := range c.EnvFrom {
		fp := p.child("envFrom").index(i)
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
	mounts := map[string]bool{}
	for i, m := range c.VolumeMounts {
		mp := p.child("volumeMounts").index(i)
		switch {
		case m.Name == "":
			e.required(mp.child("name"), "")
		case !volumes[m.Name]:
			e.add(mp.child("name"), "Not found: %q", m.Name)
		}
		switch {
		case m.MountPath == "":
			e.required(mp.child("mountPath"), "")
		case mounts[m.MountPath]:
			e.invalid(mp.child("mountPath"), m.MountPath, "must be unique")
		}
		mounts[m.MountPath] = true
		if m.SubPath != "" {
			validateLocalPath(e, m.SubPath, mp.child("subPath"))
		}
		if m.SubPath != "" && m.SubPathExpr != "" {
			e.invalid(mp.child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive")
		}
	}
	rp := p.child("resources")
	for _, kind := range []string{"limits", "requests"} {
		list := c.Resources.Limits
		if kind == "requests" {
			list = c.Resources.Requests
		}
		for _, name := range sortedKeys(list) {
			q := list[name]
			if q.Sign() < 0 {
				e.invalid(rp.child(kind).key(name), q.String(), "must be greater than or equal to 0")
			}
		}
	}
	for _, name := range sortedKeys(c.Resources.Requests) {
		req := c.Resources.Requests[name]
		if lim, ok := c.Resources.Limits[name]; ok && req.Cmp(lim) > 0 {
			e.invalid(rp.child("requests").key(name), req.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String()))
		}
	}
}

// ---- Job ----

func validateJobSpec(e *errs, s *JobSpec, p fieldPath, jobName string, inCronJob bool) {
	e.nonNegative(p.child("parallelism"), s.Parallelism)
	e.nonNegative(p.child("completions"), s.Completions)
	e.nonNegative(p.child("activeDeadlineSeconds"), s.ActiveDeadlineSeconds)
	e.nonNegative(p.child("backoffLimit"), s.BackoffLimit)
	e.nonNegative(p.child("ttlSecondsAfterFinished"), s.TTLSecondsAfterFinished)
	e.nonNegative(p.child("backoffLimitPerIndex"), s.BackoffLimitPerIndex)
	e.nonNegative(p.child("maxFailedIndexes"), s.MaxFailedIndexes)

	indexed := s.CompletionMode != nil && *s.CompletionMode == IndexedCompletion
	if s.CompletionMode != nil {
		e.oneOf(p.child("completionMode"), *s.CompletionMode, NonIndexedCompletion, IndexedCompletion)
	}
	const maxIndexed, maxPerIndexParallelism = 100000, 10000
	if indexed {
		if s.Completions == nil {
			e.required(p.child("completions"), "when completion mode is Indexed")
		}
		if s.Parallelism != nil && *s.Parallelism > maxIndexed {
			e.invalid(p.child("parallelism"), *s.Parallelism, "must be less than or equal to 100000 when completion mode is Indexed")
		}
		if s.Completions != nil && s.MaxFailedIndexes != nil {
			if *s.MaxFailedIndexes > *s.Completions {
				e.invalid(p.child("maxFailedIndexes"), *s.MaxFailedIndexes, "must be less than or equal to completions")
			}
			if *s.MaxFailedIndexes > maxIndexed {
				e.invalid(p.child("maxFailedIndexes"), *s.MaxFailedIndexes, "must be less than or equal to 100000")
			}
		}
		if s.Completions != nil && *s.Completions > maxIndexed && s.BackoffLimitPerIndex != nil {
			if s.MaxFailedIndexes == nil {
				e.required(p.child("maxFailedIndexes"), "must be specified when completions is above 100000")
			} else if *s.MaxFailedIndexes > maxPerIndexParallelism {
				e.invalid(p.child("maxFailedIndexes"), *s.MaxFailedIndexes, "must be less than or equal to 10000 when completions is above 100000")
			}
			if s.Parallelism != nil && *s.Parallelism > maxPerIndexParallelism {
				e.invalid(p.child("parallelism"), *s.Parallelism, "must be less than or equal to 10000 when completions is above 100000")
			}
		}
		if jobName != "" && s.Completions != nil && *s.Completions > 0 {
			last := fmt.Sprintf("%s-%d", jobName, *s.Completions-1)
			if len(dnsLabelErrors(last)) > 0 {
				e.invalid(fieldPath{}.child("metadata").child("name"), jobName, "will not able to create pod with invalid DNS label: "+last)
			}
		}
	} else {
		if s.BackoffLimitPerIndex != nil {
			e.invalid(p.child("backoffLimitPerIndex"), *s.BackoffLimitPerIndex, "requires indexed completion mode")
		}
		if s.MaxFailedIndexes != nil {
			e.invalid(p.child("maxFailedIndexes"), *s.MaxFailedIndexes, "requires indexed completion mode")
		}
		if s.SuccessPolicy != nil {
			e.invalid(p.child("successPolicy"), "", "requires indexed completion mode")
		}
	}
	if s.MaxFailedIndexes != nil && s.BackoffLimitPerIndex == nil {
		e.required(p.child("backoffLimitPerIndex"), "when maxFailedIndexes is specified")
	}

	tp := p.child("template")
	rp := tp.child("spec").child("restartPolicy")
	switch rp2 := s.Template.Spec.RestartPolicy; rp2 {
	case RestartPolicyOnFailure, RestartPolicyNever:
	case "", RestartPolicyAlways:
		// Kubernetes says `Required value: valid values: "OnFailure",
		// "Never"` whether restartPolicy is unset (Always by default) or
		// Always; for an explicit Always, say what is wrong with it.
		e.add(rp, "%s", ifAbsent(
			fmt.Sprintf("Unsupported value: %q: Always is not allowed in a Job (its pods must finish); use OnFailure or Never", RestartPolicyAlways),
			`Required value: valid values: "OnFailure", "Never" (a Job's pods must finish, so the Pod default Always is not allowed)`))
	default:
		e.notSupported(rp, rp2, RestartPolicyOnFailure, RestartPolicyNever)
	}
	if s.PodFailurePolicy != nil {
		if r := s.Template.Spec.RestartPolicy; r == RestartPolicyOnFailure {
			e.invalid(rp, r, `only "Never" is supported when podFailurePolicy is specified`)
		}
		validatePodFailurePolicy(e, s, p.child("podFailurePolicy"))
	}
	if s.SuccessPolicy != nil && indexed {
		validateSuccessPolicy(e, s, p.child("successPolicy"))
	}
	if r := s.PodReplacementPolicy; r != nil {
		if s.PodFailurePolicy != nil {
			e.oneOf(p.child("podReplacementPolicy"), *r, ReplaceFailed)
		} else {
			e.oneOf(p.child("podReplacementPolicy"), *r, ReplaceFailed, ReplaceTerminatingOrFailed)
		}
	}
	if m := s.ManagedBy; m != nil {
		if len(*m) > 63 {
			e.add(p.child("managedBy"), "Too long: may not be more than 63 bytes")
		} else if !strings.Contains(*m, "/") {
			e.invalid(p.child("managedBy"), *m, "must be a domain-prefixed path (such as \"acme.io/foo\")")
		}
	}

	manual := s.ManualSelector != nil && *s.ManualSelector
	switch {
	case inCronJob && s.Selector != nil:
		e.invalid(p.child("selector"), "", "`selector` will be auto-generated")
	case inCronJob && manual:
		e.notSupported(p.child("manualSelector"), true, "nil", "false")
	case !manual && s.Selector != nil:
		e.invalid(p.child("selector"), "", "`selector` not auto-generated")
	case manual && s.Selector == nil:
		e.required(p.child("selector"), "")
	case manual && !selectorMatches(s.Selector, s.Template.Labels):
		e.invalid(tp.child("metadata").child("labels"), fmt.Sprint(s.Template.Labels), "`selector` does not match template `labels`")
	}
	validateMeta(e, &s.Template.ObjectMeta, tp.child("metadata"), false, 0)
	validatePodSpec(e, &s.Template.Spec, tp.child("spec"), true)
}

// selectorMatches reports whether labels satisfy sel.
func selectorMatches(sel *LabelSelector, labels map[string]string) bool {
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	for _, r := range sel.MatchExpressions {
		v, has := labels[r.Key]
		switch r.Operator {
		case "In":
			if !has || !slices.Contains(r.Values, v) {
				return false
			}
		case "NotIn":
			if has && slices.Contains(r.Values, v) {
				return false
			}
		case "Exists":
			if !has {
				return false
			}
		case "DoesNotExist":
			if has {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func validatePodFailurePolicy(e *errs, s *JobSpec, p fieldPath) {
	pfp := s.PodFailurePolicy
	rp := p.child("rules")
	if len(pfp.Rules) > 20 {
		e.add(rp, "Too many: %d: must have at most 20 items", len(pfp.Rules))
	}
	containers := map[string]bool{}
	for _, c := range s.Template.Spec.InitContainers {
		containers[c.Name] = true
	}
	for _, c := range s.Template.Spec.Containers {
		containers[c.Name] = true
	}
	for i, r := range pfp.Rules {
		ip := rp.index(i)
		switch r.Action {
		case "":
			e.required(ip.child("action"), "")
		case "Count", "FailJob", "Ignore":
		case "FailIndex":
			if s.BackoffLimitPerIndex == nil {
				e.invalid(ip.child("action"), r.Action, "requires the backoffLimitPerIndex to be set")
			}
		default:
			e.notSupported(ip.child("action"), r.Action, "Count", "FailIndex", "FailJob", "Ignore")
		}
		switch {
		case r.OnExitCodes != nil && r.OnPodConditions != nil:
			e.invalid(ip, "", "specifying both OnExitCodes and OnPodConditions is not supported")
		case r.OnExitCodes == nil && r.OnPodConditions == nil:
			e.invalid(ip, "", "specifying one of OnExitCodes and OnPodConditions is required")
		}
		if oc := r.OnExitCodes; oc != nil {
			op := ip.child("onExitCodes")
			switch oc.Operator {
			case "":
				e.required(op.child("operator"), "")
			case "In", "NotIn":
			default:
				e.notSupported(op.child("operator"), oc.Operator, "In", "NotIn")
			}
			vp := op.child("values")
			switch {
			case len(oc.Values) == 0:
				e.invalid(vp, 0, "at least one value is required")
			case len(oc.Values) > 255:
				e.add(vp, "Too many: %d: must have at most 255 items", len(oc.Values))
			}
			for j, v := range oc.Values {
				switch {
				case oc.Operator == "In" && v == 0:
					e.invalid(vp.index(j), v, "must not be 0 for the In operator")
				case j > 0 && v == oc.Values[j-1]:
					e.duplicate(vp.index(j), v)
				case j > 0 && v < oc.Values[j-1]:
					e.invalid(vp.index(j), v, "must be ordered")
				}
			}
			if oc.ContainerName != nil && !containers[*oc.ContainerName] {
				e.invalid(op.child("containerName"), *oc.ContainerName, "must be one of the container or initContainer names in the pod template")
			}
		}
		if len(r.OnPodConditions) > 20 {
			e.add(ip.child("onPodConditions"), "Too many: %d: must have at most 20 items", len(r.OnPodConditions))
		}
		for j, c := range r.OnPodConditions {
			cp := ip.child("onPodConditions").index(j)
			if c.Type == "" {
				e.required(cp.child("type"), "")
			} else {
				for _, msg := range qualifiedNameErrors(c.Type) {
					e.invalid(cp.child("type"), c.Type, msg)
				}
			}
			e.oneOf(cp.child("status"), c.Status, "True", "False", "Unknown")
		}
	}
}

// parseIndexes parses an index list such as "0,2-4" as successPolicy and
// Job status use it, checking order and bounds; it returns the number of
// indexes listed.
func parseIndexes(s string, completions int32) (int64, string) {
	var n int64
	last := int64(-1)
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(lo, 10, 32)
		if err != nil {
			return 0, fmt.Sprintf("error parsing %q: not a non-negative integer", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(hi, 10, 32); err != nil {
				return 0, fmt.Sprintf("error parsing %q: not a non-negative integer", part)
			}
			if b <= a {
				return 0, fmt.Sprintf("range %q: the first index must be smaller than the last", part)
			}
		}
		if a <= last {
			return 0, fmt.Sprintf("%q: indexes must be in ascending order without overlap", part)
		}
		if b >= int64(completions) {
			return 0, fmt.Sprintf("%q: must be less than completions (%d)", part, completions)
		}
		n += b - a + 1
		last = b
	}
	return n, ""
}

func validateSuccessPolicy(e *errs, s *JobSpec, p fieldPath) {
	rp := p.child("rules")
	switch n := len(s.SuccessPolicy.Rules); {
	case n == 0:
		e.required(rp, "at least one rules must be specified when the successPolicy is specified")
	case n > 20:
		e.add(rp, "Too many: %d: must have at most 20 items", n)
	}
	completions := int32(0)
	if s.Completions != nil {
		completions = *s.Completions
	}
	for i, r := range s.SuccessPolicy.Rules {
		ip := rp.index(i)
		if r.SucceededIndexes == nil && r.SucceededCount == nil {
			e.required(ip, "at least one of succeededCount or succeededIndexes must be specified")
			continue
		}
		total := int64(-1)
		if r.SucceededIndexes != nil {
			if len(*r.SucceededIndexes) > 64*1024 {
				e.add(ip.child("succeededIndexes"), "Too long: may not be more than 65536 bytes")
			} else if n, msg := parseIndexes(*r.SucceededIndexes, completions); msg != "" {
				e.invalid(ip.child("succeededIndexes"), *r.SucceededIndexes, msg)
			} else {
				total = n
			}
		}
		if c := r.SucceededCount; c != nil {
			cp := ip.child("succeededCount")
			switch {
			case *c < 0:
				e.invalid(cp, *c, "must be greater than or equal to 0")
			case *c > completions:
				e.invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions))
			case total >= 0 && int64(*c) > total:
				e.invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total))
			}
		}
	}
}

// ---- CronJob ----

var timeZonePartRE = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// checkSchedule parses a CronJob schedule as Kubernetes does (robfig/cron
// ParseStandard), refusing TZ= and CRON_TZ= prefixes and turning the
// parser's panics into errors; an error names the field at fault and what
// it accepts (ExplainSchedule).
func checkSchedule(s string) error {
	if strings.Contains(s, "TZ") {
		return fmt.Errorf("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
	}
	if _, err := parseSchedule(s); err != nil {
		return ExplainSchedule(s, err)
	}
	return nil
}

// parseSchedule is cron.ParseStandard with its panics turned into errors.
func parseSchedule(expr string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("invalid schedule: %v", r)
		}
	}()
	return cron.ParseStandard(expr)
}

// scheduleFields are the five fields of a schedule with what each accepts.
var scheduleFields = [5]struct{ name, allowed string }{
	{"minute", "0-59"},
	{"hour", "0-23"},
	{"day-of-month", "1-31"},
	{"month", "1-12 or JAN-DEC"},
	{"day-of-week", "0-6 or SUN-SAT, Sunday is 0 and 7 is not accepted"},
}

// ExplainSchedule turns robfig/cron's error about expr into one that
// names the field at fault and what it accepts, keeping robfig's own
// text: `minute field "61": end of range (61) above maximum (59): 61
// (allowed: 0-59; …)`. validate and localjobs schedule say the same.
func ExplainSchedule(expr string, err error) error {
	trimmed := strings.TrimSpace(expr)
	if strings.HasPrefix(trimmed, "@") {
		if strings.HasPrefix(trimmed, "@every") {
			return fmt.Errorf("@every needs a Go duration such as @every 1h30m: %w", err)
		}
		return fmt.Errorf("%w (macros: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every D; @reboot is not supported, use the localjobs.io/run-on-start annotation)", err)
	}
	fields := strings.Fields(trimmed)
	if len(fields) != 5 {
		return fmt.Errorf("%w (want minute hour day-of-month month day-of-week; there is no seconds field)", err)
	}
	for i, f := range fields {
		probe := []string{"*", "*", "*", "*", "*"}
		probe[i] = f
		if _, perr := parseSchedule(strings.Join(probe, " ")); perr != nil {
			return fmt.Errorf("%s field %q: %w (allowed: %s; also *, ?, a,b lists, a-b ranges, */n and a-b/n steps)",
				scheduleFields[i].name, f, perr, scheduleFields[i].allowed)
		}
	}
	return err
}

func validateCronJobSpec(e *errs, s *CronJobSpec, p fieldPath) {
	if s.Schedule == "" {
		e.required(p.child("schedule"), "")
	} else if err := checkSchedule(s.Schedule); err != nil {
		e.invalid(p.child("schedule"), s.Schedule, err.Error())
	}
	if tz := s.TimeZone; tz != nil {
		tp := p.child("timeZone")
		switch {
		case *tz == "":
			e.invalid(tp, *tz, "timeZone must be nil or non-empty string")
		case strings.EqualFold(*tz, "Local"):
			e.invalid(tp, *tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")
		default:
			ok := true
			for part := range strings.SplitSeq(*tz, "/") {
				if part == "." || part == ".." || strings.HasPrefix(part, "-") || !timeZonePartRE.MatchString(part) {
					ok = false
				}
			}
			if !ok {
				e.invalid(tp, *tz, "unknown time zone "+*tz)
			} else if _, err := time.LoadLocation(*tz); err != nil {
				e.invalid(tp, *tz, err.Error())
			}
		}
	}
	e.nonNegative(p.child("startingDeadlineSeconds"), s.StartingDeadlineSeconds)
	e.nonNegative(p.child("successfulJobsHistoryLimit"), s.SuccessfulJobsHistoryLimit)
	e.nonNegative(p.child("failedJobsHistoryLimit"), s.FailedJobsHistoryLimit)
	switch s.ConcurrencyPolicy {
	case ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace:
	case "":
		e.required(p.child("concurrencyPolicy"), "")
	default:
		e.notSupported(p.child("concurrencyPolicy"), s.ConcurrencyPolicy, ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace)
	}
	jp := p.child("jobTemplate")
	validateMeta(e, &s.JobTemplate.ObjectMeta, jp.child("metadata"), false, 0)
	validateJobSpec(e, &s.JobTemplate.Spec, jp.child("spec"), "", true)
}

// scheduleWarnings returns the warnings validation gives for a valid
// CronJob schedule: an @every interval below a minute runs at most once a
// minute, because Job names are per minute (DESIGN §8).
func scheduleWarnings(s *CronJobSpec, p fieldPath) []fieldErr {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s.Schedule), "@every ")
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(rest))
	if err != nil || d >= time.Minute {
		return nil
	}
	return []fieldErr{{p.child("schedule"), fmt.Sprintf("%q runs at most once a minute: each run's Job is named after its minute", s.Schedule)}}
}

// ---- ConfigMap and Secret ----

func validateDataKeys(e *errs, keys []string, p fieldPath) {
	for _, k := range keys {
		switch {
		case len(k) > 253:
			e.invalid(p, k, "must be no more than 253 characters")
		case k == "." || k == "..":
			e.invalid(p, k, "must not be '.' or '..'")
		case strings.HasPrefix(k, ".."):
			e.invalid(p, k, "must not start with '..'")
		case !configKeyRE.MatchString(k):
			e.invalid(p, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '"+configKeyFmt+"')")
		}
	}
}

const maxDataSize = 1 << 20

func validateConfigMap(e *errs, c *ConfigMap) {
	dp := fieldPath{}.child("data")
	validateDataKeys(e, sortedKeys(c.Data), dp)
	validateDataKeys(e, sortedKeys(c.BinaryData), fieldPath{}.child("binaryData"))
	size := 0
	for _, k := range sortedKeys(c.Data) {
		size += len(k) + len(c.Data[k])
		if _, dup := c.BinaryData[k]; dup {
			e.invalid(dp, k, "duplicate of key present in binaryData")
		}
	}
	for k, v := range c.BinaryData {
		size += len(k) + len(v)
	}
	if size > maxDataSize {
		e.add(nil, "Too long: must have at most %d bytes", maxDataSize)
	}
}

func validateSecret(e *errs, s *Secret) {
	dp := fieldPath{}.child("data")
	validateDataKeys(e, sortedKeys(s.Data), dp)
	size := 0
	for k, v := range s.Data {
		size += len(k) + len(v)
	}
	if size > maxDataSize {
		e.add(dp, "Too long: must have at most %d bytes", maxDataSize)
	}
	need := func(key string) bool {
		if _, ok := s.Data[key]; !ok {
			e.required(dp.key(key), "")
			return false
		}
		return true
	}
	switch s.Type {
	case "kubernetes.io/dockerconfigjson":
		if need(".dockerconfigjson") && !json.Valid(s.Data[".dockerconfigjson"]) {
			e.invalid(dp.key(".dockerconfigjson"), "<secret contents redacted>", "must be valid JSON")
		}
	case "kubernetes.io/dockercfg":
		if need(".dockercfg") && !json.Valid(s.Data[".dockercfg"]) {
			e.invalid(dp.key(".dockercfg"), "<secret contents redacted>", "must be valid JSON")
		}
	case "kubernetes.io/tls":
		need("tls.crt")
		need("tls.key")
	case "kubernetes.io/ssh-auth":
		need("ssh-privatekey")
	}
}
