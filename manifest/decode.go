package manifest

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	kjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// Kinds localjobs decodes.
const (
	KindPod       = "Pod"
	KindJob       = "Job"
	KindCronJob   = "CronJob"
	KindConfigMap = "ConfigMap"
	KindSecret    = "Secret"
	KindList      = "List"
)

// MaxObjectBytes is the largest object localjobs accepts, measured as the
// JSON of that one object: Kubernetes' limit (1.5 MiB, etcd's request
// size), so what localjobs runs can also be applied to a cluster.
const MaxObjectBytes = 3 << 19 // 1.5 MiB = 1572864 bytes

// MaxDocumentBytes bounds one YAML document or JSON value before it is
// parsed: parsing costs about twenty times its size in memory, and no
// document of one object comes near it. A larger v1 List must be split
// into documents.
const MaxDocumentBytes = 4 * MaxObjectBytes // 6 MiB

// Object is one object decoded from a file: a *Pod, *Job, *CronJob,
// *ConfigMap or *Secret, defaulted and valid.
type Object struct {
	// Kind is the object's kind, e.g. "Job".
	Kind string
	// Obj is the typed object: *Pod, *Job, *CronJob, *ConfigMap or *Secret.
	Obj any
	// File is the file name given to Decode.
	File string
	// Line is the line where the object starts (1-based).
	Line int
	// Doc is the 0-based index of the YAML document (or JSON value) in the
	// file; the items of a List share their List's index.
	Doc int
}

// Problem is one error or warning about a file, positioned by line and field
// path like the apiserver's field errors.
type Problem struct {
	// File is the file name given to Decode.
	File string
	// Line is the 1-based line of the field, or 0 when unknown.
	Line int
	// Path is the field path, e.g. spec.containers[0].image; it may be empty.
	Path string
	// Msg is the message, e.g. "Required value".
	Msg string
}

// Error renders the problem as FILE:LINE: path: msg, leaving out the parts
// that are empty (the line when it is 0).
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Result is what Decode found in one file. Objects holds every document that
// decoded and validated; each bad document contributes Errors and is skipped
// without affecting the others.
type Result struct {
	Objects  []Object
	Warnings []Problem
	Errors   []Problem
}

// Err returns the errors joined with errors.Join, or nil when there are none.
func (r Result) Err() error {
	errs := make([]error, len(r.Errors))
	for i, p := range r.Errors {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// fieldErr is a problem at a field path relative to the object being
// decoded; Decode turns it into a Problem with a line.
type fieldErr struct {
	path fieldPath
	msg  string
}

// ifAbsent joins a field error's message with the one to give instead
// when the field is not in the file (the value at fault is a default,
// not the user's); Decode picks one.
func ifAbsent(msg, absent string) string { return msg + "\x00" + absent }

// Decode decodes every object in a YAML (multi-document, block or flow
// style) or JSON file the way kubectl does: each document is converted to
// untyped JSON with sigs.k8s.io/yaml and decoded strictly (unknown and
// duplicate fields and type mismatches are errors). Lists are expanded;
// objects are defaulted as the apiserver would (see Default) and validated.
// Unsupported kinds and invalid objects are reported in Errors and skipped;
// fields accepted but not acted on are reported in Warnings. Problems are
// positioned with the line of the field they name.
func Decode(file string, data []byte) Result { return DecodeIn(file, data, "") }

// DecodeIn is Decode for a namespace given on the command line, as kubectl
// apply -n NS reads files: objects without a namespace are put in ns, and
// an object that names another namespace is an error. ns "" is Decode.
func DecodeIn(file string, data []byte, ns string) Result {
	d := &decoder{file: file, namespace: ns}
	data, err := utf8Text(data)
	if err != nil {
		d.errorf(0, nil, "%v", err)
		return d.res
	}
	for i, c := range splitDocuments(data) {
		d.document(i, c)
	}
	// Problems of one document come out in the order of its fields; report
	// them in file order.
	byLine := func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) }
	slices.SortStableFunc(d.res.Errors, byLine)
	slices.SortStableFunc(d.res.Warnings, byLine)
	return d.res
}

// utf8Text returns data as UTF-8. A YAML file may be UTF-16 with a byte
// order mark (PowerShell's > writes one); split at --- and count lines in
// the text, not in its bytes, or every document after the first would be
// lost.
func utf8Text(data []byte) ([]byte, error) {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		order = binary.BigEndian
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		order = binary.LittleEndian
	default:
		return data, nil
	}
	body := data[2:]
	if len(body)%2 != 0 {
		return nil, errors.New("invalid UTF-16 (the file starts with a UTF-16 byte order mark): an odd number of bytes")
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i += 2 {
		r := rune(order.Uint16(body[i:]))
		if utf16.IsSurrogate(r) {
			var r2 rune = -1
			if i+3 < len(body) {
				r2 = rune(order.Uint16(body[i+2:]))
			}
			if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
				return nil, fmt.Errorf("invalid UTF-16 (the file starts with a UTF-16 byte order mark): unpaired surrogate at byte %d", i+2)
			}
			i += 2
		}
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

type decoder struct {
	file      string
	namespace string // DecodeIn's; "" = the objects' own, else default
	res       Result
}

func (d *decoder) errorf(line int, p fieldPath, format string, args ...any) {
	d.res.Errors = append(d.res.Errors, Problem{File: d.file, Line: line, Path: p.String(), Msg: fmt.Sprintf(format, args...)})
}

// chunk is one document of a file.
type chunk struct {
	data []byte
	line int // line of data's first byte in the file, 1-based
	err  error
}

// separatorRE matches a YAML document separator line as
// k8s.io/apimachinery's YAMLReader accepts it: "---", optionally followed by
// spaces and a comment.
var separatorRE = regexp.MustCompile(`^---\s*(#.*)?$`)

// Documents counts the documents of a YAML or JSON file that are not empty
// or only comments, without parsing them; an apply checks it against its
// limit before decoding.
func Documents(data []byte) int {
	n := 0
	for _, c := range splitDocuments(data) {
		for l := range bytes.SplitSeq(c.data, []byte("\n")) {
			if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
				n++
				break
			}
		}
		if c.err != nil {
			n++
		}
	}
	return n
}

// splitDocuments splits data into documents: a JSON stream into its values,
// YAML at "---" lines (as kubectl does, so a separator inside a block scalar
// also splits). Documents that are empty or only comments are dropped later.
func splitDocuments(data []byte) []chunk {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		// A JSON stream; when it is not JSON after all (flow-style YAML
		// starts with '{' too), read it as YAML, which reports its own
		// syntax errors.
		if chunks, ok := splitJSON(data); ok {
			return chunks
		}
	}
	var (
		out   []chunk
		start = 0
		line  = 1
		first = 1
	)
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		l := strings.TrimRight(string(data[pos:next]), "\r\n")
		if strings.HasPrefix(l, "---") {
			if separatorRE.MatchString(l) {
				out = append(out, chunk{data: data[start:pos], line: first})
				start, first = next, line+1
			} else {
				// kubectl stops reading the file here; we report the line
				// and go on with the next document.
				out = append(out, chunk{data: data[start:pos], line: first},
					chunk{line: line, err: fmt.Errorf("invalid YAML document separator: %s (only a comment may follow ---)", strings.TrimSpace(l[3:]))})
				start, first = next, line+1
			}
		}
		pos = next
		line++
	}
	out = append(out, chunk{data: data[start:], line: first})
	return out
}

// splitJSON splits a stream of JSON values; ok is false when data is not
// a JSON stream.
func splitJSON(data []byte) (chunks []chunk, ok bool) {
	var out []chunk
	dec := json.NewDecoder(bytes.NewReader(data))
	prev := int64(0)
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return out, true
		}
		if err != nil {
			return nil, false
		}
		// The value starts after the whitespace following the previous one.
		start := prev
		for start < int64(len(data)) && strings.IndexByte(" \t\r\n", data[start]) >= 0 {
			start++
		}
		line := 1 + bytes.Count(data[:start], []byte("\n"))
		prev = dec.InputOffset()
		out = append(out, chunk{data: data[start:prev], line: line})
	}
}

// yamlLineRE finds the line in go.yaml.in/yaml and sigs.k8s.io/yaml errors.
var yamlLineRE = regexp.MustCompile(`^(?:error converting YAML to JSON: )?yaml: line (\d+): (.*)$`)

// yamlError positions a YAML parser error within the file.
func (d *decoder) yamlError(c chunk, err error) {
	msg := err.Error()
	line := c.line
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		line = c.line + n - 1
		msg = "yaml: " + m[2]
		if p := problemLine(c.data, m[2]); p > n {
			// go.yaml.in/yaml/v3 names the line where the block starts;
			// the line at fault is the one that does not fit in it.
			d.errorf(c.line+p-1, nil, "%s (this line is not indented like the block it is in, which starts at line %d)", msg, line)
			return
		}
	}
	d.errorf(line, nil, "%s", msg)
}

// problemLine finds the line (1-based, in data) of a YAML parser error
// that go.yaml.in/yaml/v3 reports at the start of the enclosing block
// ("did not find expected key"): the yaml.v2 parser inside
// sigs.k8s.io/yaml reports the line of the token at fault, 0-based for
// parser errors. It returns 0 when it cannot tell.
func problemLine(data []byte, problem string) int {
	if !strings.HasPrefix(problem, "did not find expected") {
		return 0
	}
	_, err := sigsyaml.YAMLToJSON(data)
	if err == nil {
		return 0
	}
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil || m[2] != problem {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	if n+1 > 1+bytes.Count(data, []byte("\n")) {
		return 0 // the parser ran off the end (an unclosed flow): no misplaced line
	}
	return n + 1
}

func (d *decoder) document(doc int, c chunk) {
	if c.err != nil {
		d.errorf(c.line, nil, "%v", c.err)
		return
	}
	if len(c.data) > MaxDocumentBytes {
		d.errorf(c.line, nil, "Too long: a document must have at most %d bytes (this one has %d; an object may have at most %d); split it into documents", MaxDocumentBytes, len(c.data), MaxObjectBytes)
		return
	}
	var root yaml.Node
	if err := yaml.Unmarshal(c.data, &root); err != nil {
		d.yamlError(c, err)
		return
	}
	shiftLines(&root, c.line-1)
	top := deref(&root)
	if top == nil || top.Kind == 0 || (top.Kind == yaml.ScalarNode && top.Tag == "!!null") {
		return // empty document, skipped as kubectl does
	}
	dup := false
	duplicateKeys(&root, nil, func(p fieldPath, line int, key string) {
		d.errorf(line, p, "duplicate field %q", key)
		dup = true
	})
	if dup {
		return
	}
	j, err := sigsyaml.YAMLToJSON(c.data)
	if err != nil {
		d.yamlError(c, err)
		return
	}
	d.object(doc, j, &root, nil, true)
}

// shiftLines adds off to the line of every node.
func shiftLines(n *yaml.Node, off int) {
	if n == nil || off == 0 {
		return
	}
	n.Line += off
	for _, c := range n.Content {
		shiftLines(c, off)
	}
}

// apiVersions maps each kind localjobs runs to its apiVersion.
var apiVersions = map[string]string{
	KindPod:       "v1",
	KindJob:       "batch/v1",
	KindCronJob:   "batch/v1",
	KindConfigMap: "v1",
	KindSecret:    "v1",
	KindList:      "v1",
}

// newObject returns a new typed object of a kind localjobs runs.
func newObject(kind string) any {
	switch kind {
	case KindPod:
		return new(Pod)
	case KindJob:
		return new(Job)
	case KindCronJob:
		return new(CronJob)
	case KindConfigMap:
		return new(ConfigMap)
	case KindSecret:
		return new(Secret)
	}
	return nil
}

// outOfScope explains the kinds users most often meet (DESIGN §10).
var outOfScope = map[string]string{
	"Deployment":            "Deployments are out of scope; run the pod template as a Pod",
	"ReplicaSet":            "ReplicaSets are out of scope; run the pod template as a Pod",
	"StatefulSet":           "StatefulSets are out of scope",
	"DaemonSet":             "DaemonSets are out of scope (there is one node)",
	"Service":               "Services and DNS between pods are out of scope",
	"PersistentVolumeClaim": "PersistentVolumeClaims are out of scope; use a hostPath or emptyDir volume",
	"Namespace":             "namespaces need no creation in localjobs",
}

// listObject is a v1 List.
type listObject struct {
	TypeMeta `json:",inline"`
	Metadata json.RawMessage   `json:"metadata,omitempty"`
	Items    []json.RawMessage `json:"items"`
}

// object decodes one object (a document, or an item of a List at prefix).
func (d *decoder) object(doc int, j []byte, root *yaml.Node, prefix fieldPath, top bool) {
	line := func(p fieldPath) int { return lineOf(root, append(prefix[:len(prefix):len(prefix)], p...)) }
	fail := func(errs []fieldErr) {
		for _, e := range errs {
			p := append(prefix[:len(prefix):len(prefix)], e.path...)
			n := nodeAt(root, p)
			msg, absent, two := strings.Cut(e.msg, "\x00")
			if two && n == nil {
				msg = absent
			}
			d.errorf(lineOf(root, p), p, "%s", yamlHint(msg, n))
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(j, &fields); err != nil || fields == nil {
		d.errorf(line(nil), prefix, "Invalid value: %s: an object must be a mapping with apiVersion and kind", shortJSON(j))
		return
	}
	var tm TypeMeta
	if errs := walkDecode(j, reflect.TypeFor[TypeMeta](), nil, false); len(errs) > 0 {
		fail(errs)
		return
	}
	_ = json.Unmarshal(j, &tm)
	switch {
	case tm.Kind == "":
		fail([]fieldErr{{fieldPath{}.child("kind"), "Required value: every object needs apiVersion and kind"}})
		return
	case tm.APIVersion == "":
		fail([]fieldErr{{fieldPath{}.child("apiVersion"), "Required value: every object needs apiVersion and kind"}})
		return
	}
	want, known := apiVersions[tm.Kind]
	switch {
	case tm.Kind == KindCronJob && tm.APIVersion == "batch/v1beta1":
		fail([]fieldErr{{fieldPath{}.child("apiVersion"), `Unsupported value: "batch/v1beta1": batch/v1beta1 CronJob was removed in Kubernetes 1.25, use batch/v1`}})
		return
	case !known:
		why := outOfScope[tm.Kind]
		if why == "" {
			why = "it is not supported"
		}
		fail([]fieldErr{{fieldPath{}.child("kind"), fmt.Sprintf("Unsupported value: %q: localjobs runs Pod, Job, CronJob, ConfigMap, Secret and List (%s %s skipped: %s)", tm.Kind, tm.APIVersion, tm.Kind, why)}})
		return
	case tm.APIVersion != want:
		fail([]fieldErr{{fieldPath{}.child("apiVersion"), fmt.Sprintf("Unsupported value: %q: no matches for kind %q in version %q (use %q)", tm.APIVersion, tm.Kind, tm.APIVersion, want)}})
		return
	}
	if tm.Kind == KindList {
		if !top {
			fail([]fieldErr{{fieldPath{}.child("kind"), `Unsupported value: "List": a List cannot be an item of a List`}})
			return
		}
		var l listObject
		if errs := strictDecode(j, &l); len(errs) > 0 {
			fail(errs)
			return
		}
		for i, item := range l.Items {
			d.object(doc, item, root, prefix.child("items").index(i), false)
		}
		return
	}

	if len(j) > MaxObjectBytes {
		// Refused before the typed decode, so an oversized object costs no
		// more than its JSON (issue #8: a 50 MB env value).
		var m struct {
			Metadata struct{ Name, GenerateName string } `json:"metadata"`
		}
		_ = json.Unmarshal(j, &m)
		d.errorf(line(nil), prefix, "%s/%s: Too long: must have at most %d bytes (Kubernetes' limit for one object; this one is %d bytes as JSON)",
			strings.ToLower(tm.Kind), cmp.Or(m.Metadata.Name, m.Metadata.GenerateName), MaxObjectBytes, len(j))
		return
	}
	obj := newObject(tm.Kind)
	if errs := strictDecode(j, obj); len(errs) > 0 {
		fail(errs)
		return
	}
	warns, rejects := unsupportedFields(obj)
	for _, w := range warns {
		p := append(prefix[:len(prefix):len(prefix)], w.path...)
		d.res.Warnings = append(d.res.Warnings, Problem{File: d.file, Line: lineOf(root, p), Path: p.String(), Msg: w.msg})
	}
	if st, ok := fields["status"]; ok && !emptyJSON(st) {
		p := prefix.child("status")
		d.res.Warnings = append(d.res.Warnings, Problem{File: d.file, Line: lineOf(root, p), Path: p.String(),
			Msg: "ignored: status is set by localjobs, not read from files"})
	}
	if d.namespace != "" {
		m := Object{Obj: obj}.Meta()
		switch m.Namespace {
		case "":
			m.Namespace = d.namespace
		case d.namespace:
		default:
			fail([]fieldErr{{fieldPath{}.child("metadata").child("namespace"), fmt.Sprintf(
				"Invalid value: %q: the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.",
				m.Namespace, m.Namespace, d.namespace, m.Namespace)}})
			return
		}
	}
	clearServerFields(obj)
	Default(obj)
	errs := append(rejects, validateObject(obj)...)
	if cj, ok := obj.(*CronJob); ok && len(errs) == 0 {
		for _, w := range scheduleWarnings(&cj.Spec, fieldPath{}.child("spec")) {
			p := append(prefix[:len(prefix):len(prefix)], w.path...)
			d.res.Warnings = append(d.res.Warnings, Problem{File: d.file, Line: lineOf(root, p), Path: p.String(), Msg: w.msg})
		}
	}
	if len(errs) > 0 {
		fail(errs)
		return
	}
	d.res.Objects = append(d.res.Objects, Object{Kind: tm.Kind, Obj: obj, File: d.file, Line: line(nil), Doc: doc})
}

// yamlHint rewrites the quoting hint of a type error when YAML 1.1 read
// the user's plain text as something else (y, yes, on → true; 0777 → 511),
// so the message shows what was written.
func yamlHint(msg string, n *yaml.Node) string {
	i := strings.Index(msg, "("+quoteHint)
	if i < 0 || n == nil || n.Kind != yaml.ScalarNode || n.Style != 0 {
		return msg
	}
	v, _, _ := strings.Cut(strings.TrimPrefix(msg, "Invalid value: "), ": ")
	if v == n.Value {
		return msg
	}
	return msg[:i] + fmt.Sprintf("(YAML reads %s as %s; quote it: %q)", n.Value, v, n.Value)
}

// emptyJSON reports whether raw is null, {} or [].
func emptyJSON(raw json.RawMessage) bool {
	s := string(bytes.Join(bytes.Fields(raw), nil))
	return s == "" || s == "null" || s == "{}" || s == "[]"
}

// clearServerFields drops what the apiserver sets or ignores on create, so a
// file saved with `kubectl get -o yaml` runs as a fresh object.
func clearServerFields(obj any) {
	var m *ObjectMeta
	switch o := obj.(type) {
	case *Pod:
		m, o.Status = &o.ObjectMeta, PodStatus{}
	case *Job:
		m, o.Status = &o.ObjectMeta, JobStatus{}
	case *CronJob:
		m, o.Status = &o.ObjectMeta, CronJobStatus{}
	case *ConfigMap:
		m = &o.ObjectMeta
	case *Secret:
		m = &o.ObjectMeta
	default:
		return
	}
	m.UID, m.ResourceVersion, m.SelfLink, m.Generation = "", "", "", 0
	m.CreationTimestamp, m.DeletionTimestamp, m.DeletionGracePeriodSeconds = Time{}, nil, nil
	m.ManagedFields = nil
}

// strictDecode decodes j into v as the apiserver does (sigs.k8s.io/json,
// case-sensitive, unknown and duplicate fields rejected) and returns every
// problem with its field path.
func strictDecode(j []byte, v any) []fieldErr {
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		// The decoder stops at the first type error and skips the strict
		// checks; walk the document to report every problem with its index.
		errs := walkDecode(j, reflect.TypeOf(v).Elem(), nil, true)
		if len(errs) == 0 {
			errs = []fieldErr{{nil, err.Error()}}
		}
		return errs
	}
	var errs, unknown []fieldErr
	for _, se := range strict {
		var fe kjson.FieldError
		if !errors.As(se, &fe) {
			errs = append(errs, fieldErr{nil, se.Error()})
			continue
		}
		p := parseFieldPath(fe.FieldPath())
		name := ""
		if len(p) > 0 {
			name = p[len(p)-1].name
		}
		switch {
		case strings.HasPrefix(se.Error(), "unknown field"):
			unknown = append(unknown, fieldErr{nil, se.Error()})
		case strings.HasPrefix(se.Error(), "duplicate field"):
			errs = append(errs, fieldErr{p, fmt.Sprintf("duplicate field %q", name)})
		default:
			errs = append(errs, fieldErr{p, se.Error()})
		}
	}
	if len(unknown) > 0 {
		// The decoder names a field by a dotted path, which is ambiguous
		// when a key is empty or holds '.' or '[' (an empty key once made
		// this panic); walk the document for each unknown field's path.
		if walked := walkDecode(j, reflect.TypeOf(v).Elem(), nil, true); len(walked) > 0 {
			unknown = walked
		}
		errs = append(errs, unknown...)
	}
	return errs
}

// Meta returns the object's metadata.
func (o Object) Meta() *ObjectMeta {
	switch v := o.Obj.(type) {
	case *Pod:
		return &v.ObjectMeta
	case *Job:
		return &v.ObjectMeta
	case *CronJob:
		return &v.ObjectMeta
	case *ConfigMap:
		return &v.ObjectMeta
	case *Secret:
		return &v.ObjectMeta
	}
	return &ObjectMeta{}
}
