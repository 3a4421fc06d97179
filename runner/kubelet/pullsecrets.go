package kubelet

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// Secret types and keys that carry registry credentials (v1.Secret).
const (
	SecretTypeDockerConfigJSON = "kubernetes.io/dockerconfigjson"
	SecretTypeDockercfg        = "kubernetes.io/dockercfg"
	DockerConfigJSONKey        = ".dockerconfigjson"
	DockercfgKey               = ".dockercfg"
)

// dockerConfigEntry is one registry's entry in a docker config, as the
// kubelet's credentialprovider.DockerConfigEntry reads it.
type dockerConfigEntry struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
}

// PullSecretAuths returns the registry credentials of an imagePullSecret,
// sorted by server. As in the kubelet, only a kubernetes.io/dockerconfigjson
// secret with a non-empty .dockerconfigjson key or a kubernetes.io/dockercfg
// secret with a non-empty .dockercfg key counts; any other secret gives
// none. An entry's auth, when set, replaces its username and password.
func PullSecretAuths(s *manifest.Secret) ([]runner.RegistryAuth, error) {
	var entries map[string]dockerConfigEntry
	switch b := s.Data[DockerConfigJSONKey]; {
	case s.Type == SecretTypeDockerConfigJSON && len(b) > 0:
		var cfg struct {
			Auths map[string]dockerConfigEntry `json:"auths"`
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return nil, fmt.Errorf("secret %s: %s: %w", s.Name, DockerConfigJSONKey, err)
		}
		entries = cfg.Auths
	case s.Type == SecretTypeDockercfg && len(s.Data[DockercfgKey]) > 0:
		if err := json.Unmarshal(s.Data[DockercfgKey], &entries); err != nil {
			return nil, fmt.Errorf("secret %s: %s: %w", s.Name, DockercfgKey, err)
		}
	default:
		return nil, nil
	}
	auths := make([]runner.RegistryAuth, 0, len(entries))
	for server, e := range entries {
		a := runner.RegistryAuth{Server: server, Username: e.Username, Password: e.Password, Auth: e.Auth, IdentityToken: e.IdentityToken}
		if e.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(e.Auth)
			user, pass, ok := strings.Cut(string(raw), ":")
			if err != nil || !ok {
				return nil, fmt.Errorf("secret %s: registry %s: unable to parse auth field, must be formatted as base64(username:password)", s.Name, server)
			}
			a.Username, a.Password = user, pass
		}
		auths = append(auths, a)
	}
	slices.SortFunc(auths, func(a, b runner.RegistryAuth) int { return strings.Compare(a.Server, b.Server) })
	return auths, nil
}

// ensureImage makes the image of spec available, with the credentials of
// the pod's imagePullSecrets when the runtime can use them. Secrets that
// cannot be read are named in a FailedToRetrieveImagePullSecret warning and
// the pull goes ahead without them, as the kubelet does; a malformed one
// fails the pull.
func (w *Worker) ensureImage(ctx context.Context, spec *manifest.Container) (runner.ImageResult, error) {
	refs := w.rec.Pod.Spec.ImagePullSecrets
	if len(refs) == 0 {
		return w.k.Runtime.EnsureImage(ctx, spec.Image, spec.ImagePullPolicy)
	}
	var auths []runner.RegistryAuth
	var failed []string
	var parseErr error
	for _, ref := range refs {
		if ref.Name == "" {
			continue
		}
		s, err := w.k.Store.Secret(ctx, w.rec.Pod.Namespace, ref.Name)
		if err != nil {
			if ctx.Err() != nil {
				return runner.ImageResult{}, ctx.Err()
			}
			if !errors.Is(err, runner.ErrObjectNotFound) {
				// A secret that could not be read is not a missing one:
				// pulling without it could fail for want of credentials
				// it has. The pull waits for its back-off instead.
				return runner.ImageResult{}, fmt.Errorf("read image pull secret %s: %w", ref.Name, err)
			}
			failed = append(failed, ref.Name)
			continue
		}
		a, err := PullSecretAuths(s)
		if err != nil && parseErr == nil {
			parseErr = err
		}
		auths = append(auths, a...)
	}
	if len(failed) > 0 {
		w.event(nil, "Warning", "FailedToRetrieveImagePullSecret", fmt.Sprintf(
			"Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.", strings.Join(failed, ", ")))
	}
	if parseErr != nil {
		return runner.ImageResult{}, &runner.ImageError{Reason: runner.ReasonErrImagePull, Message: fmt.Sprintf("Failed to pull image %q: %v", spec.Image, parseErr)}
	}
	if ap, ok := w.k.Runtime.(runner.AuthPuller); ok && len(auths) > 0 {
		return ap.EnsureImageAuth(ctx, spec.Image, spec.ImagePullPolicy, auths)
	}
	return w.k.Runtime.EnsureImage(ctx, spec.Image, spec.ImagePullPolicy)
}
