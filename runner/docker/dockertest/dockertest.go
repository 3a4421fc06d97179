// Package dockertest holds helpers for tests that need a real Docker engine:
// a skip (or failure) when none answers, a busybox image built locally from
// the host's busybox-static binary (never pulled), and container names and
// clean-up.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/docker"
	"github.com/localjobs/localjobs/state"
)

// EnvRequireDocker, when "1", turns a missing Docker engine from a skip into
// a test failure (CI sets it).
const EnvRequireDocker = "LOCALJOBS_REQUIRE_DOCKER"

// BusyboxPath is the statically linked busybox the test image is built from
// (Debian's busybox-static package).
const BusyboxPath = "/bin/busybox"

// TestLabel marks images and containers made by tests.
const TestLabel = "io.localjobs.test"

// Applets are the busybox applets the image links into /bin.
var Applets = []string{
	"sh", "ash", "echo", "cat", "sleep", "tail", "head", "true", "false", "env", "ls",
	"printf", "seq", "date", "yes", "dd", "mkdir", "touch", "hostname", "wc", "grep",
	"sed", "id", "whoami", "ps", "kill", "rm", "cp", "mv", "ln", "chmod", "test", "[",
	"tr", "cut", "sort", "uniq", "awk", "xargs", "tee", "nc", "wget", "nslookup", "ping",
	"stat", "readlink", "basename", "dirname", "pwd", "uname", "mount", "df", "du", "find",
	"timeout", "nproc", "base64", "sha256sum", "md5sum", "which", "usleep", "vi",
}

// RequireDocker returns a runtime connected to the engine of the
// environment. If no engine answers within 2 seconds the test is skipped,
// or fails when LOCALJOBS_REQUIRE_DOCKER=1.
func RequireDocker(t testing.TB) *docker.Runtime {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rt, err := docker.New(ctx)
	if err != nil {
		if os.Getenv(EnvRequireDocker) == "1" {
			t.Fatalf("Docker is required (%s=1): %v", EnvRequireDocker, err)
		}
		t.Skipf("Docker is not available: %v", err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

var (
	clientOnce sync.Once
	apiClient  *client.Client
	clientErr  error
)

// engine returns a process-wide SDK client for image housekeeping.
func engine(t testing.TB) *client.Client {
	t.Helper()
	clientOnce.Do(func() { apiClient, clientErr = client.New(client.FromEnv) })
	if clientErr != nil {
		t.Fatalf("docker client: %v", clientErr)
	}
	return apiClient
}

var (
	busyboxMu  sync.Mutex
	busyboxRef string
)

// Busybox returns the tag of an image holding the host's busybox-static
// binary and links to common applets, built once per process and tagged
// localjobs-test/busybox:<content hash> (an existing tag is reused). It
// needs no registry: the image is built FROM scratch.
func Busybox(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	ref, err := BuildBusybox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// BuildBusybox is Busybox for programs that are not tests (the benchmarks):
// it builds (or finds) the image and returns its tag.
func BuildBusybox(ctx context.Context) (string, error) {
	busyboxMu.Lock()
	defer busyboxMu.Unlock()
	if busyboxRef != "" {
		return busyboxRef, nil
	}
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return "", fmt.Errorf("the test image needs %s (Debian: apt-get install busybox-static): %w", BusyboxPath, err)
	}
	ctxTar, sum, err := busyboxContext(bin)
	if err != nil {
		return "", err
	}
	ref := "localjobs-test/busybox:" + sum[:12]
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	clientOnce.Do(func() { apiClient, clientErr = client.New(client.FromEnv) })
	if clientErr != nil {
		return "", fmt.Errorf("docker client: %w", clientErr)
	}
	cli := apiClient
	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		busyboxRef = ref
		return ref, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if err := buildImage(ctx, cli, ctxTar, ref, map[string]string{TestLabel: "true"}); err != nil {
		return "", fmt.Errorf("build test image %s: %w", ref, err)
	}
	busyboxRef = ref
	return ref, nil
}

// busyboxContext returns the build context (Dockerfile and rootfs/) for a
// busybox image and a hash of its content.
func busyboxContext(bin []byte) (ctxTar []byte, sum string, err error) {
	dockerfile := "FROM scratch\nCOPY rootfs/ /\nCMD [\"sh\"]\n"
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group := "root:x:0:\nnogroup:x:65534:\n"

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	file := func(name string, mode int64, data []byte) {
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Typeflag: tar.TypeReg})
		}
		if err == nil {
			_, err = tw.Write(data)
		}
	}
	dir := func(name string, mode int64) {
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: name, Mode: mode, ModTime: mtime, Typeflag: tar.TypeDir})
		}
	}
	link := func(name, target string) {
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: name, Linkname: target, Mode: 0o777, ModTime: mtime, Typeflag: tar.TypeSymlink})
		}
	}
	file("Dockerfile", 0o644, []byte(dockerfile))
	dir("rootfs/", 0o755)
	dir("rootfs/bin/", 0o755)
	file("rootfs/bin/busybox", 0o755, bin)
	for _, a := range Applets {
		link("rootfs/bin/"+a, "busybox")
	}
	dir("rootfs/usr/", 0o755)
	dir("rootfs/usr/bin/", 0o755)
	link("rootfs/usr/bin/env", "/bin/busybox")
	dir("rootfs/etc/", 0o755)
	file("rootfs/etc/passwd", 0o644, []byte(passwd))
	file("rootfs/etc/group", 0o644, []byte(group))
	dir("rootfs/tmp/", 0o1777)
	dir("rootfs/root/", 0o700)
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return nil, "", fmt.Errorf("build context: %w", err)
	}
	h := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(h[:]), nil
}

// buildImage builds the tar build context ctxTar with the engine's classic
// builder and tags the result ref.
func buildImage(ctx context.Context, cli *client.Client, ctxTar []byte, ref string, labels map[string]string) error {
	res, err := cli.ImageBuild(ctx, bytes.NewReader(ctxTar), client.ImageBuildOptions{
		Tags:        []string{ref},
		Labels:      labels,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	var out bytes.Buffer
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		out.WriteString(m.Stream)
		if m.Error != nil {
			return fmt.Errorf("%s (build output: %s)", m.Error.Message, out.String())
		}
	}
}

// Tag tags image as target for the duration of the test.
func Tag(t testing.TB, image, target string) {
	t.Helper()
	cli := engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: image, Target: target}); err != nil {
		t.Fatalf("tag %s as %s: %v", image, target, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = cli.ImageRemove(ctx, target, client.ImageRemoveOptions{})
	})
}

// MissingImage returns a reference to an image that exists nowhere: a
// syntactically valid name with a random tag in a reserved namespace.
func MissingImage() string {
	return "localjobs-test/missing:" + randomHex(8)
}

var nameSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// Name returns a fresh container name for t: lj-test-<test>-<n>-<random>.
func Name(t testing.TB) string {
	n := nameSeq.Add(1)
	test := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(test) > 60 {
		test = test[:60]
	}
	return fmt.Sprintf("lj-test-%s-%d-%s", test, n, randomHex(3))
}

// Labels returns the labels every test container should carry, plus extra.
func Labels(extra map[string]string) map[string]string {
	l := map[string]string{TestLabel: "true"}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

// RemoveOnCleanup removes container id (forcibly) when the test ends.
func RemoveOnCleanup(t testing.TB, rt *docker.Runtime, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := rt.Remove(ctx, id); err != nil {
			t.Errorf("remove test container %s: %v", id, err)
		}
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RemoveContainers force-removes every container carrying all of labels
// (without inspecting each, which a busy engine can make slow) and returns
// how many it removed. A container already gone is not an error.
func RemoveContainers(ctx context.Context, labels map[string]string) (int, error) {
	clientOnce.Do(func() { apiClient, clientErr = client.New(client.FromEnv) })
	if clientErr != nil {
		return 0, fmt.Errorf("docker client: %w", clientErr)
	}
	f := make(client.Filters)
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	res, err := apiClient.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	n := 0
	var errs []error
	for _, c := range res.Items {
		_, err := apiClient.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		switch {
		case err == nil:
			n++
		case cerrdefs.IsNotFound(err), cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress"):
		default:
			errs = append(errs, fmt.Errorf("remove %s: %w", c.ID, err))
		}
	}
	return n, errors.Join(errs...)
}

// RemoveInstanceContainers removes every container of the localjobs
// instance of stateDir (a daemon that has stopped: up leaves its
// containers running by design).
func RemoveInstanceContainers(ctx context.Context, stateDir string) error {
	db, err := state.Open(stateDir, state.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	inst := db.InstanceID()
	db.Close()
	if _, err := RemoveContainers(ctx, map[string]string{runner.LabelInstance: inst}); err != nil {
		return fmt.Errorf("remove the containers of instance %s: %w", inst, err)
	}
	return nil
}
