package cli

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/client-go/util/jsonpath"
)

// sortByPath sorts objs stably by the value of path in each, as kubectl
// get --sort-by does: numbers by value, strings in natural order (pod-2
// before pod-10; RFC 3339 times by time), objects without the field
// first. A path no object has is an error, as in kubectl.
func sortByPath(objs []any, path *jsonpath.JSONPath, expr string) error {
	keys := make([]any, len(objs))
	found := false
	for i, o := range objs {
		g, err := generic(o)
		if err != nil {
			return err
		}
		res, err := path.FindResults(g)
		if err != nil {
			return err
		}
		if len(res) > 0 && len(res[0]) > 0 {
			keys[i] = res[0][0].Interface()
			found = true
		}
	}
	if !found && len(objs) > 1 {
		return fmt.Errorf("couldn't find any field with path %q in the list of objects", expr)
	}
	idx := make([]int, len(objs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lessValue(keys[idx[a]], keys[idx[b]]) })
	sorted := make([]any, len(objs))
	for i, j := range idx {
		sorted[i] = objs[j]
	}
	copy(objs, sorted)
	return nil
}

// lessValue orders two JSON values of a --sort-by field.
func lessValue(a, b any) bool {
	switch {
	case a == nil:
		return b != nil
	case b == nil:
		return false
	}
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return x < y
		case float64:
			return float64(x) < y
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return x < float64(y)
		case float64:
			return x < y
		}
	case bool:
		if y, ok := b.(bool); ok {
			return !x && y
		}
	case string:
		if y, ok := b.(string); ok {
			return naturalLess(x, y)
		}
	}
	return fmt.Sprint(a) < fmt.Sprint(b)
}

// naturalLess compares strings with runs of digits compared as numbers.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
