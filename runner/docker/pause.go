package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/localjobs/localjobs/runner"
)

// The pod sandbox's pause program (pause/main.go), built by go generate.
var (
	//go:embed pause_linux_amd64.bin
	pauseAMD64 []byte
	//go:embed pause_linux_arm64.bin
	pauseARM64 []byte
)

// PauseRepo is the repository of the imported pause images; the tag is a
// hash of the binary, so a new localjobs version imports its own.
const PauseRepo = "localjobs/pause"

// importTimeout bounds importing the pause image.
const importTimeout = 2 * time.Minute

// PauseImage implements runner.Runtime: it imports the embedded pause
// program for the engine's architecture as an image (ImageImport: no
// builder, no registry), once, and returns its reference.
func (r *Runtime) PauseImage(ctx context.Context) (string, error) {
	r.pauseMu.Lock()
	defer r.pauseMu.Unlock()
	if r.pauseRef != "" {
		return r.pauseRef, nil
	}
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	v, err := r.api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", fmt.Errorf("pause image: engine version: %w", err)
	}
	var bin []byte
	switch v.Arch {
	case "amd64", "x86_64":
		bin = pauseAMD64
	case "arm64", "aarch64":
		bin = pauseARM64
	default:
		return "", fmt.Errorf("pause image: no pause binary for engine architecture %q (linux/amd64 and linux/arm64 are built in)", v.Arch)
	}
	sum := sha256.Sum256(bin)
	ref := PauseRepo + ":" + hex.EncodeToString(sum[:])[:12]
	if _, err := r.api.ImageInspect(ctx, ref); err == nil {
		r.pauseRef = ref
		return ref, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("pause image: inspect %s: %w", ref, err)
	}
	layer, err := pauseLayer(bin)
	if err != nil {
		return "", fmt.Errorf("pause image: %w", err)
	}
	arch := "amd64"
	if bytes.Equal(bin, pauseARM64) {
		arch = "arm64"
	}
	res, err := r.api.ImageImport(ctx, client.ImageImportSource{Source: bytes.NewReader(layer), SourceName: "-"}, ref, client.ImageImportOptions{
		Platform: ocispec.Platform{OS: "linux", Architecture: arch},
		Changes:  []string{`ENTRYPOINT ["/pause"]`, `LABEL ` + runner.LabelSandbox + `=true`},
		Message:  "localjobs pod sandbox",
	})
	if err != nil {
		return "", fmt.Errorf("pause image: import %s: %s", ref, daemonMessage(err))
	}
	defer closeQuietly(res)
	if _, err := io.Copy(io.Discard, res); err != nil {
		return "", fmt.Errorf("pause image: import %s: %w", ref, err)
	}
	if _, err := r.api.ImageInspect(ctx, ref); err != nil {
		return "", fmt.Errorf("pause image: import %s: %w", ref, err)
	}
	r.pauseRef = ref
	return ref, nil
}

// pauseLayer is a tar holding /pause.
func pauseLayer(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: "pause", Mode: 0o755, Size: int64(len(bin)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RemoveVolume implements runner.Runtime; a missing volume is not an error.
func (r *Runtime) RemoveVolume(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := r.api.VolumeRemove(ctx, name, client.VolumeRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove volume %s: %s", name, daemonMessage(err))
	}
	return nil
}

// Node implements runner.Runtime with the engine's CPU count and memory.
func (r *Runtime) Node(ctx context.Context) (runner.NodeInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := r.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return runner.NodeInfo{}, fmt.Errorf("engine info: %w", err)
	}
	return runner.NodeInfo{CPUs: res.Info.NCPU, Memory: res.Info.MemTotal}, nil
}
