package docker_test

import (
	"strings"
	"testing"

	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// TestExec runs commands in a running container: output is demultiplexed
// to stdout and stderr and the command's exit code comes back.
func TestExec(t *testing.T) {
	rt := dockertest.RequireDocker(t)
	image := dockertest.Busybox(t)
	ctx := ctxFor(t)
	id, err := rt.Create(ctx, spec(t, image, "sleep 300"))
	if err != nil {
		t.Fatal(err)
	}
	dockertest.RemoveOnCleanup(t, rt, id)
	if err := rt.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cmd            []string
		stdout, stderr string
		code           int
	}{
		{[]string{"echo", "hi there"}, "hi there\n", "", 0},
		{[]string{"sh", "-c", "echo out; echo err >&2; exit 3"}, "out\n", "err\n", 3},
		// The command runs beside the container's own process (sh has
		// exec'd sleep as PID 1).
		{[]string{"sh", "-c", "tr '\\0' ' ' </proc/1/cmdline"}, "sleep 300 ", "", 0},
	} {
		var out, errb strings.Builder
		code, err := rt.Exec(ctx, id, tc.cmd, &out, &errb)
		if err != nil {
			t.Fatalf("Exec(%q): %v", tc.cmd, err)
		}
		if code != tc.code || out.String() != tc.stdout || errb.String() != tc.stderr {
			t.Errorf("Exec(%q) = %d, stdout %q, stderr %q; want %d, %q, %q", tc.cmd, code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderr)
		}
	}
	// A missing executable is the engine's exit code 126/127, not an error.
	var out, errb strings.Builder
	code, err := rt.Exec(ctx, id, []string{"no-such-binary"}, &out, &errb)
	if err != nil || (code != 126 && code != 127) {
		t.Errorf("Exec(no-such-binary) = %d, %v (stdout %q); want 126 or 127", code, err, out.String())
	}
}
