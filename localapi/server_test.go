package localapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localjobs/localjobs/apply"
	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// fakeBackend answers apply with one result per file, and streams a log:
// "first" at once, "second" once more is closed.
type fakeBackend struct {
	more    chan struct{}
	applied chan ApplyRequest
}

func (b *fakeBackend) Apply(ctx context.Context, req ApplyRequest) (ApplyResponse, error) {
	if b.applied != nil {
		b.applied <- req
	}
	var resp ApplyResponse
	for _, f := range req.Files {
		resp.Results = append(resp.Results, ApplyResult{Kind: "ConfigMap", Name: f.Name, Action: "created"})
	}
	return resp, nil
}
func (b *fakeBackend) DeletePod(context.Context, string, string, *int64) error { return nil }
func (b *fakeBackend) DeleteJob(context.Context, string, string) error         { return nil }
func (b *fakeBackend) DeleteCronJob(context.Context, string, string) error     { return nil }
func (b *fakeBackend) SetSuspend(context.Context, string, string, bool) error  { return nil }
func (b *fakeBackend) SetCronJobSuspend(context.Context, string, string, bool) error {
	return nil
}
func (b *fakeBackend) InstantiateCronJob(context.Context, string, string, string, bool) (*manifest.Job, error) {
	return nil, nil
}
func (b *fakeBackend) CreateJob(_ context.Context, j *manifest.Job) (*manifest.Job, error) {
	return j, nil
}
func (b *fakeBackend) TerminatePod(context.Context, string, string, bool) error { return nil }
func (b *fakeBackend) Subscribe(keep func(*runner.Change) bool) *runner.Subscription {
	return new(runner.Hub).Subscribe(keep)
}

// The Reader side: an empty state but for Logs.
func (b *fakeBackend) Pods(context.Context, string) ([]*runner.PodRecord, error) { return nil, nil }
func (b *fakeBackend) Pod(_ context.Context, ns, name string) (*runner.PodRecord, error) {
	return nil, runner.ErrObjectNotFound
}
func (b *fakeBackend) PodsLabelled(context.Context, string, string, []string) ([]*runner.PodRecord, error) {
	return nil, nil
}
func (b *fakeBackend) PodsOfJob(context.Context, string) ([]*runner.PodRecord, error) {
	return nil, nil
}
func (b *fakeBackend) Jobs(context.Context, string) ([]*manifest.Job, error) { return nil, nil }
func (b *fakeBackend) Job(context.Context, string, string) (*manifest.Job, error) {
	return nil, runner.ErrObjectNotFound
}
func (b *fakeBackend) CronJobs(context.Context, string) ([]*manifest.CronJob, error) { return nil, nil }
func (b *fakeBackend) CronJob(context.Context, string, string) (*manifest.CronJob, error) {
	return nil, runner.ErrObjectNotFound
}
func (b *fakeBackend) Events(context.Context, string, string) ([]*manifest.Event, error) {
	return nil, nil
}
func (b *fakeBackend) AppliedObjects(context.Context) ([]*apply.Record, error)      { return nil, nil }
func (b *fakeBackend) History(context.Context, HistoryQuery) ([]*HistoryRun, error) { return nil, nil }
func (b *fakeBackend) Logs(ctx context.Context, w io.Writer, req LogRequest) error {
	fmt.Fprintln(w, "first")
	select {
	case <-b.more:
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Fprintln(w, "second")
	return nil
}

// Exec streams like Logs: a long response to a request with a body.
func (b *fakeBackend) Exec(ctx context.Context, req ExecRequest, stdout, stderr io.Writer) (int, error) {
	fmt.Fprintln(stdout, "first")
	select {
	case <-b.more:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	fmt.Fprintln(stdout, "second")
	return 0, nil
}

// serve runs a Server on a socket in a short temp dir.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ljapi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, SocketName)
	ln, err := Listen(sock, -1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return sock
}

func unixHTTP(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

// TestApplyBodyTooLarge is issue #8 item 7: a body over the apply limit is
// refused with 413 and a message naming the limit, not cut at 64 MiB into
// "unexpected EOF".
func TestApplyBodyTooLarge(t *testing.T) {
	fb := &fakeBackend{}
	sock := serve(t, &Server{Read: fb, Control: fb, Version: "test"})
	head := `{"files":[{"name":"big.yaml","data":"`
	body := io.MultiReader(strings.NewReader(head), io.LimitReader(repeatReader('A'), maxApplyBody), strings.NewReader(`"}]}`))
	resp, err := unixHTTP(sock).Post("http://localjobs/localjobs/v1/apply", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st Status
	json.NewDecoder(resp.Body).Decode(&st)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d %q, want 413", resp.StatusCode, st.Message)
	}
	if want := fmt.Sprintf("request too large: one apply may carry at most %d MiB", MaxApplyBytes>>20); !strings.Contains(st.Message, want) {
		t.Errorf("message %q, want %q", st.Message, want)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestClientApplyTooLarge: the client refuses before sending, naming the
// file that crosses the limit.
func TestClientApplyTooLarge(t *testing.T) {
	b := &fakeBackend{applied: make(chan ApplyRequest, 1)}
	sock := serve(t, &Server{Read: b, Control: b, Version: "test"})
	c, err := Dial(context.Background(), sock, "test")
	if err != nil {
		t.Fatal(err)
	}
	half := make([]byte, MaxApplyBytes/2+1)
	_, err = c.Apply(context.Background(), ApplyRequest{Files: []File{{Name: "a.yaml", Data: half}, {Name: "b.yaml", Data: half}}})
	var tl *TooLargeError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), "b.yaml") {
		t.Errorf("apply error %v, want a TooLargeError naming b.yaml", err)
	}
	select {
	case <-b.applied:
		t.Errorf("the request reached the daemon")
	default:
	}
}

// TestSlowBodyTimesOut is issue #8 item 7: a client that sends its body
// slowly is cut off after the read timeout instead of held forever.
func TestSlowBodyTimesOut(t *testing.T) {
	fb := &fakeBackend{}
	sock := serve(t, &Server{Read: fb, Control: fb, Version: "test", ReadTimeout: 200 * time.Millisecond})
	if !slowBodyCut(t, sock) {
		t.Fatal("the server still held a slow request after 10 s")
	}
}

// slowBodyCut sends the start of a request body and never the rest; it
// reports whether the server gave up on it within 10 s.
func slowBodyCut(t *testing.T, sock string) bool {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /localjobs/v1/apply HTTP/1.1\r\nHost: localjobs\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"files\":")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestStreamsOutliveReadTimeout: the read timeout is for requests, not for
// the long responses of log follows, watches and exec.
func TestStreamsOutliveReadTimeout(t *testing.T) {
	b := &fakeBackend{more: make(chan struct{})}
	sock := serve(t, &Server{Read: b, Control: b, Version: "test", ReadTimeout: 200 * time.Millisecond})
	c, err := Dial(context.Background(), sock, "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	logs, logw := io.Pipe()
	go func() {
		logw.CloseWithError(c.Logs(ctx, logw, LogRequest{Namespace: "default", Pod: "p", Follow: true, TailLines: -1}))
	}()
	execs, execw := io.Pipe()
	go func() {
		_, err := c.Exec(ctx, ExecRequest{Namespace: "default", Pod: "p", Command: []string{"sh"}}, execw, io.Discard)
		execw.CloseWithError(err)
	}()
	logLines, execLines := bufio.NewScanner(logs), bufio.NewScanner(execs)
	for _, sc := range []*bufio.Scanner{logLines, execLines} {
		if !sc.Scan() || sc.Text() != "first" {
			t.Fatalf("first line %q: %v", sc.Text(), sc.Err())
		}
	}
	// A slow request started now is cut when the timeout has passed for
	// the streams too.
	if !slowBodyCut(t, sock) {
		t.Fatal("slow request not cut")
	}
	close(b.more)
	for name, sc := range map[string]*bufio.Scanner{"log": logLines, "exec": execLines} {
		if !sc.Scan() || sc.Text() != "second" {
			t.Errorf("%s: second line %q: %v (the stream was cut by the read timeout)", name, sc.Text(), sc.Err())
		}
	}
}
