package manifest

import (
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// validVolumeSources are the sources localjobs provides (DESIGN §3).
var validVolumeSources = []string{"emptyDir", "hostPath", "configMap", "secret", "projected", "downwardAPI"}

// validateVolumes checks volumes and returns their names.
func validateVolumes(e *errs, vols []Volume, p fieldPath) map[string]bool {
	names := map[string]bool{}
	for i := range vols {
		v := &vols[i]
		vp := p.index(i)
		validateUniqueName(e, v.Name, vp.child("name"), names)

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
			validateKeyedSource(e, vp.child("secret"), "secretName", v.Secret.SecretName, v.Secret.DefaultMode, v.Secret.Items)
		case v.ConfigMap != nil:
			validateKeyedSource(e, vp.child("configMap"), "name", v.ConfigMap.Name, v.ConfigMap.DefaultMode, v.ConfigMap.Items)
		case v.DownwardAPI != nil:
			dp := vp.child("downwardAPI")
			validateMode(e, v.DownwardAPI.DefaultMode, dp.child("defaultMode"))
			validateDownwardFiles(e, v.DownwardAPI.Items, dp.child("items"))
		case v.Projected != nil:
			pp := vp.child("projected")
			validateMode(e, v.Projected.DefaultMode, pp.child("defaultMode"))
			for j := range v.Projected.Sources {
				validateProjection(e, &v.Projected.Sources[j], pp.child("sources").index(j))
			}
		}
	}
	return names
}

// validateProjection checks one source of a projected volume: exactly one
// kind of source.
func validateProjection(e *errs, src *VolumeProjection, p fieldPath) {
	k := 0
	if src.Secret != nil {
		k++
		validateKeyedSource(e, p.child("secret"), "name", src.Secret.Name, nil, src.Secret.Items)
	}
	if src.ConfigMap != nil {
		k++
		validateKeyedSource(e, p.child("configMap"), "name", src.ConfigMap.Name, nil, src.ConfigMap.Items)
	}
	if src.DownwardAPI != nil {
		k++
		validateDownwardFiles(e, src.DownwardAPI.Items, p.child("downwardAPI").child("items"))
	}
	if len(src.ServiceAccountToken)+len(src.ClusterTrustBundle)+len(src.PodCertificate) > 0 {
		k++
	}
	if k > 1 {
		e.forbidden(p, "may not specify more than 1 volume type per source")
	} else if k == 0 {
		e.required(p, "must specify one volume projection")
	}
}

// validateKeyedSource checks a Secret or ConfigMap source of a volume or
// projection: its name (in field nameField), default mode (nil: none) and
// items.
func validateKeyedSource(e *errs, p fieldPath, nameField, name string, mode *int32, items []KeyToPath) {
	if name == "" {
		e.required(p.child(nameField), "")
	}
	validateMode(e, mode, p.child("defaultMode"))
	validateKeyToPaths(e, items, p.child("items"))
}

// validateUniqueName checks the name of a volume or container: set, not
// seen before in the pod, a DNS label.
func validateUniqueName(e *errs, name string, p fieldPath, seen map[string]bool) {
	switch {
	case name == "":
		e.required(p, "")
	case seen[name]:
		e.duplicate(p, name)
	default:
		e.invalidEach(p, name, dnsLabelErrors(name))
	}
	seen[name] = true
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

var fieldRefPaths = []string{
	"metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels", "metadata.annotations",
	"spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
}

var fieldRefKeyRE = regexp.MustCompile(`^metadata\.(labels|annotations)\['[^']+'\]$`)
