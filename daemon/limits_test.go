package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// TestApplyLimits is issue #8 item 7: one apply carries at most
// MaxApplyObjects objects (refused whole, with 413 and the file named,
// before anything is applied), and an oversized object is refused with its
// file and line while the rest of its file applies.
func TestApplyLimits(t *testing.T) {
	dir := shortDir(t, "ljlim")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := daemon.Start(ctx, daemon.Config{StateDir: dir, Version: "test", Runtime: runnertest.NewRuntime("busybox")})
	if err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(t, d)
	d.Open()
	c, err := localapi.Dial(ctx, d.Socket, "test")
	if err != nil {
		t.Fatal(err)
	}

	var many strings.Builder
	for i := range localapi.MaxApplyObjects + 1 {
		fmt.Fprintf(&many, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\ndata: {k: v}\n---\n", i)
	}
	t0 := time.Now()
	_, err = c.Apply(ctx, localapi.ApplyRequest{Files: []localapi.File{{Name: "small.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n")}, {Name: "many.yaml", Data: []byte(many.String())}}})
	t.Logf("apply of %d objects answered in %v", localapi.MaxApplyObjects+2, time.Since(t0))
	var st *localapi.StatusError
	if !errors.As(err, &st) || st.Status.Code != 413 {
		t.Fatalf("apply error %v, want 413", err)
	}
	want := fmt.Sprintf("many.yaml: too many objects: one apply may carry at most %d", localapi.MaxApplyObjects)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want %q", err, want)
	}
	if _, err := d.DB.ConfigMap(ctx, "default", "first"); err == nil {
		t.Errorf("configmap/first was applied; want nothing applied")
	}

	big := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: small}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: main\n    image: busybox\n    env: [{name: V, value: " + strings.Repeat("x", 2<<20) + "}]\n"
	resp, err := c.Apply(ctx, localapi.ApplyRequest{Files: []localapi.File{{Name: "big.yaml", Data: []byte(big)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Errors) != 1 || !strings.HasPrefix(resp.Errors[0], "big.yaml:5: pod/big: Too long: must have at most 1572864 bytes") {
		t.Errorf("errors %q", resp.Errors)
	}
	if len(resp.Results) != 1 || resp.Results[0].Name != "small" {
		t.Errorf("results %+v, want configmap/small applied", resp.Results)
	}
}

// TestStartNoEngine: with no Docker engine, Start says so once
// ("docker engine not answering (…)"), not "docker engine: docker engine
// not answering".
func TestStartNoEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	d, err := daemon.Start(context.Background(), daemon.Config{StateDir: t.TempDir(), Version: "test"})
	if err == nil {
		d.Stop()
		t.Fatal("Start succeeded without an engine")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "docker engine not answering") || strings.Count(msg, "docker engine") != 1 {
		t.Errorf("error %q: want one \"docker engine not answering\"", msg)
	}
}
