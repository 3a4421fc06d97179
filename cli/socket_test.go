package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/localjobs/localjobs/daemon"
	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/runner/runnertest"
)

// otherUID is the uid that plays another local user; tests chown to it
// when they run as root, and otherwise leave what they create 0777.
const otherUID = 65534

// longStateDir returns a state dir whose socket path is too long for a unix
// socket, so the socket falls back to $TMPDIR/localjobs-<uid>/ (with
// TMPDIR a fresh folder and no XDG_RUNTIME_DIR).
func longStateDir(t *testing.T) (stateDir, fallbackDir string) {
	t.Helper()
	tmp := shortTempDir(t)
	if err := os.Chmod(tmp, 0o1777); err != nil { // a shared /tmp
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_RUNTIME_DIR", "")
	stateDir = filepath.Join(t.TempDir(), strings.Repeat("s", 100))
	sock := localapi.SocketPath(stateDir)
	if !strings.HasPrefix(sock, tmp) {
		t.Fatalf("socket path %s is not under TMPDIR %s", sock, tmp)
	}
	return stateDir, filepath.Dir(sock)
}

// plantDir creates dir as another user would: 0777 and, when the test runs
// as root, owned by otherUID.
func plantDir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		if err := os.Chown(dir, otherUID, otherUID); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeDaemon is another user's listener on the socket path: it answers
// like a daemon and records what it was sent.
type fakeDaemon struct {
	mu   sync.Mutex
	reqs []string
	srv  *http.Server
}

func (f *fakeDaemon) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

func listenAsOther(t *testing.T, sock string) *fakeDaemon {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o777)
	if os.Getuid() == 0 {
		os.Chown(sock, otherUID, otherUID)
	}
	f := &fakeDaemon{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var body strings.Builder
		if r.Body != nil {
			b := make([]byte, 1<<16)
			n, _ := r.Body.Read(b)
			body.Write(b[:n])
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Method+" "+r.URL.Path+" "+body.String())
		f.mu.Unlock()
		switch r.URL.Path {
		case "/version":
			json.NewEncoder(w).Encode(map[string]string{"version": Version})
		case "/localjobs/v1/apply":
			json.NewEncoder(w).Encode(localapi.ApplyResponse{Results: []localapi.ApplyResult{{Kind: "Secret", Name: "db", Action: "created"}}})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	f.srv = &http.Server{Handler: mux}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// TestSocketFallbackDirHijack is issue #8 item 5: another user creates the
// fallback socket folder first and listens there. The CLI must not send
// anything to that socket, and `up` must refuse the folder.
func TestSocketFallbackDirHijack(t *testing.T) {
	stateDir, fallback := longStateDir(t)
	plantDir(t, fallback)
	sock := localapi.SocketPath(stateDir)

	t.Run("ClientRefuses", func(t *testing.T) {
		fake := listenAsOther(t, sock)
		specs := t.TempDir()
		f := writeFile(t, specs, "secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: hunter2}\n")
		r := runCLI(t, stateDir, "apply", "-f", f)
		if got := fake.requests(); len(got) > 0 {
			t.Errorf("the CLI talked to another user's socket: %q", got)
		}
		if r.code == 0 || strings.Contains(r.stdout, "created") {
			t.Errorf("apply exit %d, stdout %q: want a refusal", r.code, r.stdout)
		}
		for _, want := range []string{fallback, "refusing"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		fake.srv.Close()
		os.Remove(sock)
	})

	t.Run("UpRefuses", func(t *testing.T) {
		out := newLockedBuffer()
		e := &env{stdout: out, stderr: out, stateDir: stateDir, starter: daemon.Starter{Version: Version, Runtime: runnertest.NewRuntime("busybox")}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := e.up(ctx, []string{t.TempDir()})
		t.Logf("up: %v\n%s", err, out.String())
		if err == nil {
			t.Fatalf("up ran with its socket in a folder another user controls")
		}
		owner := "mode 0777"
		if os.Getuid() == 0 {
			owner = fmt.Sprintf("owned by uid %d", otherUID)
		}
		for _, want := range []string{fallback, owner} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})
}

// TestSocketGroup is issue #8 item 6: with --socket-group the group must be
// able to reach the socket, or up must say why it cannot.
func TestSocketGroup(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to connect as another user")
	}
	g, err := user.LookupGroupId(strconv.Itoa(otherUID))
	if err != nil {
		t.Skipf("no group %d: %v", otherUID, err)
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("needs curl to connect as another user")
	}
	// asGroupMember asks the socket for /version as uid/gid 65534.
	asGroupMember := func(sock string) (string, error) {
		cmd := exec.Command(curl, "-sS", "--max-time", "5", "--unix-socket", sock, "http://localjobs/version")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: otherUID, Gid: otherUID}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// runUp starts up with --socket-group and waits until it printed its
	// banner (started) or returned.
	runUp := func(t *testing.T, stateDir string) (out *lockedBuffer, started bool, stop func() error) {
		out = newLockedBuffer()
		e := &env{stdout: out, stderr: out, stateDir: stateDir, starter: daemon.Starter{Version: Version, Runtime: runnertest.NewRuntime("busybox")}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.up(ctx, []string{"--socket-group", g.Name, t.TempDir()}) }()
		var upErr error
		finished := false
		stop = func() error {
			cancel()
			if !finished {
				upErr, finished = <-done, true
			}
			return upErr
		}
		deadline := time.After(10 * time.Second)
		for {
			select {
			case upErr = <-done:
				finished = true
				return out, false, stop
			case <-deadline:
				t.Fatalf("up neither started nor failed:\n%s", out.String())
			case <-time.After(10 * time.Millisecond): // bounded polling of up's output
			}
			if strings.Contains(out.String(), "socket ") {
				return out, true, stop
			}
		}
	}

	t.Run("Reachable", func(t *testing.T) {
		base := shortTempDir(t)
		os.Chmod(base, 0o755)
		stateDir := filepath.Join(base, "state")
		out, started, stop := runUp(t, stateDir)
		if !started {
			t.Fatalf("up: %v\n%s", stop(), out.String())
		}
		sock := localapi.SocketPath(stateDir)
		got, err := asGroupMember(sock)
		if err != nil || !strings.Contains(got, `"version"`) {
			t.Errorf("group member asking %s: %v %s", sock, err, got)
		}
		if err := stop(); err != nil {
			t.Errorf("up: %v", err)
		}
		t.Logf("up output:\n%s", out.String())
		if !strings.Contains(out.String(), "group "+g.Name) {
			t.Errorf("banner does not say which group reaches the socket")
		}
	})

	t.Run("Unreachable", func(t *testing.T) {
		base := shortTempDir(t) // 0700: the group cannot traverse it
		stateDir := filepath.Join(base, "state")
		out, started, stop := runUp(t, stateDir)
		if started {
			got, cerr := asGroupMember(localapi.SocketPath(stateDir))
			stop()
			t.Logf("up output:\n%s", out.String())
			t.Fatalf("up started although group %s cannot traverse %s (a group member asking: %v %s)", g.Name, base, cerr, got)
		}
		err := stop()
		t.Logf("up: %v\n%s", err, out.String())
		for _, want := range []string{base, g.Name} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v lacks %q", err, want)
			}
		}
	})
}
