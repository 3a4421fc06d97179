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
		switch {
		case v.Name == "":
			e.required(vp.child("name"), "")
		case names[v.Name]:
			e.duplicate(vp.child("name"), v.Name)
		default:
			e.invalidEach(vp.child("name"), v.Name, dnsLabelErrors(v.Name))
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

var fieldRefPaths = []string{
	"metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels", "metadata.annotations",
	"spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
}

var fieldRefKeyRE = regexp.MustCompile(`^metadata\.(labels|annotations)\['[^']+'\]$`)
