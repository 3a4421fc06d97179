package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// TestDefaultHostPathNotRootHome is issue #8 item 4: a daemon running as
// root must not allow hostPath volumes in root's home by default (a pod
// writing /root/.ssh/authorized_keys is root on the host). HOME points at a
// temp folder standing in for /root, so unfixed code writes only there.
func TestDefaultHostPathNotRootHome(t *testing.T) {
	dockertest.RequireDocker(t)
	if os.Getuid() != 0 {
		t.Skip("needs a daemon running as root")
	}
	image := dockertest.Busybox(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir, st := t.TempDir(), shortTempDir(t)
	keys := filepath.Join(home, ".ssh", "authorized_keys")
	f := writeFile(t, dir, "keys.yaml", `apiVersion: v1
kind: Pod
metadata: {name: keys}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: `+image+`
    command: [sh, -c, 'echo ssh-ed25519 AAAA attacker >> /ssh/authorized_keys']
    volumeMounts: [{name: ssh, mountPath: /ssh}]
  volumes:
  - name: ssh
    hostPath: {path: '`+filepath.Dir(keys)+`', type: DirectoryOrCreate}
`)
	r := runCLI(t, st, "run", "-f", f)
	if _, err := os.Stat(keys); err == nil {
		t.Fatalf("the pod wrote %s (exit %d)", keys, r.code)
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	for _, want := range []string{"keys.yaml:1: pod/keys: spec.volumes[0].hostPath.path: Forbidden", "(nothing was run)"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}
