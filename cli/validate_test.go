package cli

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	typo := writeFile(t, dir, "typo.yaml", `apiVersion: batch/v1
kind: Job
metadata:
  name: typo
spec:
  template:
    spec:
      restartPolcy: Never
      containers:
      - name: main
        image: busybox
`)
	env8080 := writeFile(t, dir, "env.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: env
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
    env:
    - name: PORT
      value: 8080
`)
	mixed := writeFile(t, dir, "mixed.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: good-one
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
---
apiVersion: v1
kind: Pod
metadata:
  name: good-two
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
`)
	tests := []struct {
		name, file string
		wantStderr []string
		wantStdout []string
	}{
		{"typo", typo, []string{typo + `:8: spec.template.spec.restartPolcy: unknown field "restartPolcy"`}, nil},
		{"8080", env8080, []string{env8080 + ":12: spec.containers[0].env[0].value:"}, nil},
		{"mixed", mixed, []string{mixed + `:12: kind: Unsupported value: "Deployment"`}, []string{mixed + ":1: pod/good-one valid", mixed + ":16: pod/good-two valid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, t.TempDir(), "validate", tt.file)
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
	t.Run("specs", func(t *testing.T) {
		r := runCLI(t, t.TempDir(), "validate", "../specs")
		if r.code != 0 || strings.Count(r.stdout, " valid") != 6 {
			t.Errorf("bundled examples: exit %d, %d valid; want 0 and 6", r.code, strings.Count(r.stdout, " valid"))
		}
	})
}

func TestRunRefusals(t *testing.T) {
	dir := t.TempDir()
	always := writeFile(t, dir, "always.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: forever
spec:
  containers:
  - name: main
    image: busybox
`)
	cron := writeFile(t, dir, "cron.yaml", `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: busybox
`)
	for _, tt := range []struct{ file, want string }{
		{always, "restartPolicy: Never"},
		{cron, "--from=cronjob/nightly"},
	} {
		r := runCLI(t, t.TempDir(), "run", "-f", tt.file)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("run -f %s: exit %d, stderr %q; want 2 and a hint with %q", tt.file, r.code, r.stderr, tt.want)
		}
	}
	if r := runCLI(t, t.TempDir(), "run"); r.code != 2 {
		t.Errorf("run without -f: exit %d, want 2", r.code)
	}
}
