package manifest

import (
	"fmt"
	"reflect"
	"strings"
)

// Field is one field of a kind as explain shows it.
type Field struct {
	Name string
	// Type is kubectl explain's type: string, integer, boolean, Object
	// names (PodSpec), []Container, map[string]string….
	Type     string
	Required bool
	// Description is Kubernetes' own first sentence about the field.
	Description string
	// LocalJobs says what localjobs does with the field (see Explain).
	LocalJobs string
}

// Explanation is what explain prints about a kind or one of its fields.
type Explanation struct {
	Group, Kind, Version string
	// Field is the field explained, nil for the kind itself.
	Field *Field
	// Description is the kind's, or the field's type's.
	Description string
	// Fields are the fields of the kind or of the field's type.
	Fields []Field
}

// What localjobs does with a field, as Explain says it.
const (
	ActedOn      = "acted on"
	Warned       = "accepted with a warning (not acted on)"
	Rejected     = "rejected"
	SetByServer  = "set by localjobs (a value in a file is ignored)"
	StatusOutput = "set by localjobs (status is ignored in files, with a warning)"
)

// policyNotes are fields localjobs acts on but refuses under the default
// pod security level.
var policyNotes = map[fieldKey]string{
	{"PodSpec", "hostNetwork"}:           "refused under --pod-security=baseline (the default)",
	{"PodSpec", "hostPID"}:               "refused under --pod-security=baseline (the default)",
	{"PodSpec", "hostIPC"}:               "refused under --pod-security=baseline (the default)",
	{"SecurityContext", "privileged"}:    "refused under --pod-security=baseline (the default)",
	{"Capabilities", "add"}:              "capabilities beyond baseline's are refused under --pod-security=baseline (the default)",
	{"Volume", "hostPath"}:               "under --pod-security=baseline only below --allow-host-path (default: the manifests' folders and your home)",
	{"PodSpec", "restartPolicy"}:         "a Job's pods take OnFailure or Never; run -f refuses Always",
	{"ObjectMeta", "namespace"}:          "default when unset; namespaces need no creation",
	{"Container", "imagePullPolicy"}:     "Always, IfNotPresent, Never as the kubelet (offline: a failed Always pull runs the local image)",
	{"ResourceRequirements", "limits"}:   "memory and cpu become Docker limits",
	{"ResourceRequirements", "requests"}: "accepted; there is no scheduler to use them",
}

// serverMeta are the metadata fields the server sets.
var serverMeta = map[string]bool{
	"uid": true, "resourceVersion": true, "generation": true, "creationTimestamp": true,
	"deletionTimestamp": true, "deletionGracePeriodSeconds": true, "selfLink": true, "managedFields": true,
}

// kindTypes are the kinds Explain knows, with their group and version.
var kindTypes = map[string]struct {
	group, version string
	t              reflect.Type
}{
	KindPod:       {"", "v1", reflect.TypeFor[Pod]()},
	KindJob:       {"batch", "v1", reflect.TypeFor[Job]()},
	KindCronJob:   {"batch", "v1", reflect.TypeFor[CronJob]()},
	KindConfigMap: {"", "v1", reflect.TypeFor[ConfigMap]()},
	KindSecret:    {"", "v1", reflect.TypeFor[Secret]()},
}

// Explain describes a kind (Pod, Job, CronJob, ConfigMap, Secret) or a
// field below it (path: "spec", "containers", …) the way kubectl explain
// does, from our own types (their JSON names), Kubernetes' descriptions,
// and what localjobs does with each field: acted on, accepted with a
// warning (warn.go), rejected, or set by localjobs.
func Explain(kind string, path []string) (*Explanation, error) {
	kt, ok := kindTypes[kind]
	if !ok {
		return nil, fmt.Errorf("localjobs explains Pod, Job, CronJob, ConfigMap and Secret, not %q", kind)
	}
	ex := &Explanation{Group: kt.group, Kind: kind, Version: kt.version}
	t := kt.t
	status := ActedOn
	var field *Field
	for i, name := range path {
		st := structOf(t)
		if st == nil {
			return nil, fmt.Errorf("field %q does not exist", name)
		}
		f, ok := jsonFields(st)[name]
		if !ok {
			return nil, fmt.Errorf("field %q does not exist", name)
		}
		status = fieldStatus(status, st.Name(), name, i == 0)
		info := describeField(st, f, status)
		field = &info
		t = f.typ
	}
	ex.Field = field
	if field == nil {
		ex.Description = typeDocs[kind]
	} else {
		ex.Description = typeDocs[strings.TrimPrefix(strings.TrimPrefix(field.Type, "[]"), "map[string]")]
	}
	if st := structOf(t); st != nil {
		for _, name := range sortedKeys(jsonFields(st)) {
			f := jsonFields(st)[name]
			ex.Fields = append(ex.Fields, describeField(st, f, fieldStatus(status, st.Name(), name, field == nil)))
		}
	}
	if field != nil && ex.Description == "" {
		ex.Description = field.Description
	}
	return ex, nil
}

// FieldNames lists the fields below a kind's path, for completion: nil
// when the path is not a struct.
func FieldNames(kind string, path []string) []string {
	ex, err := Explain(kind, path)
	if err != nil {
		return nil
	}
	var out []string
	for _, f := range ex.Fields {
		out = append(out, f.Name)
	}
	return out
}

// fieldStatus is what localjobs does with field name of type typ, given
// what it does with the field's parent; top is set for a kind's own
// fields.
func fieldStatus(parent, typ, name string, top bool) string {
	if parent != ActedOn {
		return parent // below a warned, rejected or server-set field
	}
	switch {
	case top && name == "status":
		return StatusOutput
	case typ == "ObjectMeta" && serverMeta[name]:
		return SetByServer
	}
	if rule, ok := notActedOn[fieldKey{typ, name}]; ok {
		if rule.reject {
			return Rejected + ": " + rule.reason
		}
		s := Warned + ": " + rule.reason
		if len(rule.quiet) > 0 {
			s += " (no warning for " + strings.Join(rule.quiet, ", ") + ")"
		}
		return s
	}
	if note := policyNotes[fieldKey{typ, name}]; note != "" {
		return ActedOn + "; " + note
	}
	return ActedOn
}

// describeField is one field of struct type st.
func describeField(st reflect.Type, f jsonField, status string) Field {
	key := fieldKey{st.Name(), f.name}
	typ := fieldTypes[key]
	if typ == "" {
		typ = typeHint(f.typ)
	}
	tag := jsonTag(st, f)
	return Field{
		Name: f.name, Type: typ, Description: fieldDocs[key], LocalJobs: status,
		Required: !strings.Contains(tag, "omitempty") && f.name != "apiVersion" && f.name != "kind" &&
			f.typ.Kind() != reflect.Pointer && f.typ != rawMessageType,
	}
}

// jsonTag is the json tag of the field at f.index of st.
func jsonTag(st reflect.Type, f jsonField) string {
	t := st
	var sf reflect.StructField
	for _, i := range f.index {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		sf = t.Field(i)
		t = sf.Type
	}
	return sf.Tag.Get("json")
}

// structOf is the struct a field type leads to (through pointers, slices
// and maps), or nil for a leaf.
func structOf(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	return t
}

// typeHint is kubectl explain's type of a field type, ours or k8s.io/api's
// (explain_test.go derives explain_docs.go's types with it).
func typeHint(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeHint(t.Elem())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string"
		}
		return "[]" + typeHint(t.Elem())
	case reflect.Map:
		return "map[string]" + typeHint(t.Elem())
	case reflect.Struct:
		switch t.Name() {
		case "Time", "MicroTime":
			return "string" // as kubectl explain shows them
		}
		return t.Name()
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "integer"
}
