package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"

	"github.com/localjobs/localjobs/runner"
)

// Image pull policies, as in a Kubernetes container spec.
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// pull is one image pull shared by every caller that asks for the same
// reference while it runs.
type pull struct {
	done    chan struct{} // closed when err is set
	err     error
	waiters int                // callers still waiting; guarded by Runtime.mu
	cancel  context.CancelFunc // stops the pull once no caller waits
}

// EnsureImage makes image available according to policy (Always,
// IfNotPresent or Never; empty means IfNotPresent). Pulls are single-flight
// per image: concurrent callers share one pull.
//
// When an Always pull fails with a network error and the image is present
// locally, the local image is used and ImageResult.Warning says so (the
// offline rule, DESIGN §3). Other failures are *runner.ImageError values.
func (r *Runtime) EnsureImage(ctx context.Context, image, policy string) (runner.ImageResult, error) {
	return r.EnsureImageAuth(ctx, image, policy, nil)
}

// EnsureImageAuth implements runner.AuthPuller: it is EnsureImage, pulling
// with the entry of auths that matches the image's registry (see
// matchAuth) when there is one, else with the Docker CLI's credentials.
func (r *Runtime) EnsureImageAuth(ctx context.Context, image, policy string, auths []runner.RegistryAuth) (runner.ImageResult, error) {
	if _, err := reference.ParseNormalizedNamed(image); err != nil {
		return runner.ImageResult{}, &runner.ImageError{
			Reason:  runner.ReasonInvalidImageName,
			Message: fmt.Sprintf("Failed to apply default image tag %q: couldn't parse image reference %q: %v", image, image, err),
		}
	}
	switch policy {
	case PullAlways, PullIfNotPresent, PullNever, "":
	default:
		return runner.ImageResult{}, fmt.Errorf("image %s: unknown pull policy %q", image, policy)
	}

	if policy != PullAlways {
		res, present, err := r.localImage(ctx, image)
		if err != nil || present {
			return res, err
		}
		if policy == PullNever {
			return runner.ImageResult{}, &runner.ImageError{
				Reason:  runner.ReasonErrImageNeverPull,
				Message: fmt.Sprintf("Container image %q is not present with pull policy of Never", image),
			}
		}
	}

	start := time.Now()
	secretAuth, pullErr := secretRegistryAuth(image, auths)
	if pullErr == nil {
		pullErr = r.sharedPull(ctx, image, secretAuth)
	}
	if pullErr != nil && ctx.Err() != nil {
		return runner.ImageResult{}, ctx.Err()
	}
	res, present, err := r.localImage(ctx, image)
	if err != nil {
		return runner.ImageResult{}, err
	}
	if pullErr == nil {
		if !present {
			return runner.ImageResult{}, &runner.ImageError{
				Reason:  runner.ReasonErrImagePull,
				Message: fmt.Sprintf("Failed to pull image %q: image not present after pull", image),
			}
		}
		res.Pulled = true
		res.PullTime = time.Since(start)
		return res, nil
	}
	msg := daemonMessage(pullErr)
	if present && isNetworkError(pullErr) {
		res.Warning = fmt.Sprintf("Failed to pull image %q: %s; running the local image %s instead (offline)", image, msg, shortID(res.ImageID))
		return res, nil
	}
	return runner.ImageResult{}, &runner.ImageError{
		Reason:  runner.ReasonErrImagePull,
		Message: fmt.Sprintf("Failed to pull image %q: %s", image, msg),
	}
}

// localImage inspects image on the engine; present is false if it is absent.
func (r *Runtime) localImage(ctx context.Context, image string) (res runner.ImageResult, present bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ins, err := r.api.ImageInspect(cctx, image)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return runner.ImageResult{}, false, nil
		}
		return runner.ImageResult{}, false, fmt.Errorf("inspect image %s: %w", image, err)
	}
	return runner.ImageResult{ImageID: ins.ID, Size: ins.Size}, true, nil
}

// sharedPull pulls image, joining a pull of the same image with the same
// credentials already under way. auth is the encoded X-Registry-Auth of a
// pull secret, or "" for the Docker CLI's credentials. The pull stops when
// every caller waiting for it has gone.
func (r *Runtime) sharedPull(ctx context.Context, image, auth string) error {
	key := image + "\x00" + auth
	r.mu.Lock()
	p := r.pulls[key]
	if p == nil {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		p = &pull{done: make(chan struct{}), cancel: cancel}
		r.pulls[key] = p
		go func() {
			err := r.pullImage(pctx, image, auth)
			cancel()
			r.mu.Lock()
			delete(r.pulls, key)
			r.mu.Unlock()
			p.err = err
			close(p.done)
		}()
	}
	p.waiters++
	r.mu.Unlock()

	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		r.mu.Lock()
		p.waiters--
		if p.waiters == 0 {
			p.cancel()
		}
		r.mu.Unlock()
		return ctx.Err()
	}
}

// pullImage pulls image with auth, the encoded credentials of a pull
// secret, or when that is "" with those the Docker CLI would use.
func (r *Runtime) pullImage(ctx context.Context, image, auth string) error {
	if auth == "" {
		var err error
		if auth, err = registryAuth(r.authFile, image); err != nil {
			return err
		}
	}
	resp, err := r.api.ImagePull(ctx, image, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return err
	}
	defer closeQuietly(resp)
	return resp.Wait(ctx)
}

// networkHints are fragments of errors that mean the registry could not be
// reached at all, as opposed to an answer that the image is not there or
// not ours to pull.
var networkHints = []string{
	"dial tcp", "dial udp", "no such host", "connection refused", "connection reset",
	"i/o timeout", "network is unreachable", "no route to host", "tls handshake timeout",
	"client.timeout exceeded", "server misbehaving", "temporary failure in name resolution",
	"timeout awaiting response headers", "unexpected eof",
	"502 bad gateway", "503 service unavailable", "504 gateway timeout",
}

// refusalHints mark answers from a reachable registry: unauthorized,
// forbidden, unknown repository or manifest.
var refusalHints = []string{
	"unauthorized", "denied", "forbidden", "authentication required", "no basic auth credentials",
	"manifest unknown", "not found", "does not exist", "toomanyrequests",
}

// isNetworkError reports whether a pull failed because the registry could
// not be reached (DNS, connection, timeout), which allows the offline rule.
func isNetworkError(err error) bool {
	if err == nil || cerrdefs.IsUnauthorized(err) || cerrdefs.IsPermissionDenied(err) || cerrdefs.IsNotFound(err) {
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, h := range refusalHints {
		if strings.Contains(msg, h) {
			return false
		}
	}
	for _, h := range networkHints {
		if strings.Contains(msg, h) {
			return true
		}
	}
	return errors.Is(err, context.DeadlineExceeded) || cerrdefs.IsUnavailable(err)
}

// shortID shortens an image ID such as sha256:0123… to 12 hex digits.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}
