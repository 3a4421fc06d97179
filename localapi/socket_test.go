package localapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// otherUID plays another local user (the tests chown to it as root; when
// not root, what "they" create is 0777 and owned by us, also refused).
const otherUID = 65534

func asOther(t *testing.T, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o777); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		if err := os.Lchown(path, otherUID, otherUID); err != nil {
			t.Fatal(err)
		}
	}
}

func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ljsock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// TestPrepareSocketDir is issue #8 item 5 on the daemon's side: the
// fallback folder is created, never adopted from someone else.
func TestPrepareSocketDir(t *testing.T) {
	base := shortDir(t)
	t.Run("Creates", func(t *testing.T) {
		dir := filepath.Join(base, "new")
		if err := PrepareSocketDir(dir, -1, true); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(dir); err != nil || fi.Mode() != os.ModeDir|0o700 {
			t.Errorf("mode %v (%v), want drwx------", fi.Mode(), err)
		}
		if err := PrepareSocketDir(dir, -1, true); err != nil {
			t.Errorf("our own 0700 folder: %v", err)
		}
	})
	t.Run("OtherOwner", func(t *testing.T) {
		dir := filepath.Join(base, "planted")
		os.Mkdir(dir, 0o700)
		asOther(t, dir)
		err := PrepareSocketDir(dir, -1, true)
		want := "mode 0777"
		if os.Getuid() == 0 {
			want = fmt.Sprintf("owned by uid %d", otherUID)
		}
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one naming %s and %q", err, dir, want)
		}
	})
	t.Run("Symlink", func(t *testing.T) {
		target := filepath.Join(base, "target")
		os.Mkdir(target, 0o700)
		link := filepath.Join(base, "link")
		os.Symlink(target, link)
		if err := PrepareSocketDir(link, -1, true); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("error %v, want a refusal of the link", err)
		}
	})
	t.Run("LooseMode", func(t *testing.T) {
		dir := filepath.Join(base, "loose")
		os.Mkdir(dir, 0o700)
		os.Chmod(dir, 0o755)
		if err := PrepareSocketDir(dir, -1, true); err == nil || !strings.Contains(err.Error(), "0755") {
			t.Errorf("error %v, want a refusal of mode 0755", err)
		}
	})
}

// TestDialRefusesUntrustedSocket is issue #8 item 5 on the client's side:
// nothing is sent to a socket another user owns or could have replaced.
func TestDialRefusesUntrustedSocket(t *testing.T) {
	listen := func(t *testing.T, sock string) *atomic.Int32 {
		var n atomic.Int32
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			fmt.Fprint(w, `{"version":"test"}`)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return &n
	}
	t.Run("PlantedDir", func(t *testing.T) {
		dir := filepath.Join(shortDir(t), "localjobs-0")
		os.Mkdir(dir, 0o700)
		sock := filepath.Join(dir, "s.sock")
		reqs := listen(t, sock)
		asOther(t, dir)
		_, err := Dial(context.Background(), sock, "test")
		if err == nil || !strings.Contains(err.Error(), "refusing") || !strings.Contains(err.Error(), dir) {
			t.Errorf("dial error %v, want a refusal naming %s", err, dir)
		}
		if reqs.Load() != 0 {
			t.Errorf("%d requests reached the socket", reqs.Load())
		}
	})
	t.Run("OtherOwnersSocket", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skip("needs root to chown")
		}
		dir := shortDir(t)
		sock := filepath.Join(dir, "s.sock")
		reqs := listen(t, sock)
		os.Lchown(sock, otherUID, otherUID)
		_, err := Dial(context.Background(), sock, "test")
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("owned by uid %d", otherUID)) {
			t.Errorf("dial error %v, want a refusal of the socket's owner", err)
		}
		if reqs.Load() != 0 {
			t.Errorf("%d requests reached the socket", reqs.Load())
		}
	})
	t.Run("Trusted", func(t *testing.T) {
		sock := filepath.Join(shortDir(t), "s.sock")
		reqs := listen(t, sock)
		if _, err := Dial(context.Background(), sock, "test"); err != nil {
			t.Fatal(err)
		}
		if reqs.Load() != 1 {
			t.Errorf("%d requests, want 1", reqs.Load())
		}
	})
	t.Run("Missing", func(t *testing.T) {
		if _, err := Dial(context.Background(), filepath.Join(shortDir(t), "none.sock"), "test"); err != ErrNoDaemon {
			t.Errorf("dial error %v, want ErrNoDaemon", err)
		}
	})
}
