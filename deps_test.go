package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the domain packages free of the technology
// at the edges (DESIGN §1): no Docker SDK, no bbolt, no HTTP.
func TestDependencyDirection(t *testing.T) {
	forbidden := []string{"github.com/moby/", "go.etcd.io/bbolt", "net/http"}
	// schedule must not depend on runner either (DESIGN §1).
	// crontab is a pure converter: manifest and schedule only.
	extra := map[string][]string{
		"./schedule": {"github.com/localjobs/localjobs/runner"},
		"./crontab":  {"github.com/localjobs/localjobs/runner", "os/exec"},
	}
	for _, pkg := range []string{"./manifest", "./runner", "./schedule", "./crontab"} {
		out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for dec.More() {
			var p struct{ ImportPath string }
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			for _, f := range append(forbidden, extra[pkg]...) {
				if strings.HasPrefix(p.ImportPath, f) {
					t.Errorf("%s depends on %s", pkg, p.ImportPath)
				}
			}
		}
	}
}
