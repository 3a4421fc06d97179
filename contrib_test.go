package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// TestSystemdUnit: systemd-analyze verify accepts the unit (with its
// ExecStart pointed at a built binary, as an install would have it).
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		// CI (LOCALJOBS_REQUIRE_DOCKER=1) must not pass without checking.
		if os.Getenv(dockertest.EnvRequireDocker) == "1" {
			t.Fatal("systemd-analyze is not installed (Debian: apt-get install systemd)")
		}
		t.Skip("systemd-analyze is not installed (Debian: systemd)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "localjobs")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	unit, err := os.ReadFile("contrib/systemd/localjobs.service")
	if err != nil {
		t.Fatal(err)
	}
	u := strings.ReplaceAll(string(unit), "/usr/local/bin/localjobs", bin)
	path := filepath.Join(dir, "localjobs.service")
	if err := os.WriteFile(path, []byte(u), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	// Complaints about units of the machine itself (no docker.service in a
	// container) are not the unit's; anything naming it is.
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "localjobs.service") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
	if err != nil && len(out) == 0 {
		t.Errorf("systemd-analyze verify: %v", err)
	}
}

// TestImageFromScratch: the Dockerfile builds offline from local files (a
// static binary FROM scratch) and the image runs `localjobs version`.
func TestImageFromScratch(t *testing.T) {
	dockertest.RequireDocker(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "localjobs"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	df, err := os.ReadFile("contrib/docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tag := "localjobs-test/image:" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if out, err := exec.CommandContext(ctx, "docker", "build", "--label", dockertest.TestLabel+"=true", "-t", tag, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "--label", dockertest.TestLabel+"=true", tag, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "Client Version: ") {
		t.Fatalf("docker run %s version: %v\n%s", tag, err, out)
	}
	// tzdata is built in: a schedule in any zone works in a scratch image.
	out, err = exec.CommandContext(ctx, "docker", "run", "--rm", "--label", dockertest.TestLabel+"=true", tag,
		"schedule", "0 9 * * 1-5", "--time-zone", "Australia/Lord_Howe", "-n", "1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "+1030") && !strings.Contains(string(out), "+11") {
		t.Errorf("schedule in the scratch image: %v\n%s", err, out)
	}
}
