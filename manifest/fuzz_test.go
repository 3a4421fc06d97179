package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds are inputs the example files do not cover: YAML the parsers
// find hard, and shapes that once went wrong.
var fuzzSeeds = []string{
	"",
	"---",
	"---\n---\n",
	"--- # only a comment\n",
	"----\n",
	"--- x\n",
	"\x00\x01\x02\xff\xfe",
	"\t",
	"apiVersion: v1\nkind: Pod\nmetadata:\n\tname: tab\n",
	"{",
	"{}",
	"[]",
	"null",
	"~",
	"42",
	`{"apiVersion":"v1","kind":"Pod"} {"apiVersion":"v1"}`,
	"{apiVersion: v1, kind: Pod, metadata: {name: flow}, spec: {containers: [{name: c, image: busybox}]}}",
	// Anchors and aliases, including a merge key and an alias bomb.
	"a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\n",
	"apiVersion: v1\nkind: Pod\nmetadata: &m {name: p}\nspec:\n  <<: {restartPolicy: Never}\n  containers: [{name: c, image: busybox, env: [{name: A, value: *m}]}]\n",
	"a: *undefined\n",
	"&a a: *a\n",
	// Deep nesting.
	strings.Repeat("[", 1000) + strings.Repeat("]", 1000),
	strings.Repeat("{a: ", 500) + "1" + strings.Repeat("}", 500),
	strings.Repeat("- ", 300) + "x\n",
	// Huge and odd numbers where integers go.
	"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  backoffLimit: 99999999999999999999999999\n  template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}\n",
	"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  completions: 1e400\n  parallelism: -0x7fffffffffffffff\n  activeDeadlineSeconds: .inf\n  template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}\n",
	"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  terminationGracePeriodSeconds: 0o777\n  containers: [{name: c, image: busybox, resources: {limits: {cpu: 1e309, memory: 99999999999999999999Ei}}}]\n",
	"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: \"0 0 30 2 *\"\n  timeZone: Not/AZone\n  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}}\n",
	"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, items: []}\n- 7\n- null\n",
	"? [complex, key]\n: value\n",
	"key: !!binary aGVsbG8=\n",
	"key: !custom tag\n",
	"a: 1\na: 2\n",
	"\ufeffapiVersion: v1\n",
	"apiVersion: v1\r\nkind: Pod\r\n",
	"x: |\n  ---\n  y\n",
}

// yamlLines counts lines as the YAML parser does: besides \n, a lone \r
// and the Unicode breaks NEL, LS and PS end a line.
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	n := 1
	for _, sep := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
		n += strings.Count(s, sep)
	}
	return n
}

// FuzzDecode checks that no input makes Decode panic, and invariants that
// hold for any input: problems name the file and a line inside it, and
// every object decoded re-encodes to JSON.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"../testdata/manifests", "../specs"} {
		files, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range files {
			if e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.yaml"
		res := Decode(file, data)
		maxLine := yamlLines(data)
		if text, err := utf8Text(data); err == nil {
			maxLine = yamlLines(text) // lines of UTF-16 are lines of its text
		}
		for _, ps := range [][]Problem{res.Errors, res.Warnings} {
			for _, p := range ps {
				if !strings.HasPrefix(p.Error(), file+":") {
					t.Errorf("problem does not start with the file name: %q", p.Error())
				}
				if p.Line < 0 || p.Line > maxLine {
					t.Errorf("problem at line %d of a %d-line input: %q", p.Line, maxLine, p.Error())
				}
			}
		}
		for _, o := range res.Objects {
			if o.File != file {
				t.Errorf("object file %q, want %q", o.File, file)
			}
			if o.Line < 1 || o.Line > maxLine {
				t.Errorf("%s at line %d of a %d-line input", o.Kind, o.Line, maxLine)
			}
			if newObject(o.Kind) == nil {
				t.Errorf("object of kind %q", o.Kind)
			}
			if _, err := json.Marshal(o.Obj); err != nil {
				t.Errorf("%s does not re-encode to JSON: %v", o.Kind, err)
			}
		}
	})
}
