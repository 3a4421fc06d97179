package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"
)

// outputFormat is a parsed -o flag, as kubectl get understands it.
type outputFormat struct {
	kind string // "" (table), wide, json, yaml, name, jsonpath, custom-columns
	// jp is the parsed template of jsonpath.
	jp *jsonpath.JSONPath
	// columns are custom-columns' headers and parsed paths.
	columns []customColumn
}

type customColumn struct {
	header string
	path   *jsonpath.JSONPath
}

// parseOutput parses -o: wide, json, yaml, name, jsonpath=TEMPLATE,
// custom-columns=HEADER:PATH,… (kubectl's forms, including the quoted
// jsonpath='…' a shell may leave in place).
func parseOutput(s string) (outputFormat, error) {
	kind, arg, _ := strings.Cut(s, "=")
	switch kind {
	case "", "wide", "json", "yaml", "name":
		if arg != "" {
			break
		}
		return outputFormat{kind: kind}, nil
	case "jsonpath":
		if arg == "" {
			return outputFormat{}, &usageError{msg: "jsonpath template format specified but no template given", hint: "-o jsonpath='{.items[*].metadata.name}'"}
		}
		jp := jsonpath.New("out").AllowMissingKeys(true)
		if err := jp.Parse(arg); err != nil {
			return outputFormat{}, &usageError{msg: fmt.Sprintf("error parsing jsonpath %s, %v", arg, err), hint: "-o jsonpath='{.items[*].metadata.name}'"}
		}
		return outputFormat{kind: kind, jp: jp}, nil
	case "custom-columns":
		if arg == "" {
			return outputFormat{}, &usageError{msg: "custom-columns format specified but no custom columns given", hint: "-o custom-columns=NAME:.metadata.name,PHASE:.status.phase"}
		}
		var cols []customColumn
		for _, spec := range strings.Split(arg, ",") {
			header, path, ok := strings.Cut(spec, ":")
			if !ok || header == "" || path == "" {
				return outputFormat{}, &usageError{msg: fmt.Sprintf("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", spec), hint: "-o custom-columns=NAME:.metadata.name"}
			}
			expr, err := relaxedJSONPath(path)
			if err != nil {
				return outputFormat{}, &usageError{msg: err.Error(), hint: "-o custom-columns=NAME:.metadata.name"}
			}
			jp := jsonpath.New(header).AllowMissingKeys(true)
			if err := jp.Parse(expr); err != nil {
				return outputFormat{}, &usageError{msg: fmt.Sprintf("error parsing jsonpath %s, %v", path, err), hint: "-o custom-columns=NAME:.metadata.name"}
			}
			cols = append(cols, customColumn{header: header, path: jp})
		}
		return outputFormat{kind: kind, columns: cols}, nil
	}
	return outputFormat{}, &usageError{
		msg:  fmt.Sprintf("unable to match a printer suitable for the output format %q", s),
		hint: "allowed formats are: custom-columns, json, jsonpath, name, wide, yaml",
	}
}

// relaxedJSONPath turns ".a.b", "a.b" or "{.a.b}" into "{.a.b}", as
// kubectl's RelaxedJSONPathExpression does for custom columns.
func relaxedJSONPath(p string) (string, error) {
	if strings.HasPrefix(p, "{") != strings.HasSuffix(p, "}") {
		return "", fmt.Errorf("unbalanced braces in jsonpath %q", p)
	}
	p = strings.TrimSuffix(strings.TrimPrefix(p, "{"), "}")
	if !strings.HasPrefix(p, ".") && !strings.HasPrefix(p, "[") {
		p = "." + p
	}
	return "{" + p + "}", nil
}

// structured reports whether the format prints objects rather than rows.
func (o outputFormat) structured() bool {
	switch o.kind {
	case "json", "yaml", "name", "jsonpath", "custom-columns":
		return true
	}
	return false
}

// listValue is what kubectl prints for a list request or several objects:
// a v1 List.
func listValue(objs []any) map[string]any {
	items := objs
	if items == nil {
		items = []any{}
	}
	return map[string]any{
		"apiVersion": "v1",
		"items":      items,
		"kind":       "List",
		"metadata":   map[string]any{"resourceVersion": ""},
	}
}

// generic turns v into untyped JSON values as kubectl's unstructured
// objects hold them: maps (whose keys print sorted), slices, strings, bools,
// int64 for integral numbers and float64 otherwise.
func generic(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return convertNumbers(out), nil
}

func convertNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = convertNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = convertNumbers(e)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// printStructured prints objs in a structured format: one object as itself
// unless asList, several (or a list request) as a v1 List. name, the
// kubectl resource prefix function, is used by -o name.
func printStructured(w io.Writer, f outputFormat, objs []any, asList bool, name func(any) string) error {
	var v any
	if len(objs) == 1 && !asList {
		v = objs[0]
	} else {
		v = listValue(objs)
	}
	switch f.kind {
	case "json":
		return printJSON(w, objs, asList)
	case "yaml":
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(b)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	case "name":
		for _, o := range objs {
			if _, err := fmt.Fprintln(w, name(o)); err != nil {
				return err
			}
		}
		return nil
	case "jsonpath":
		g, err := generic(v)
		if err != nil {
			return err
		}
		if err := f.jp.Execute(w, g); err != nil {
			return fmt.Errorf("error executing jsonpath: %w", err)
		}
		return nil
	case "custom-columns":
		return printCustomColumns(w, f.columns, objs, true)
	}
	return fmt.Errorf("output format %q is not structured", f.kind)
}

// printCustomColumns prints -o custom-columns: a header (unless
// !withHeader), then per object each column's results joined by commas, or
// <none>.
func printCustomColumns(w io.Writer, cols []customColumn, objs []any, withHeader bool) error {
	tw := newTable(w)
	if withHeader {
		heads := make([]string, len(cols))
		for i, c := range cols {
			heads[i] = c.header
		}
		fmt.Fprintln(tw, strings.Join(heads, "\t"))
	}
	for _, o := range objs {
		g, err := generic(o)
		if err != nil {
			return err
		}
		cells := make([]string, len(cols))
		for i, c := range cols {
			results, err := c.path.FindResults(g)
			if err != nil {
				return err
			}
			var vals []string
			for _, r := range results {
				for _, v := range r {
					vals = append(vals, fmt.Sprintf("%v", v.Interface()))
				}
			}
			if len(vals) == 0 {
				vals = []string{"<none>"}
			}
			cells[i] = strings.Join(vals, ",")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
