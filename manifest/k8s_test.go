package manifest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// k8sType returns a new real Kubernetes object for kind.
func k8sType(kind string) any {
	switch kind {
	case KindPod:
		return &corev1.Pod{}
	case KindJob:
		return &batchv1.Job{}
	case KindCronJob:
		return &batchv1.CronJob{}
	case KindConfigMap:
		return &corev1.ConfigMap{}
	case KindSecret:
		return &corev1.Secret{}
	}
	return nil
}

// manifestFiles returns every manifest under specs/ and testdata/manifests/.
func manifestFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"../specs", "../testdata/manifests"} {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return nil // specs/ may not exist yet
			}
			switch filepath.Ext(path) {
			case ".yaml", ".yml", ".json":
				files = append(files, path)
			}
			return nil
		})
	}
	return files
}

// TestAcceptedDecodesIntoK8sTypes proves that what Decode accepts, kubectl
// accepts too: every object Decode returns from specs/ and
// testdata/manifests/ also decodes strictly into the k8s.io/api type
// through the same YAMLToJSON + strict JSON path.
func TestAcceptedDecodesIntoK8sTypes(t *testing.T) {
	files := manifestFiles(t)
	inTestdata := 0
	for _, f := range files {
		if strings.Contains(f, "testdata") {
			inTestdata++
		}
	}
	if inTestdata < 5 {
		t.Fatalf("found %d manifests under testdata/manifests; the test would pass vacuously", inTestdata)
	}
	accepted := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res := Decode(f, data)
		docs := splitDocuments(data)
		for _, o := range res.Objects {
			j, err := sigsyaml.YAMLToJSON(docs[o.Doc].data)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			// Find this object: the document itself, or one of its List items.
			var tm TypeMeta
			_ = json.Unmarshal(j, &tm)
			candidates := [][]byte{j}
			if tm.Kind == KindList {
				var l listObject
				if err := json.Unmarshal(j, &l); err != nil {
					t.Fatal(err)
				}
				candidates = nil
				for _, it := range l.Items {
					candidates = append(candidates, it)
				}
			}
			for _, c := range candidates {
				var itm TypeMeta
				_ = json.Unmarshal(c, &itm)
				if itm.Kind != o.Kind {
					continue
				}
				obj := k8sType(o.Kind)
				strict, err := kjson.UnmarshalStrict(c, obj)
				if err != nil || len(strict) > 0 {
					t.Errorf("%s:%d: we accept this %s but k8s.io/api rejects it: %v %v", f, o.Line, o.Kind, err, strict)
				}
			}
			accepted++
		}
	}
	if accepted < 10 {
		t.Errorf("only %d objects accepted from %d files", accepted, len(files))
	}
}

// TestManifestsValid checks that the files under testdata/manifests are
// accepted without errors (so the test above checks them all).
func TestManifestsValid(t *testing.T) {
	for _, f := range manifestFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res := Decode(f, data)
		for _, p := range res.Errors {
			t.Errorf("unexpected error: %v", p)
		}
		if len(res.Objects) == 0 {
			t.Errorf("%s: no objects", f)
		}
	}
}

// rawAllowed reports why a field of ours kept as json.RawMessage is
// acceptable: it is on the warn-list or rejected (notActedOn), or set by
// the server.
func rawAllowed(key fieldKey, path string) bool {
	if _, ok := notActedOn[key]; ok {
		return true
	}
	if serverSet[key] {
		return true
	}
	return strings.HasPrefix(path, "status.") || strings.Contains(path, ".status.")
}

// TestK8sFieldsCovered walks the k8s.io/api types of every supported kind
// by JSON name and checks that each field exists in our structs with the
// same JSON name and a compatible shape, and that we have no field
// Kubernetes lacks (which would accept what kubectl rejects). Fields we
// keep as raw JSON must be on the warn-list, rejected, or server-set.
func TestK8sFieldsCovered(t *testing.T) {
	pairs := []struct {
		k8s, ours any
	}{
		{corev1.Pod{}, Pod{}},
		{batchv1.Job{}, Job{}},
		{batchv1.CronJob{}, CronJob{}},
		{corev1.ConfigMap{}, ConfigMap{}},
		{corev1.Secret{}, Secret{}},
	}
	var problems []string
	seen := map[[2]reflect.Type]bool{}
	var walk func(kt, ot reflect.Type, path string)
	walk = func(kt, ot reflect.Type, path string) {
		for kt.Kind() == reflect.Pointer {
			kt = kt.Elem()
		}
		for ot.Kind() == reflect.Pointer {
			ot = ot.Elem()
		}
		if seen[[2]reflect.Type{kt, ot}] {
			return
		}
		seen[[2]reflect.Type{kt, ot}] = true
		kCustom := reflect.PointerTo(kt).Implements(unmarshalerType)
		oCustom := reflect.PointerTo(ot).Implements(unmarshalerType)
		if kCustom || oCustom {
			if kCustom != oCustom || kt.Name() != ot.Name() && !(kt.Name() == "Time" || kt.Name() == "MicroTime") {
				problems = append(problems, fmt.Sprintf("%s: k8s type %v, ours %v", path, kt, ot))
			}
			return
		}
		if kt.Kind() != ot.Kind() {
			problems = append(problems, fmt.Sprintf("%s: k8s kind %v (%v), ours %v (%v)", path, kt.Kind(), kt, ot.Kind(), ot))
			return
		}
		switch kt.Kind() {
		case reflect.Struct:
			kf, of := jsonFields(kt), jsonFields(ot)
			for _, name := range sortedKeys(kf) {
				p := name
				if path != "" {
					p = path + "." + name
				}
				f, ok := of[name]
				if !ok {
					problems = append(problems, fmt.Sprintf("%s: missing in our %s (k8s %v)", p, ot.Name(), kf[name].typ))
					continue
				}
				if f.typ == rawMessageType {
					if !rawAllowed(fieldKey{ot.Name(), name}, p) {
						problems = append(problems, fmt.Sprintf("%s: raw JSON in our %s but not on the warn-list (warn.go notActedOn)", p, ot.Name()))
					}
					continue
				}
				walk(kf[name].typ, f.typ, p)
			}
			for _, name := range sortedKeys(of) {
				if _, ok := kf[name]; !ok {
					problems = append(problems, fmt.Sprintf("%s.%s: our %s has a field Kubernetes does not", path, name, ot.Name()))
				}
			}
		case reflect.Slice, reflect.Array, reflect.Map:
			walk(kt.Elem(), ot.Elem(), path+"[]")
		}
	}
	for _, p := range pairs {
		walk(reflect.TypeOf(p.k8s), reflect.TypeOf(p.ours), "")
	}
	slices.Sort(problems)
	for _, p := range slices.Compact(problems) {
		t.Error(p)
	}
}

// TestWarnListKeysExist checks that every warn-list entry names a real
// field of ours, so a renamed field cannot silently lose its warning.
func TestWarnListKeysExist(t *testing.T) {
	types := map[string]reflect.Type{}
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || types[t.Name()] != nil || reflect.PointerTo(t).Implements(unmarshalerType) {
			return
		}
		types[t.Name()] = t
		for _, f := range jsonFields(t) {
			collect(f.typ)
		}
	}
	for _, v := range []any{Pod{}, Job{}, CronJob{}, ConfigMap{}, Secret{}} {
		collect(reflect.TypeOf(v))
	}
	for k := range notActedOn {
		typ, ok := types[k.Type]
		if !ok {
			t.Errorf("warn-list names unknown type %s", k.Type)
			continue
		}
		if _, ok := jsonFields(typ)[k.Field]; !ok {
			t.Errorf("warn-list names unknown field %s.%s", k.Type, k.Field)
		}
	}
}
