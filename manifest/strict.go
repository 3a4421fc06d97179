package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	kjson "sigs.k8s.io/json"
)

// jsonField is one JSON-visible field of a struct type.
type jsonField struct {
	name  string
	index []int
	typ   reflect.Type
}

var fieldCache sync.Map // reflect.Type → map[string]jsonField

// jsonFields returns the fields encoding/json sees in struct type t, keyed by
// JSON name, with anonymous structs without a name (",inline") flattened.
func jsonFields(t reflect.Type) map[string]jsonField {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]jsonField)
	}
	out := map[string]jsonField{}
	var collect func(t reflect.Type, index []int)
	collect = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			idx := append(index[:len(index):len(index)], i)
			if sf.Anonymous && name == "" {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					collect(ft, idx)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if _, dup := out[name]; !dup {
				out[name] = jsonField{name: name, index: idx, typ: sf.Type}
			}
		}
	}
	collect(t, nil)
	fieldCache.Store(t, out)
	return out
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
)

// walkDecode finds every value in the JSON document j that cannot be decoded
// into type t (and, when unknown is set, every unknown field), with its path
// below p. It is used to explain a failed decode: the decoder itself stops
// at the first error and names it without list indexes.
func walkDecode(j []byte, t reflect.Type, p fieldPath, unknown bool) []fieldErr {
	var errs []fieldErr
	var walk func(j []byte, t reflect.Type, p fieldPath)
	walk = func(j []byte, t reflect.Type, p fieldPath) {
		j = bytes.TrimSpace(j)
		if len(j) == 0 || string(j) == "null" {
			return
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == rawMessageType || reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			if err := kjson.UnmarshalCaseSensitivePreserveInts(j, reflect.New(t).Interface()); err != nil {
				errs = append(errs, fieldErr{p, valueMsg(j, t, err)})
			}
			return
		}
		switch t.Kind() {
		case reflect.Struct:
			var m map[string]json.RawMessage
			if j[0] != '{' || json.Unmarshal(j, &m) != nil {
				errs = append(errs, fieldErr{p, valueMsg(j, t, nil)})
				return
			}
			fields := jsonFields(t)
			for _, k := range sortedKeys(m) {
				f, ok := fields[k]
				if !ok {
					if unknown {
						errs = append(errs, fieldErr{p.child(k), unknownFieldMsg(t, fieldPath{}.child(k))})
					}
					continue
				}
				walk(m[k], f.typ, p.child(k))
			}
		case reflect.Slice, reflect.Array:
			var l []json.RawMessage
			if j[0] != '[' || json.Unmarshal(j, &l) != nil {
				errs = append(errs, fieldErr{p, valueMsg(j, t, nil)})
				return
			}
			for i, e := range l {
				walk(e, t.Elem(), p.index(i))
			}
		case reflect.Map:
			var m map[string]json.RawMessage
			if j[0] != '{' || json.Unmarshal(j, &m) != nil {
				errs = append(errs, fieldErr{p, valueMsg(j, t, nil)})
				return
			}
			for _, k := range sortedKeys(m) {
				walk(m[k], t.Elem(), p.key(k))
			}
		default:
			if err := kjson.UnmarshalCaseSensitivePreserveInts(j, reflect.New(t).Interface()); err != nil {
				errs = append(errs, fieldErr{p, valueMsg(j, t, err)})
			}
		}
	}
	walk(j, t, p)
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonKind names the kind of a JSON value as the decoder does.
func jsonKind(j []byte) string {
	switch j[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "list"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

// wantKind names what type t accepts, with an article.
func wantKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return fmt.Sprintf("a %d-bit integer", t.Bits())
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

// quoteHint introduces the quoted value in a message; Decode may replace
// it with what YAML made of the user's text (see yamlHint).
const quoteHint = "quote it: "

// valueMsg explains why the JSON value j does not decode into t.
func valueMsg(j []byte, t reflect.Type, err error) string {
	v := shortJSON(j)
	custom := t == rawMessageType || reflect.PointerTo(t).Implements(unmarshalerType)
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !custom:
		if jsonKind(j) != "string" {
			return fmt.Sprintf("Invalid value: %s: must be a base64-encoded string", v)
		}
		return fmt.Sprintf("Invalid value: %s: must be base64-encoded (%v)", v, unwrapMsg(err))
	case custom:
		return fmt.Sprintf("Invalid value: %s: %v", v, unwrapMsg(err))
	}
	want := wantKind(t)
	got := jsonKind(j)
	if want == "a string" && (got == "number" || got == "boolean") {
		return fmt.Sprintf("Invalid value: %s: must be a string, not a %s (%s%q)", v, got, quoteHint, string(j))
	}
	return fmt.Sprintf("Invalid value: %s: must be %s", v, want)
}

// unwrapMsg drops the "json: " noise from a decoder error.
func unwrapMsg(err error) string {
	if err == nil {
		return "invalid"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// shortJSON renders a JSON value for a message, shortened when long.
func shortJSON(j []byte) string {
	s := string(bytes.TrimSpace(j))
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// typeAt returns the Go type found at path p below type t, or nil.
func typeAt(t reflect.Type, p fieldPath) reflect.Type {
	for _, e := range p {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := jsonFields(t)[e.name]
			if !ok || e.isIndex {
				return nil
			}
			t = f.typ
		case reflect.Slice, reflect.Array, reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// unknownFieldMsg is the message for the unknown field at p below root,
// suggesting the field the user probably meant.
func unknownFieldMsg(root reflect.Type, p fieldPath) string {
	if len(p) == 0 {
		return `unknown field ""`
	}
	name := p[len(p)-1].name
	msg := fmt.Sprintf("unknown field %q", name)
	parent := typeAt(root, p[:len(p)-1])
	if parent == nil || parent.Kind() != reflect.Struct {
		return msg
	}
	best, bestD := "", 3
	for _, k := range sortedKeys(jsonFields(parent)) {
		d := EditDistance(strings.ToLower(name), strings.ToLower(k))
		if d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg
}

// EditDistance is the Levenshtein distance between a and b: how "did you
// mean" picks a near name, for an unknown field here and an unknown
// command in the CLI.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
