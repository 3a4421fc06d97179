package main

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/localjobs/localjobs"

// mayImport is the dependency rule (DESIGN §1) as a table: the packages of
// this module each package may import directly (its non-test files). A
// package missing from the table fails the test, so a new one states its
// place.
var mayImport = map[string][]string{
	"":         {"cli", "daemon"}, // main: the composition root
	"manifest": {},
	// kubectl's columns (pod STATUS, READY, RESTARTS; Job STATUS,
	// COMPLETIONS), shared by the CLI and the dashboard.
	"kubectl":  {"manifest"},
	"schedule": {"manifest"},
	"crontab":  {"manifest", "schedule"}, // a pure converter (no os/exec: the CLI reads the crontab)
	"apply":    {"manifest", "runner"},
	"runner":   {"manifest"},
	// The kubelet (one pod on this machine) and the Job controller know
	// nothing of each other nor of the controller that ties them: each
	// declares the small Host interface it needs.
	"runner/kubelet":           {"manifest", "runner"},
	"runner/jobcontroller":     {"manifest", "runner"},
	"runner/controller":        {"manifest", "runner", "runner/jobcontroller", "runner/kubelet"},
	"runner/runnertest":        {"manifest", "runner"},
	"runner/docker":            {"runner", "runner/docker/pause"},
	"runner/docker/pause":      {},
	"runner/docker/dockertest": {"runner", "runner/docker", "state"},
	"history":                  {"manifest", "runner"},
	"state":                    {"apply", "history", "manifest", "runner"},
	"localapi":                 {"apply", "history", "manifest", "runner"},
	// The optional servers and clients at the edge (issue #13).
	"metrics": {"history", "manifest", "runner"},
	"notify":  {"history", "manifest"},
	"daemon":  {"apply", "history", "localapi", "manifest", "metrics", "notify", "runner", "runner/controller", "runner/docker", "runner/kubelet", "schedule", "state", "ui"},
	// The dashboard is a client of the API, like the CLI.
	"ui": {"history", "kubectl", "localapi", "manifest", "schedule"},
	// The CLI reaches daemons and state only through localapi.
	"cli": {"crontab", "kubectl", "localapi", "manifest", "schedule"},
	// bench seeds a store through its API and runs the binary.
	"bench": {"history", "localapi", "manifest", "runner", "runner/docker", "runner/docker/dockertest", "schedule", "state"},
	// The chaos harness drives the binary and reads a stopped daemon's state.
	"bench/chaos": {"localapi", "manifest", "runner/docker/dockertest", "state"},
}

// onlyIn names, for each technology at the edge, the packages that may
// import it directly.
var onlyIn = []struct {
	prefix string
	pkgs   []string
}{
	// bench's anchor is its own loop on the engine API.
	{"github.com/moby/", []string{"runner/docker", "runner/docker/dockertest", "bench"}},
	{"go.etcd.io/bbolt", []string{"state"}},
	{"net/http", []string{"localapi", "metrics", "notify", "ui"}},
	{"github.com/prometheus/", []string{"metrics"}},
}

// TestDependencyDirection checks every package of the module against the
// tables above.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		seen++
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		allowed, ok := mayImport[name]
		if !ok {
			t.Errorf("package %q has no rule in deps_test.go's mayImport: state what it may import", name)
			continue
		}
		for _, imp := range p.Imports {
			if rest, ok := strings.CutPrefix(imp, module); ok {
				dep := strings.TrimPrefix(rest, "/")
				if !slices.Contains(allowed, dep) {
					t.Errorf("%s imports %s; it may import only %v", orRoot(name), orRoot(dep), allowed)
				}
				continue
			}
			for _, r := range onlyIn {
				if strings.HasPrefix(imp, r.prefix) && !slices.Contains(r.pkgs, name) {
					t.Errorf("%s imports %s; only %v may", orRoot(name), imp, r.pkgs)
				}
			}
		}
	}
	if seen < len(mayImport)-1 {
		t.Errorf("go list saw %d packages; the table has %d", seen, len(mayImport))
	}
}

func orRoot(name string) string {
	if name == "" {
		return "main"
	}
	return name
}

// TestNoCostlyInit: the binary links no package that does work at every
// start which few commands need — x509roots/fallback parsed its CA roots
// (4 ms) in every CLI command; notify hands them over before a webhook.
func TestNoCostlyInit(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := strings.Fields(string(out))
	if slices.Contains(deps, "golang.org/x/crypto/x509roots/fallback") {
		t.Error("the binary links golang.org/x/crypto/x509roots/fallback, which parses every CA root at start; use notify's fallbackRoots")
	}
	if !slices.Contains(deps, "golang.org/x/crypto/x509roots/fallback/bundle") {
		t.Error("the binary no longer carries the fallback CA roots (x509roots/fallback/bundle): webhooks from a FROM scratch image would fail")
	}
}
