package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localjobs/localjobs/runner/docker/dockertest"
)

// buildTimeout bounds a test's go build: cold, on two loaded cores, the
// whole binary takes a few minutes; past this the build is killed and the
// test says so instead of hanging until the package's -timeout.
const buildTimeout = 5 * time.Minute

var static struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// staticBinary builds localjobs once for the package's tests, as the
// image does (CGO_ENABLED=0, -trimpath).
func staticBinary(t *testing.T) string {
	t.Helper()
	static.once.Do(func() {
		if static.dir, static.err = os.MkdirTemp("", "ljstatic"); static.err != nil {
			return
		}
		static.bin = filepath.Join(static.dir, "localjobs")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", static.bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("killed after %v: %w", buildTimeout, err)
			}
			static.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if static.err != nil {
		t.Fatal(static.err)
	}
	return static.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if static.dir != "" {
		os.RemoveAll(static.dir)
	}
	os.Exit(code)
}

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
	bin := staticBinary(t)
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
	bin, err := os.ReadFile(staticBinary(t))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "localjobs"), bin, 0o755)
	}
	if err != nil {
		t.Fatal(err)
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
