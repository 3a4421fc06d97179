package manifest

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// pathElem is one step of a field path: a struct field or map key by name,
// or a list index.
type pathElem struct {
	name    string
	index   int
	isIndex bool
	isKey   bool
}

// fieldPath is a field path such as spec.containers[0].image, rendered the
// way k8s.io/apimachinery's field.Path renders it (map keys in brackets).
type fieldPath []pathElem

// child returns p extended by the field name (copying, never aliasing p).
func (p fieldPath) child(name string) fieldPath {
	return append(p[:len(p):len(p)], pathElem{name: name})
}

// index returns p extended by a list index.
func (p fieldPath) index(i int) fieldPath {
	return append(p[:len(p):len(p)], pathElem{index: i, isIndex: true})
}

// key returns p extended by a map key.
func (p fieldPath) key(k string) fieldPath {
	return append(p[:len(p):len(p)], pathElem{name: k, isKey: true})
}

// String renders the path as Kubernetes does: a.b[0].c[key].
func (p fieldPath) String() string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case e.isIndex:
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
		case e.isKey:
			b.WriteString("[" + e.name + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.name)
		}
	}
	return b.String()
}

// parseFieldPath parses a path such as spec.containers[0].foo, as produced
// by sigs.k8s.io/json's strict errors. Bracketed non-numbers are map keys.
func parseFieldPath(s string) fieldPath {
	var p fieldPath
	for s != "" {
		switch s[0] {
		case '.':
			s = s[1:]
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return p.child(s)
			}
			inner := s[1:end]
			if n, err := strconv.Atoi(inner); err == nil {
				p = p.index(n)
			} else {
				p = p.key(inner)
			}
			s = s[end+1:]
		default:
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			p = p.child(s[:end])
			s = s[end:]
		}
	}
	return p
}

// nodeAt returns the node p names in the document rooted at n, or nil.
func nodeAt(n *yaml.Node, p fieldPath) *yaml.Node {
	n = deref(n)
	for _, e := range p {
		if n == nil {
			return nil
		}
		switch {
		case n.Kind == yaml.MappingNode && !e.isIndex:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == e.name {
					next = deref(n.Content[i+1])
				}
			}
			n = next
		case n.Kind == yaml.SequenceNode && e.isIndex && e.index >= 0 && e.index < len(n.Content):
			n = deref(n.Content[e.index])
		default:
			return nil
		}
	}
	return n
}

// lineOf returns the line of the YAML key (or list item) that p names in the
// document rooted at n; when p does not exist in the document (a missing
// required field, a defaulted value), the line of the deepest existing
// parent. It returns 0 when n is nil.
func lineOf(n *yaml.Node, p fieldPath) int {
	if n == nil {
		return 0
	}
	n = deref(n)
	line := n.Line
	for _, e := range p {
		if n == nil {
			break
		}
		switch n.Kind {
		case yaml.MappingNode:
			if e.isIndex {
				return line
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == e.name {
					line = n.Content[i].Line
					next = deref(n.Content[i+1])
				}
			}
			if next == nil {
				return line
			}
			n = next
		case yaml.SequenceNode:
			if !e.isIndex || e.index < 0 || e.index >= len(n.Content) {
				return line
			}
			n = deref(n.Content[e.index])
			line = n.Line
		default:
			return line
		}
	}
	return line
}

// deref unwraps document and alias nodes.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch {
		case n.Kind == yaml.DocumentNode && len(n.Content) > 0:
			n = n.Content[0]
		case n.Kind == yaml.AliasNode && n.Alias != nil:
			n = n.Alias
		default:
			return n
		}
	}
	return n
}

// duplicateKeys reports every mapping key that repeats an earlier key of the
// same mapping, with its path and line. sigs.k8s.io/yaml keeps one of the
// values silently; Kubernetes' strict decoding rejects the field, and so do we.
// Aliases are not followed: their targets are checked where they are defined.
func duplicateKeys(n *yaml.Node, p fieldPath, report func(p fieldPath, line int, key string)) {
	if n != nil && n.Kind == yaml.DocumentNode {
		n = deref(n)
	}
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Value != "<<" {
				if seen[k.Value] {
					report(p.child(k.Value), k.Line, k.Value)
				}
				seen[k.Value] = true
			}
			duplicateKeys(n.Content[i+1], p.child(k.Value), report)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			duplicateKeys(c, p.index(i), report)
		}
	}
}
