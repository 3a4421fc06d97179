package controller_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/kubelet"
	"github.com/localjobs/localjobs/runner/runnertest"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// privatePod starts a harness whose runtime has the image
// registry.example.com/app:1 and whose store has the secret regcred of
// type dockerconfigjson with this .dockerconfigjson; it returns a pod of
// that image with these imagePullSecrets.
func privatePod(t *testing.T, dockerconfig string, secrets ...string) (*harness, *manifest.Pod) {
	const image = "registry.example.com/app:1"
	h := newHarness(t, runnertest.NewRuntime(image))
	h.store.SaveSecret(context.Background(), &manifest.Secret{
		ObjectMeta: manifest.ObjectMeta{Name: "regcred", Namespace: "default"},
		Type:       kubelet.SecretTypeDockerConfigJSON,
		Data:       map[string][]byte{".dockerconfigjson": []byte(dockerconfig)},
	})
	p := pod("private", image, "Never")
	for _, name := range secrets {
		p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, manifest.LocalObjectRef{Name: name})
	}
	return h, p
}

// TestPodImagePullSecrets: the credentials of a pod's imagePullSecrets
// reach the runtime; a secret that does not exist is named in a
// FailedToRetrieveImagePullSecret warning and the image is pulled anyway.
func TestPodImagePullSecrets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, p := privatePod(t, `{"auths":{"registry.example.com":{"username":"alice","password":"s3cret"}}}`, "regcred", "absent", "gone")
		rt, ctx := h.rt, context.Background()
		if _, err := h.ctrl.ApplyPod(ctx, p); err != nil {
			t.Fatal(err)
		}
		r := h.waitPod("private", phaseIs(manifest.PodSucceeded))
		got := rt.Auths["registry.example.com/app:1"]
		if len(got) != 1 || got[0].Server != "registry.example.com" || got[0].Username != "alice" || got[0].Password != "s3cret" {
			t.Errorf("runtime got auths %+v; want alice's for registry.example.com", got)
		}
		evs, _ := h.store.Events(ctx, "", r.Pod.UID)
		var warnings []string
		for _, e := range evs {
			if e.Reason == "FailedToRetrieveImagePullSecret" {
				if e.Type != "Warning" || e.InvolvedObject.FieldPath != "" {
					t.Errorf("event %+v; want a Warning on the pod", e)
				}
				warnings = append(warnings, e.Message)
			}
		}
		const want = "Unable to retrieve some image pull secrets (absent, gone); attempting to pull the image may not succeed."
		if len(warnings) != 1 || warnings[0] != want {
			t.Errorf("FailedToRetrieveImagePullSecret events %q; want one %q", warnings, want)
		}
	})

	t.Run("MalformedSecret", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h, p := privatePod(t, `{"auths":`, "regcred")
			if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			r := h.waitPod("private", func(r *runner.PodRecord) bool {
				cs := r.Pod.Status.ContainerStatuses
				return len(cs) > 0 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == runner.ReasonErrImagePull
			})
			if msg := r.Pod.Status.ContainerStatuses[0].State.Waiting.Message; !strings.HasPrefix(msg, `Failed to pull image "registry.example.com/app:1": secret regcred:`) {
				t.Errorf("waiting message %q", msg)
			}
		})
	})
}

// TestPullSecretReadError: an image pull secret the store fails to read
// is not a missing one. The image is not pulled without its credentials;
// the container waits in ErrImagePull and, after the back-off, is pulled
// with them.
func TestPullSecretReadError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, p := privatePod(t, `{"auths":{"registry.example.com":{"username":"alice","password":"s3cret"}}}`, "regcred")
		h.store.Faults.Fail("Secret", 1, nil)
		if _, err := h.ctrl.ApplyPod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		h.waitPod("private", phaseIs(manifest.PodSucceeded))
		if got := h.rt.Pulls["registry.example.com/app:1"]; got != 1 {
			t.Errorf("%d pulls, want 1 (with the credentials)", got)
		}
		if got := h.rt.Auths["registry.example.com/app:1"]; len(got) != 1 || got[0].Username != "alice" {
			t.Errorf("runtime got auths %+v; want alice's", got)
		}
	})
}
