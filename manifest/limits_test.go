package manifest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// bigPod is a pod whose one env value is n bytes long.
func bigPod(name string, n int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
    env:
    - name: BIG
      value: %s
`, name, strings.Repeat("x", n))
}

// TestDecode_ObjectTooLarge is issue #8 item 7: an object over Kubernetes'
// 1.5 MiB is refused with file:line, and the file's other objects are not.
func TestDecode_ObjectTooLarge(t *testing.T) {
	in := goodPod + "---\n" + bigPod("big", MaxObjectBytes) + "---\n" + bigPod("fits", MaxObjectBytes-2048)
	res := Decode("big.yaml", []byte(in))
	want := fmt.Sprintf("big.yaml:11: pod/big: Too long: must have at most %d bytes", MaxObjectBytes)
	if len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0].Error(), want) {
		t.Errorf("errors %v, want one starting %q", res.Errors, want)
	}
	var names []string
	for _, o := range res.Objects {
		names = append(names, o.Meta().Name)
		if b, _ := json.Marshal(o.Obj); len(b) > MaxObjectBytes {
			t.Errorf("%s decoded at %d bytes", o.Meta().Name, len(b))
		}
	}
	if strings.Join(names, ",") != "good,fits" {
		t.Errorf("decoded %v, want good and fits", names)
	}
	if MaxObjectBytes != 1572864 {
		t.Errorf("MaxObjectBytes = %d, want Kubernetes' 1.5 MiB", MaxObjectBytes)
	}
}

// TestDecode_ListItemTooLarge: the limit is per object, so a List's items
// are measured one by one.
func TestDecode_ListItemTooLarge(t *testing.T) {
	item := func(name string, n int) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q},"spec":{"restartPolicy":"Never","containers":[{"name":"m","image":"busybox","env":[{"name":"V","value":%q}]}]}}`, name, strings.Repeat("y", n))
	}
	in := `{"apiVersion":"v1","kind":"List","items":[` + item("a", 1<<20) + "," + item("b", 1<<20) + "," + item("c", 2<<20) + `]}`
	res := Decode("list.json", []byte(in))
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "items[2]: pod/c: Too long") {
		t.Errorf("errors %v, want one for items[2]", res.Errors)
	}
	if len(res.Objects) != 2 {
		t.Errorf("decoded %d objects, want 2", len(res.Objects))
	}
}

// TestDecode_DocumentTooLarge: a document too large to be one object is
// refused before it is parsed; the file's other documents still decode.
func TestDecode_DocumentTooLarge(t *testing.T) {
	in := goodPod + "---\n" + bigPod("huge", MaxDocumentBytes)
	res := Decode("huge.yaml", []byte(in))
	want := fmt.Sprintf("huge.yaml:11: Too long: a document must have at most %d bytes", MaxDocumentBytes)
	if len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0].Error(), want) {
		t.Errorf("errors %v, want one starting %q", res.Errors, want)
	}
	if len(res.Objects) != 1 {
		t.Errorf("decoded %d objects, want the good one", len(res.Objects))
	}
}

func TestDocuments(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{goodPod, 1},
		{"# only a comment\n---\n" + goodPod + "---\n\n---\n" + goodPod, 2},
		{`{"kind":"Pod"} {"kind":"Pod"}`, 2},
	}
	for _, tt := range tests {
		if got := Documents([]byte(tt.in)); got != tt.want {
			t.Errorf("Documents(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
