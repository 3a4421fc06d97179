package docker

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/client"

	"github.com/localjobs/localjobs/runner"
)

func TestMatchAuth(t *testing.T) {
	auths := []runner.RegistryAuth{
		{Server: "https://index.docker.io/v1/", Username: "hub"},
		{Server: "registry.example.com", Username: "example"},
		{Server: "registry.example.com/team", Username: "team"},
		{Server: "https://localhost:5000", Username: "local"},
		{Server: "*.corp.example", Username: "corp"},
		{Server: "quay.io/", Username: "quay"},
	}
	tests := []struct{ image, want string }{
		{"busybox", "hub"},
		{"library/busybox:1.36", "hub"},
		{"docker.io/someone/app", "hub"},
		{"index.docker.io/someone/app", "hub"},
		{"registry.example.com/app:1", "example"},
		{"registry.example.com/team/app:1", "team"},        // the longer key
		{"registry.example.com/teamwork/app", "team"},      // a plain prefix, as the kubelet
		{"registry.example.com:443/app", ""},               // the port must match
		{"localhost:5000/app", "local"},                    // scheme ignored
		{"localhost/app", ""},                              // no port
		{"build.corp.example/tools/go:1", "corp"},          // glob label
		{"a.build.corp.example/tools/go:1", ""},            // one label too many
		{"quay.io/org/app@sha256:" + sixtyFourHex, "quay"}, // trailing slash, digest
		{"ghcr.io/org/app", ""},
	}
	for _, tt := range tests {
		a, ok := matchAuth(tt.image, auths)
		if got := a.Username; got != tt.want || ok != (tt.want != "") {
			t.Errorf("matchAuth(%s) = %q, %v; want %q", tt.image, got, ok, tt.want)
		}
	}
	// Docker Hub keys in any of their spellings.
	for _, key := range []string{"docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"} {
		if _, ok := matchAuth("busybox", []runner.RegistryAuth{{Server: key}}); !ok {
			t.Errorf("key %s does not match busybox", key)
		}
		if _, ok := matchAuth("example.com/busybox", []runner.RegistryAuth{{Server: key}}); ok {
			t.Errorf("key %s matches example.com/busybox", key)
		}
	}
}

const sixtyFourHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// authImages records the X-Registry-Auth of every pull.
type authImages struct {
	*fakeImages
	mu    sync.Mutex
	auths []string
}

func (f *authImages) ImagePull(ctx context.Context, ref string, opts client.ImagePullOptions) (client.ImagePullResponse, error) {
	f.mu.Lock()
	f.auths = append(f.auths, opts.RegistryAuth)
	f.mu.Unlock()
	return f.fakeImages.ImagePull(ctx, ref, opts)
}

// TestEnsureImageAuth: a matching pull secret is used in preference to the
// Docker CLI's config file; without a match the config file's credentials
// are used. No registry is contacted (the engine API is faked).
func TestEnsureImageAuth(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte(`{"auths":{"registry.example.com":{"auth":"`+b64("cli:clipw")+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	close(release)
	f := &authImages{fakeImages: &fakeImages{present: map[string]bool{}, release: release}}
	rt := newRuntime(f)
	rt.authFile = cfg
	ctx := context.Background()

	secrets := []runner.RegistryAuth{
		{Server: "other.example", Username: "nobody", Password: "x"},
		{Server: "registry.example.com", Username: "alice", Password: "s3cret"},
	}
	if res, err := rt.EnsureImageAuth(ctx, "registry.example.com/app:1", PullAlways, secrets); err != nil || !res.Pulled {
		t.Fatalf("EnsureImageAuth = %+v, %v", res, err)
	}
	if _, err := rt.EnsureImageAuth(ctx, "registry.example.com/app:2", PullAlways, secrets[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.EnsureImage(ctx, "registry.example.com/app:3", PullAlways); err != nil {
		t.Fatal(err)
	}
	want := []string{"alice:s3cret", "cli:clipw", "cli:clipw"}
	if len(f.auths) != len(want) {
		t.Fatalf("%d pulls; want %d", len(f.auths), len(want))
	}
	for i, enc := range f.auths {
		ac, err := authconfig.Decode(enc)
		if err != nil || ac.Username+":"+ac.Password != want[i] {
			t.Errorf("pull %d auth = %+v, %v; want %s", i, ac, err, want[i])
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
