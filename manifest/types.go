// Package manifest holds localjobs' typed view of the Kubernetes objects it
// runs (Pod, batch/v1 Job and CronJob, ConfigMap, Secret), their decoding from
// YAML the way kubectl does it, Kubernetes' defaults, and validation with field
// paths and file:line positions. It does no I/O beyond the bytes it is given.
//
// The structs mirror k8s.io/api field for field (JSON names and shapes), so a
// file accepted here is accepted by a real cluster. Fields localjobs does not
// act on are kept as raw JSON and reported once as warnings (see warn.go).
//
// Files by subject: the types in types.go (metadata, times, selectors),
// types_pod.go, types_container.go, types_volume.go, types_job.go,
// types_cronjob.go, types_core.go (ConfigMap, Secret, Event) and
// types_ignored.go (fields accepted, not acted on); validation in
// validate.go (errors, names, metadata) and validate_<subject>.go by the
// same subjects, with path.go's field paths; notify.go holds localjobs'
// notification annotations; decode.go and strict.go read YAML,
// defaults.go applies Kubernetes' defaults, explain*.go serve `localjobs
// explain` (explain_docs.go is generated data).
package manifest

import (
	"encoding/json"
	"time"
)

// TypeMeta is apiVersion and kind.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// Time is a timestamp that marshals as RFC 3339 with second precision, like
// metav1.Time; the zero value marshals as null.
type Time struct{ time.Time }

// NewTime returns t truncated to the second, as Kubernetes stores times.
func NewTime(t time.Time) *Time { return &Time{t.Truncate(time.Second)} }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error { return unmarshalTime(b, time.RFC3339, &t.Time) }

// MicroTime is a timestamp with microsecond precision (metav1.MicroTime),
// used where ordering within a second matters.
type MicroTime struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t MicroTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *MicroTime) UnmarshalJSON(b []byte) error { return unmarshalTime(b, time.RFC3339Nano, &t.Time) }

// unmarshalTime reads a JSON time string in layout, or null (the zero
// time), into t, in the local zone.
func unmarshalTime(b []byte, layout string, t *time.Time) error {
	if string(b) == "null" {
		*t = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := time.Parse(layout, s)
	if err != nil {
		return err
	}
	*t = p.Local()
	return nil
}

// OwnerReference names the object that controls this one.
type OwnerReference struct {
	APIVersion         string `json:"apiVersion"`
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	UID                string `json:"uid"`
	Controller         *bool  `json:"controller,omitempty"`
	BlockOwnerDeletion *bool  `json:"blockOwnerDeletion,omitempty"`
}

// ObjectMeta is metav1.ObjectMeta. Server-set fields (uid, resourceVersion,
// creationTimestamp…) are filled by localjobs when the object is stored.
type ObjectMeta struct {
	Name                       string            `json:"name,omitempty"`
	GenerateName               string            `json:"generateName,omitempty"`
	Namespace                  string            `json:"namespace,omitempty"`
	SelfLink                   string            `json:"selfLink,omitempty"`
	UID                        string            `json:"uid,omitempty"`
	ResourceVersion            string            `json:"resourceVersion,omitempty"`
	Generation                 int64             `json:"generation,omitempty"`
	CreationTimestamp          Time              `json:"creationTimestamp,omitempty"`
	DeletionTimestamp          *Time             `json:"deletionTimestamp,omitempty"`
	DeletionGracePeriodSeconds *int64            `json:"deletionGracePeriodSeconds,omitempty"`
	Labels                     map[string]string `json:"labels,omitempty"`
	Annotations                map[string]string `json:"annotations,omitempty"`
	OwnerReferences            []OwnerReference  `json:"ownerReferences,omitempty"`
	Finalizers                 []string          `json:"finalizers,omitempty"`
	ManagedFields              json.RawMessage   `json:"managedFields,omitempty"`
}

// LabelSelector is metav1.LabelSelector.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is metav1.LabelSelectorRequirement.
type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// ObjectReference is v1.ObjectReference.
type ObjectReference struct {
	Kind            string `json:"kind,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	FieldPath       string `json:"fieldPath,omitempty"`
}

// ControllerRef is the owner reference of this kind that controls the
// object (controller: true), or nil: metav1.GetControllerOf with the kind
// checked.
func (m *ObjectMeta) ControllerRef(kind string) *OwnerReference {
	for i, o := range m.OwnerReferences {
		if o.Kind == kind && o.Controller != nil && *o.Controller {
			return &m.OwnerReferences[i]
		}
	}
	return nil
}
