package docker

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
)

// dockerHubAuthKey is the key under which the Docker CLI stores Docker Hub
// credentials.
const dockerHubAuthKey = "https://index.docker.io/v1/"

// cliConfig is the part of the Docker CLI's config.json that holds registry
// credentials.
type cliConfig struct {
	Auths map[string]struct {
		Auth          string `json:"auth"`
		IdentityToken string `json:"identitytoken"`
	} `json:"auths"`
	CredsStore  string            `json:"credsStore"`
	CredHelpers map[string]string `json:"credHelpers"`
}

// defaultConfigFile is where the Docker CLI keeps its configuration.
func defaultConfigFile() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker", "config.json")
}

// registryAuth returns the encoded X-Registry-Auth value for pulling image,
// from the Docker CLI's config file (file, or the default when empty): a
// credential helper for the registry, else the credential store, else the
// inline auths entry. No credentials give "".
func registryAuth(file, image string) (string, error) {
	if file == "" {
		file = defaultConfigFile()
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read registry credentials: %w", err)
	}
	var cfg cliConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", fmt.Errorf("read registry credentials from %s: %w", file, err)
	}
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", err
	}
	domain := reference.Domain(named)
	key := domain
	if domain == "docker.io" {
		key = dockerHubAuthKey
	}

	helper := cfg.CredHelpers[domain]
	if helper == "" {
		helper = cfg.CredHelpers[key]
	}
	if helper == "" {
		helper = cfg.CredsStore
	}
	if helper != "" {
		ac, err := helperCredentials(helper, key)
		if err != nil {
			return "", err
		}
		if ac != nil {
			return authconfig.Encode(*ac)
		}
	}

	for k, a := range cfg.Auths {
		if !sameRegistry(k, domain) {
			continue
		}
		ac := registry.AuthConfig{ServerAddress: k, IdentityToken: a.IdentityToken}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return "", fmt.Errorf("registry credentials for %s in %s: %w", k, file, err)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return "", fmt.Errorf("registry credentials for %s in %s: auth is not user:password", k, file)
			}
			ac.Username, ac.Password = user, pass
		}
		return authconfig.Encode(ac)
	}
	return "", nil
}

// sameRegistry reports whether the config key k (a host, or a URL such as
// https://index.docker.io/v1/) names the registry at domain.
func sameRegistry(k, domain string) bool {
	host := k
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	if domain == "docker.io" {
		return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io"
	}
	return host == domain
}

// helperCredentials asks docker-credential-<helper> for the credentials of
// serverURL; it returns nil when the helper has none.
func helperCredentials(helper, serverURL string) (*registry.AuthConfig, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker-credential-"+helper, "get")
	cmd.Stdin = strings.NewReader(serverURL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		out := strings.TrimSpace(stdout.String() + stderr.String())
		if strings.Contains(out, "credentials not found") {
			return nil, nil
		}
		return nil, fmt.Errorf("credential helper docker-credential-%s: %v: %s", helper, err, out)
	}
	var c struct{ Username, Secret string }
	if err := json.Unmarshal(stdout.Bytes(), &c); err != nil {
		return nil, fmt.Errorf("credential helper docker-credential-%s: %w", helper, err)
	}
	ac := &registry.AuthConfig{ServerAddress: serverURL}
	if c.Username == "<token>" {
		ac.IdentityToken = c.Secret
	} else {
		ac.Username, ac.Password = c.Username, c.Secret
	}
	return ac, nil
}
