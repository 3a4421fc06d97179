package manifest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// fieldKey names a field by its Go struct type in this package and its JSON
// name, e.g. {"Container", "livenessProbe"}.
type fieldKey struct {
	Type  string
	Field string
}

// fieldRule says what localjobs does with a field it accepts but does not
// run: warn (the object runs without it) or reject (the object cannot run
// faithfully without it).
type fieldRule struct {
	reject bool
	reason string
	// quiet lists JSON values that mean what localjobs does anyway (a
	// Kubernetes default, as printed by kubectl get -o yaml), which get no
	// warning.
	quiet []string
}

func warn(reason string, quiet ...string) fieldRule { return fieldRule{reason: reason, quiet: quiet} }
func reject(reason string) fieldRule                { return fieldRule{reject: true, reason: reason} }

const (
	noScheduling   = "there is one node and no scheduler"
	noAPI          = "there is no API server or service account in localjobs"
	runtimeDefault = `{"type":"RuntimeDefault"}`
	noFileOwner    = "volume file owners are not set"
	noClusterVol   = "localjobs has no cluster storage; use emptyDir, hostPath, configMap, secret, projected or downwardAPI"
)

// notActedOn lists every field of the supported kinds that localjobs
// accepts without acting on it. A field present in a file (non-zero) gets
// one warning, or an error for reject rules. TestK8sFieldsCovered checks that
// every field kept as raw JSON is listed here.
var notActedOn = map[fieldKey]fieldRule{
	// PodSpec: scheduling and cluster features.
	{"PodSpec", "nodeSelector"}:                 warn(noScheduling),
	{"PodSpec", "nodeName"}:                     warn(noScheduling),
	{"PodSpec", "affinity"}:                     warn(noScheduling),
	{"PodSpec", "tolerations"}:                  warn(noScheduling),
	{"PodSpec", "topologySpreadConstraints"}:    warn(noScheduling),
	{"PodSpec", "priorityClassName"}:            warn(noScheduling),
	{"PodSpec", "priority"}:                     warn(noScheduling, "0"),
	{"PodSpec", "preemptionPolicy"}:             warn(noScheduling, `"PreemptLowerPriority"`),
	{"PodSpec", "schedulingGates"}:              warn(noScheduling),
	{"PodSpec", "overhead"}:                     warn(noScheduling),
	{"PodSpec", "runtimeClassName"}:             warn("Docker's default runtime is used"),
	{"PodSpec", "serviceAccountName"}:           warn(noAPI, `"default"`),
	{"PodSpec", "serviceAccount"}:               warn(noAPI, `"default"`),
	{"PodSpec", "automountServiceAccountToken"}: warn(noAPI, "false"),
	{"PodSpec", "readinessGates"}:               warn("readiness gates are not evaluated"),
	{"PodSpec", "os"}:                           warn("the pod runs on the Docker engine's OS"),
	{"PodSpec", "resourceClaims"}:               warn("dynamic resource allocation is not supported"),
	{"PodSpec", "schedulingGroup"}:              warn(noScheduling),
	{"PodSpec", "evictionResponders"}:           warn("pods are never evicted"),
	{"JobSpec", "scheduling"}:                   warn(noScheduling),
	{"PodSpec", "hostUsers"}:                    warn("user namespaces are not supported"),
	{"PodSpec", "ephemeralContainers"}:          reject("ephemeral containers cannot be set when a pod is created"),
	{"ResourceRequirements", "claims"}:          warn("dynamic resource allocation is not supported"),

	// Container: probes, lifecycle hooks and other kubelet features.
	{"Container", "livenessProbe"}:      warn("probes are not supported"),
	{"Container", "readinessProbe"}:     warn("probes are not supported"),
	{"Container", "startupProbe"}:       warn("probes are not supported"),
	{"Container", "lifecycle"}:          warn("lifecycle hooks are not supported"),
	{"Container", "ports"}:              warn("ports are not published; pods share Docker's bridge network"),
	{"Container", "resizePolicy"}:       warn("in-place resize is not supported"),
	{"Container", "restartPolicyRules"}: warn("container restart rules are not supported"),
	{"Container", "volumeDevices"}:      reject(noClusterVol),
	{"VolumeMount", "bindMountOptions"}: warn("bind mount options are not applied"),

	// Volume file ownership and emptyDir modes (localjobs creates emptyDir
	// directories with mode 0777 and files owned by the daemon's user).
	{"EmptyDirVolume", "mode"}:           warn("emptyDir directories are created with mode 0777"),
	{"KeyToPath", "user"}:                warn(noFileOwner),
	{"DownwardAPIVolumeFile", "user"}:    warn(noFileOwner),
	{"SecretVolume", "defaultUser"}:      warn(noFileOwner),
	{"ConfigMapVolume", "defaultUser"}:   warn(noFileOwner),
	{"DownwardAPIVolume", "defaultUser"}: warn(noFileOwner),
	{"ProjectedVolume", "defaultUser"}:   warn(noFileOwner),

	// Security details Docker does not take per container here.
	{"PodSecurityContext", "seLinuxOptions"}:      warn("SELinux labels are not applied"),
	{"PodSecurityContext", "windowsOptions"}:      warn("Windows options are not supported"),
	{"PodSecurityContext", "sysctls"}:             warn("sysctls are not applied"),
	{"PodSecurityContext", "seccompProfile"}:      warn("Docker's default seccomp profile is used", runtimeDefault),
	{"PodSecurityContext", "appArmorProfile"}:     warn("Docker's default AppArmor profile is used", runtimeDefault),
	{"PodSecurityContext", "seLinuxChangePolicy"}: warn("SELinux labels are not applied"),
	{"SecurityContext", "seLinuxOptions"}:         warn("SELinux labels are not applied"),
	{"SecurityContext", "windowsOptions"}:         warn("Windows options are not supported"),
	{"SecurityContext", "seccompProfile"}:         warn("Docker's default seccomp profile is used", runtimeDefault),
	{"SecurityContext", "appArmorProfile"}:        warn("Docker's default AppArmor profile is used", runtimeDefault),

	// Env sources localjobs cannot resolve.
	{"EnvVarSource", "fileKeyRef"}: reject("file key references are not supported"),

	// Volume sources that need a cluster.
	{"Volume", "gcePersistentDisk"}:     reject(noClusterVol),
	{"Volume", "awsElasticBlockStore"}:  reject(noClusterVol),
	{"Volume", "gitRepo"}:               reject("gitRepo volumes are deprecated; clone in an init container into an emptyDir"),
	{"Volume", "nfs"}:                   reject(noClusterVol),
	{"Volume", "iscsi"}:                 reject(noClusterVol),
	{"Volume", "glusterfs"}:             reject(noClusterVol),
	{"Volume", "persistentVolumeClaim"}: reject(noClusterVol),
	{"Volume", "rbd"}:                   reject(noClusterVol),
	{"Volume", "flexVolume"}:            reject(noClusterVol),
	{"Volume", "cinder"}:                reject(noClusterVol),
	{"Volume", "cephfs"}:                reject(noClusterVol),
	{"Volume", "flocker"}:               reject(noClusterVol),
	{"Volume", "fc"}:                    reject(noClusterVol),
	{"Volume", "azureFile"}:             reject(noClusterVol),
	{"Volume", "vsphereVolume"}:         reject(noClusterVol),
	{"Volume", "quobyte"}:               reject(noClusterVol),
	{"Volume", "azureDisk"}:             reject(noClusterVol),
	{"Volume", "photonPersistentDisk"}:  reject(noClusterVol),
	{"Volume", "portworxVolume"}:        reject(noClusterVol),
	{"Volume", "scaleIO"}:               reject(noClusterVol),
	{"Volume", "storageos"}:             reject(noClusterVol),
	{"Volume", "csi"}:                   reject(noClusterVol),
	{"Volume", "ephemeral"}:             reject(noClusterVol),
	{"Volume", "image"}:                 reject("image volumes are not supported"),

	{"VolumeProjection", "serviceAccountToken"}: reject(noAPI),
	{"VolumeProjection", "clusterTrustBundle"}:  reject(noAPI),
	{"VolumeProjection", "podCertificate"}:      reject(noAPI),
}

// serverSet lists raw fields that are set by the server, so a file may
// carry them (e.g. saved with kubectl get -o yaml) and Decode drops them.
var serverSet = map[fieldKey]bool{
	{"ObjectMeta", "managedFields"}: true,
}

// unsupportedFields walks a decoded object (before defaulting) and returns a
// warning for each warn-listed field present and an error for each rejected
// one. Status is not walked: it is ignored on input.
func unsupportedFields(obj any) (warns, errs []fieldErr) {
	var walk func(v reflect.Value, p fieldPath)
	walk = func(v reflect.Value, p fieldPath) {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return
			}
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.Struct:
			t := v.Type()
			if reflect.PointerTo(t).Implements(unmarshalerType) {
				return // a leaf such as Time or Quantity
			}
			for _, name := range sortedFieldOrder(t) {
				f := jsonFields(t)[name]
				fv := v.FieldByIndex(f.index)
				if p == nil && name == "status" {
					continue
				}
				if fv.IsZero() {
					continue
				}
				if rule, ok := notActedOn[fieldKey{t.Name(), name}]; ok {
					fp := p.child(name)
					if j, err := json.Marshal(fv.Interface()); err == nil && slices.Contains(rule.quiet, string(j)) {
						continue
					}
					if rule.reject {
						errs = append(errs, fieldErr{fp, "Forbidden: not supported by localjobs: " + rule.reason})
					} else {
						warns = append(warns, fieldErr{fp, fmt.Sprintf("accepted but not run by localjobs (%s)", rule.reason)})
					}
					continue
				}
				if fv.Type() == rawMessageType {
					continue
				}
				walk(fv, p.child(name))
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return
			}
			for i := range v.Len() {
				walk(v.Index(i), p.index(i))
			}
		case reflect.Map:
			if v.Type().Elem().Kind() != reflect.Struct && v.Type().Elem().Kind() != reflect.Pointer {
				return
			}
			keys := v.MapKeys()
			names := make([]string, len(keys))
			for i, k := range keys {
				names[i] = k.String()
			}
			for _, k := range sortedKeys(setOf(names)) {
				walk(v.MapIndex(reflect.ValueOf(k)), p.key(k))
			}
		}
	}
	walk(reflect.ValueOf(obj), nil)
	return warns, errs
}

func setOf(s []string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, k := range s {
		m[k] = true
	}
	return m
}

// sortedFieldOrder returns the JSON names of t's fields in declaration
// order, so warnings come out in the order fields appear in a manifest.
func sortedFieldOrder(t reflect.Type) []string {
	fields := jsonFields(t)
	names := sortedKeys(fields)
	// Declaration order: sort by field index path.
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && lessIndex(fields[names[j]].index, fields[names[j-1]].index); j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return names
}

func lessIndex(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}
