package kubelet

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Termination messages (DESIGN §3): the file is read up to 4096 bytes;
// FallbackToLogsOnError uses the last 80 lines, at most 2048 bytes.
const (
	maxTerminationMessage = 4096
	fallbackLogLines      = 80
	fallbackLogBytes      = 2048
)

// terminationFile is the host file bind-mounted at a container instance's
// terminationMessagePath.
func terminationFile(podDir, container string, restart int32) string {
	return filepath.Join(podDir, "containers", container, strconv.Itoa(int(restart))+"-termination-log")
}

func createTerminationFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(path, 0o666) // writable by any container user
}

// terminationMessage is a finished instance's terminated.message: the
// content of its terminationMessagePath file (at most 4096 bytes), or, with
// FallbackToLogsOnError and a failure, the tail of its log.
func (k *Kubelet) terminationMessage(ctx context.Context, pod *manifest.Pod, name string, restart int32, id string, info runner.ContainerInfo) string {
	var spec *manifest.Container
	for _, list := range [][]manifest.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				spec = &list[i]
			}
		}
	}
	if spec == nil {
		return ""
	}
	if dir := k.Store.PodDir(pod.Namespace, pod.Name, pod.UID); dir != "" && spec.TerminationMessagePath != "" {
		if f, err := os.Open(terminationFile(dir, name, restart)); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, maxTerminationMessage))
			f.Close()
			if len(b) > 0 {
				return string(b)
			}
		}
	}
	if spec.TerminationMessagePolicy != "FallbackToLogsOnError" || (info.ExitCode == 0 && !info.OOMKilled) {
		return ""
	}
	tail := &tailSink{max: fallbackLogLines}
	if err := k.Runtime.Logs(ctx, id, time.Time{}, false, tail); err != nil {
		return ""
	}
	var b bytes.Buffer
	for _, l := range tail.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	out := b.Bytes()
	if len(out) > fallbackLogBytes {
		out = out[len(out)-fallbackLogBytes:]
	}
	return string(out)
}

// tailSink keeps the last max lines written to it.
type tailSink struct {
	max     int
	lines   []string
	partial bool
}

func (t *tailSink) WriteLine(_ time.Time, _ string, line []byte, partial bool) error {
	if t.partial && len(t.lines) > 0 {
		t.lines[len(t.lines)-1] += string(line)
	} else {
		t.lines = append(t.lines, string(line))
	}
	t.partial = partial
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
	return nil
}
