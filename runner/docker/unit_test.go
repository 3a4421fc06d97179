package docker

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/localjobs/localjobs/runner"
)

type sunk struct {
	ts      time.Time
	stream  string
	text    string
	partial bool
}

type sliceSink struct{ lines []sunk }

func (s *sliceSink) WriteLine(ts time.Time, stream string, line []byte, partial bool) error {
	s.lines = append(s.lines, sunk{ts, stream, string(line), partial})
	return nil
}

func frame(stream byte, ts time.Time, text string) []byte {
	payload := ts.UTC().Format(time.RFC3339Nano) + " " + text
	hdr := make([]byte, 8)
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	return append(hdr, payload...)
}

func TestCopyFrames(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Millisecond) }
	var in bytes.Buffer
	in.Write(frame(streamStdout, at(1), "one\n"))
	in.Write(frame(streamStderr, at(2), "err\n"))
	in.Write(frame(streamStdout, at(3), "long-"))  // split by the engine
	in.Write(frame(streamStderr, at(4), "e2\n"))   // interleaved stream
	in.Write(frame(streamStdout, at(5), "line\n")) // rest of the long line
	in.Write(frame(streamStdout, at(6), "\n"))     // empty line
	in.Write(frame(streamStdout, at(7), "tail"))   // no newline at the end

	tests := []struct {
		name  string
		since time.Time
		want  []sunk
	}{
		{"All", time.Time{}, []sunk{
			{at(1), "stdout", "one", false},
			{at(2), "stderr", "err", false},
			{at(4), "stderr", "e2", false},
			{at(3), "stdout", "long-", true},
			{at(5), "stdout", "line", false},
			{at(6), "stdout", "", false},
			{at(7), "stdout", "tail", false},
		}},
		{"SinceExclusive", at(5), []sunk{
			{at(6), "stdout", "", false},
			{at(7), "stdout", "tail", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sink sliceSink
			if err := copyFrames(bytes.NewReader(in.Bytes()), &lineWriter{sink: &sink, since: tt.since}); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(sink.lines) != fmt.Sprint(tt.want) {
				t.Errorf("copyFrames() delivered\n%v\nwant\n%v", sink.lines, tt.want)
			}
		})
	}

	t.Run("SystemError", func(t *testing.T) {
		var b bytes.Buffer
		b.Write(frame(streamStdout, at(1), "one\n"))
		b.Write([]byte{streamSystem, 0, 0, 0, 0, 0, 0, 4})
		b.WriteString("boom")
		var sink sliceSink
		err := copyFrames(&b, &lineWriter{sink: &sink})
		if err == nil || !strings.Contains(err.Error(), "boom") || len(sink.lines) != 1 {
			t.Errorf("copyFrames(system error frame) = %v after %d lines; want error boom after 1", err, len(sink.lines))
		}
	})
	t.Run("Truncated", func(t *testing.T) {
		b := frame(streamStdout, at(1), "one\n")
		if err := copyFrames(bytes.NewReader(b[:len(b)-2]), &lineWriter{sink: &sliceSink{}}); err == nil {
			t.Error("copyFrames(truncated frame) = nil; want error")
		}
	})
}

func TestCopyRawLines(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := t0.Format(time.RFC3339Nano) + " hello\r\n" + t0.Add(time.Second).Format(time.RFC3339Nano) + " world"
	var sink sliceSink
	if err := copyRawLines(strings.NewReader(in), &lineWriter{sink: &sink}); err != nil {
		t.Fatal(err)
	}
	want := []sunk{{t0, "stdout", "hello", false}, {t0.Add(time.Second), "stdout", "world", false}}
	if fmt.Sprint(sink.lines) != fmt.Sprint(want) {
		t.Errorf("copyRawLines() = %v; want %v", sink.lines, want)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"0001-01-01T00:00:00Z", time.Time{}},
		{"", time.Time{}},
		{"garbage", time.Time{}},
		{"2026-11-27T03:17:57.123456789Z", time.Date(2026, 11, 27, 3, 17, 57, 123456789, time.UTC)},
	}
	for _, tt := range tests {
		if got := parseTime(tt.in); !got.Equal(tt.want) {
			t.Errorf("parseTime(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestIsNetworkError(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{errors.New(`Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host`), true},
		{errors.New(`Get "http://localhost:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused`), true},
		{errors.New(`Get "https://r.example/v2/": net/http: TLS handshake timeout`), true},
		{errors.New(`received unexpected HTTP status: 503 Service Unavailable`), true},
		{errors.New(`pull access denied for nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`), false},
		{errors.New(`manifest for busybox:nope not found: manifest unknown: manifest unknown`), false},
		{errors.New(`Head "https://r.example/v2/x/manifests/1": unauthorized: authentication required`), false},
		{cerrdefs.ErrNotFound.WithMessage("dial tcp: no such host"), false},
		{errors.New(`invalid reference format`), false},
	}
	for _, tt := range tests {
		if got := isNetworkError(tt.err); got != tt.want {
			t.Errorf("isNetworkError(%q) = %v; want %v", tt.err, got, tt.want)
		}
	}
}

func TestRegistryAuth(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cfg := fmt.Sprintf(`{"auths":{"https://index.docker.io/v1/":{"auth":%q},"ghcr.io":{"auth":%q}}}`, enc("hub:pw1"), enc("gh:pw2"))
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		image, user, pass string
	}{
		{"busybox", "hub", "pw1"},
		{"docker.io/library/busybox:1.36", "hub", "pw1"},
		{"ghcr.io/org/app:1", "gh", "pw2"},
		{"quay.io/org/app:1", "", ""},
	}
	for _, tt := range tests {
		got, err := registryAuth(file, tt.image)
		if err != nil {
			t.Fatalf("registryAuth(%s): %v", tt.image, err)
		}
		if tt.user == "" {
			if got != "" {
				t.Errorf("registryAuth(%s) = %q; want none", tt.image, got)
			}
			continue
		}
		ac, err := authconfig.Decode(got)
		if err != nil || ac.Username != tt.user || ac.Password != tt.pass {
			t.Errorf("registryAuth(%s) = %+v, %v; want %s:%s", tt.image, ac, err, tt.user, tt.pass)
		}
	}
	if got, err := registryAuth(filepath.Join(dir, "absent.json"), "busybox"); got != "" || err != nil {
		t.Errorf("registryAuth(no file) = %q, %v; want none", got, err)
	}
}

// fakeImages is a dockerAPI whose image calls are scripted; other methods
// panic (nil embedded interface).
type fakeImages struct {
	dockerAPI
	mu      sync.Mutex
	present map[string]bool
	pulls   atomic.Int32
	release chan struct{} // pulls block until closed
	pullErr error
}

func (f *fakeImages) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.present[ref] {
		return client.ImageInspectResult{}, cerrdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	return client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: "sha256:0123456789abcdef", Size: 42}}, nil
}

func (f *fakeImages) ImagePull(ctx context.Context, ref string, _ client.ImagePullOptions) (client.ImagePullResponse, error) {
	f.pulls.Add(1)
	select {
	case <-f.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.pullErr != nil {
		return nil, f.pullErr
	}
	f.mu.Lock()
	f.present[ref] = true
	f.mu.Unlock()
	return donePull{}, nil
}

type donePull struct{}

func (donePull) Read([]byte) (int, error) { return 0, io.EOF }
func (donePull) Close() error             { return nil }
func (donePull) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] {
	return func(func(jsonstream.Message, error) bool) {}
}
func (donePull) Wait(context.Context) error { return nil }

func TestEnsureImage_SingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeImages{present: map[string]bool{}, release: make(chan struct{})}
		rt := newRuntime(f)
		rt.authFile = filepath.Join(t.TempDir(), "none.json")
		const n = 8
		var wg sync.WaitGroup
		results := make([]runner.ImageResult, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = rt.EnsureImage(context.Background(), "example.com/app:1", PullAlways)
			})
		}
		synctest.Wait() // every caller has joined the one pull
		close(f.release)
		wg.Wait()
		if got := f.pulls.Load(); got != 1 {
			t.Errorf("%d concurrent EnsureImage calls made %d pulls; want 1", n, got)
		}
		for i := range n {
			if errs[i] != nil || !results[i].Pulled || results[i].ImageID == "" {
				t.Errorf("caller %d: %+v, %v", i, results[i], errs[i])
			}
		}
	})
}

func TestEnsureImage_CallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeImages{present: map[string]bool{}, release: make(chan struct{})}
		rt := newRuntime(f)
		rt.authFile = filepath.Join(t.TempDir(), "none.json")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, err := rt.EnsureImage(ctx, "example.com/app:1", PullIfNotPresent)
			done <- err
		}()
		synctest.Wait()
		if got := f.pulls.Load(); got != 1 {
			t.Fatalf("pulls = %d; want 1", got)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("EnsureImage after cancel = %v; want context.Canceled", err)
		}
		synctest.Wait() // the abandoned pull is cancelled and forgotten
		if n := len(rt.pulls); n != 0 {
			t.Errorf("%d pulls still registered after their only caller left", n)
		}
	})
}

// fakeContainers is a dockerAPI that creates containers and serves an
// empty log, counting the inspects; other methods panic.
type fakeContainers struct {
	dockerAPI
	inspects atomic.Int32
}

func (f *fakeContainers) ContainerCreate(_ context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	return client.ContainerCreateResult{ID: "id-" + o.Name}, nil
}

func (f *fakeContainers) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	f.inspects.Add(1)
	var r client.ContainerInspectResult
	r.Container.ID = id
	r.Container.Config = &container.Config{}
	return r, nil
}

func (f *fakeContainers) ContainerLogs(context.Context, string, client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	return io.NopCloser(strings.NewReader("")), nil
}

// TestLogsOfCreatedContainer: the log of a container this runtime created
// is read without asking the engine whether it has a TTY — the create
// said so — while one it did not create is asked about once.
func TestLogsOfCreatedContainer(t *testing.T) {
	f := &fakeContainers{}
	rt := newRuntime(f)
	ctx := context.Background()
	for _, tty := range []bool{false, true} {
		id, err := rt.Create(ctx, runner.ContainerSpec{Name: fmt.Sprintf("c-%v", tty), Image: "busybox", TTY: tty})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Logs(ctx, id, time.Time{}, false, &sliceSink{}); err != nil {
			t.Fatal(err)
		}
		if v, _ := rt.ttys.Load(id); v != tty {
			t.Errorf("created with TTY %v: the runtime holds %v", tty, v)
		}
	}
	if n := f.inspects.Load(); n != 0 {
		t.Errorf("reading the logs of two containers it created, the runtime inspected %d times; want 0", n)
	}
	for range 2 {
		if err := rt.Logs(ctx, "adopted", time.Time{}, false, &sliceSink{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.inspects.Load(); n != 1 {
		t.Errorf("reading the log of a container it did not create twice: %d inspects, want 1", n)
	}
}
