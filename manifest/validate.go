package manifest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
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

// invalidEach adds an Invalid error for each message about value.
func (e *errs) invalidEach(p fieldPath, value any, msgs []string) {
	for _, msg := range msgs {
		e.invalid(p, value, msg)
	}
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
	return formatErrors(s, 63, dns1123LabelRE, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '"+dns1123LabelFmt+"')")
}

// formatErrors returns Kubernetes' messages for a string longer than max
// or not matching re (whose message is msg).
func formatErrors(s string, max int, re *regexp.Regexp, msg string) []string {
	var msgs []string
	if len(s) > max {
		msgs = append(msgs, fmt.Sprintf("must be no more than %d characters", max))
	}
	if !re.MatchString(s) {
		msgs = append(msgs, msg)
	}
	return msgs
}

// dnsSubdomainErrors returns Kubernetes' messages for an invalid DNS-1123
// subdomain.
func dnsSubdomainErrors(s string) []string {
	return formatErrors(s, 253, dns1123SubdomainRE, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '"+dns1123SubdomainFmt+"')")
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

// labelValueErrors validates a label value.
func labelValueErrors(s string) []string {
	return formatErrors(s, 63, labelValueRE, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '"+labelValueFmt+"')")
}

// validateMeta checks metadata; maxName > 0 further limits the name length
// (63 for Jobs, whose name becomes a label value; 52 for CronJobs, whose
// Jobs' names add 11 characters).
func validateMeta(e *errs, m *ObjectMeta, p fieldPath, top bool, maxName int) {
	switch {
	case m.Name != "":
		e.invalidEach(p.child("name"), m.Name, dnsSubdomainErrors(m.Name))
		if maxName > 0 && len(m.Name) > maxName && len(m.Name) <= 253 {
			e.invalid(p.child("name"), m.Name, fmt.Sprintf("must be no more than %d characters", maxName))
		}
	case m.GenerateName != "":
		// As apimachinery's prefix check: a trailing '-' is allowed.
		g := m.GenerateName
		if len(g) > 1 && strings.HasSuffix(g, "-") {
			g = g[:len(g)-1] + "a"
		}
		e.invalidEach(p.child("generateName"), m.GenerateName, dnsSubdomainErrors(g))
	case top:
		e.required(p.child("name"), "name or generateName is required")
	}
	if top && m.Namespace != "" {
		e.invalidEach(p.child("namespace"), m.Namespace, dnsLabelErrors(m.Namespace))
	}
	for _, k := range sortedKeys(m.Labels) {
		e.invalidEach(p.child("labels"), k, qualifiedNameErrors(k))
		e.invalidEach(p.child("labels").key(k), m.Labels[k], labelValueErrors(m.Labels[k]))
	}
	size := 0
	for _, k := range sortedKeys(m.Annotations) {
		size += len(k) + len(m.Annotations[k])
		e.invalidEach(p.child("annotations"), k, qualifiedNameErrors(strings.ToLower(k)))
	}
	if size > 256*1024 {
		e.add(p.child("annotations"), "Too long: may not be more than 262144 bytes")
	}
	validateNotify(e, m.Annotations, p.child("annotations"))
}
