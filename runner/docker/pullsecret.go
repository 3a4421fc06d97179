package docker

import (
	"net"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"

	"github.com/localjobs/localjobs/runner"
)

// dockerHubHosts are the host names that all mean Docker Hub in a
// credentials key.
var dockerHubHosts = []string{"docker.io", "index.docker.io", "registry-1.docker.io"}

// secretRegistryAuth returns the encoded X-Registry-Auth value of the entry
// of auths that matches image, or "" when none does.
func secretRegistryAuth(image string, auths []runner.RegistryAuth) (string, error) {
	a, ok := matchAuth(image, auths)
	if !ok {
		return "", nil
	}
	return authconfig.Encode(registry.AuthConfig{
		ServerAddress: a.Server,
		Username:      a.Username,
		Password:      a.Password,
		IdentityToken: a.IdentityToken,
	})
}

// matchAuth picks the entry of auths for pulling image, as the kubelet's
// keyring does: an entry matches when its host (with `*` globs per
// dot-separated label, as in `*.example.com`) and port equal the image's
// registry and its path, if any, is a prefix of the repository path. A
// leading /v1/ or /v2/ in the key is ignored, so
// https://index.docker.io/v1/ is Docker Hub; docker.io, index.docker.io and
// registry-1.docker.io are the same registry. The most specific (longest)
// matching key wins; among equals, the first.
func matchAuth(image string, auths []runner.RegistryAuth) (runner.RegistryAuth, bool) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return runner.RegistryAuth{}, false
	}
	domain, repo := reference.Domain(named), "/"+reference.Path(named)
	best, bestLen := -1, -1
	for i, a := range auths {
		host, path := splitAuthKey(a.Server)
		if !strings.HasPrefix(repo, path) || !hostMatches(host, domain) {
			continue
		}
		if n := len(host) + len(path); n > bestLen {
			best, bestLen = i, n
		}
	}
	if best < 0 {
		return runner.RegistryAuth{}, false
	}
	return auths[best], true
}

// splitAuthKey splits a credentials key (host, host/path or URL) into its
// host (with port) and path, without scheme, /v1/ or /v2/ prefix, or a
// trailing slash.
func splitAuthKey(key string) (host, path string) {
	if i := strings.Index(key, "://"); i >= 0 {
		key = key[i+3:]
	}
	host, path, _ = strings.Cut(key, "/")
	path = "/" + path
	if strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v2/") {
		path = path[3:]
	}
	return strings.ToLower(host), strings.TrimSuffix(path, "/")
}

// hostMatches reports whether the key host glob (with port) names the
// registry domain.
func hostMatches(glob, domain string) bool {
	if domain == "docker.io" {
		for _, h := range dockerHubHosts {
			if glob == h {
				return true
			}
		}
		return false
	}
	gh, gp := splitHostPort(glob)
	dh, dp := splitHostPort(domain)
	if gp != dp {
		return false
	}
	gl, dl := strings.Split(gh, "."), strings.Split(dh, ".")
	if len(gl) != len(dl) {
		return false
	}
	for i := range gl {
		if ok, err := filepath.Match(gl[i], dl[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitHostPort(hp string) (host, port string) {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, ""
	}
	return host, port
}

var _ runner.AuthPuller = (*Runtime)(nil)
