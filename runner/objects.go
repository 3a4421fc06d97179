package runner

import (
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/localjobs/localjobs/manifest"
)

// Clone returns a deep copy of v, made through its JSON form (the records
// and objects are JSON types): subscribers and workers never share a
// record another goroutine writes.
func Clone[T any](v *T) *T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("deep copy: %v", err))
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("deep copy: %v", err))
	}
	return out
}

// GenerateName returns prefix followed by 5 random characters of the
// apiserver's generateName alphabet.
func GenerateName(prefix string) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// ObjectRef refers to an object (with fieldPath, to a part of it, such as
// one container of a pod) as events name it.
func ObjectRef(tm *manifest.TypeMeta, m *manifest.ObjectMeta, fieldPath string) manifest.ObjectReference {
	return manifest.ObjectReference{
		Kind: tm.Kind, APIVersion: tm.APIVersion, Namespace: m.Namespace, Name: m.Name, UID: m.UID,
		FieldPath: fieldPath,
	}
}
