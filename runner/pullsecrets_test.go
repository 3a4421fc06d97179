package runner_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/runnertest"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestPullSecretAuths(t *testing.T) {
	secret := func(typ, key, data string) *manifest.Secret {
		return &manifest.Secret{ObjectMeta: manifest.ObjectMeta{Name: "regcred"}, Type: typ, Data: map[string][]byte{key: []byte(data)}}
	}
	tests := []struct {
		name    string
		secret  *manifest.Secret
		want    string // fmt of the auths
		wantErr string
	}{
		{"DockerConfigJSON", secret(runner.SecretTypeDockerConfigJSON, ".dockerconfigjson",
			`{"auths":{"registry.example.com:5000":{"auth":"`+b64("alice:s3cret")+`"},"https://index.docker.io/v1/":{"username":"bob","password":"pw"}}}`),
			`[{https://index.docker.io/v1/ bob pw  } {registry.example.com:5000 alice s3cret ` + b64("alice:s3cret") + ` }]`, ""},
		{"AuthWinsOverUsername", secret(runner.SecretTypeDockerConfigJSON, ".dockerconfigjson",
			`{"auths":{"r.example":{"username":"x","password":"y","auth":"`+b64("u:p:with:colons")+`"}}}`),
			`[{r.example u p:with:colons ` + b64("u:p:with:colons") + ` }]`, ""},
		{"IdentityToken", secret(runner.SecretTypeDockerConfigJSON, ".dockerconfigjson",
			`{"auths":{"r.example":{"identitytoken":"tok"}}}`), `[{r.example    tok}]`, ""},
		{"Dockercfg", secret(runner.SecretTypeDockercfg, ".dockercfg",
			`{"r.example":{"auth":"`+b64("u:p")+`","email":"u@example.com"}}`), `[{r.example u p ` + b64("u:p") + ` }]`, ""},
		{"WrongType", secret("Opaque", ".dockerconfigjson", `{"auths":{"r":{"auth":"x"}}}`), `[]`, ""},
		{"WrongKey", secret(runner.SecretTypeDockerConfigJSON, ".dockercfg", `{"r":{}}`), `[]`, ""},
		{"Malformed", secret(runner.SecretTypeDockerConfigJSON, ".dockerconfigjson", `{"auths":`), "", "secret regcred: .dockerconfigjson: unexpected end of JSON input"},
		{"BadAuth", secret(runner.SecretTypeDockerConfigJSON, ".dockerconfigjson", `{"auths":{"r":{"auth":"`+b64("nocolon")+`"}}}`),
			"", "secret regcred: registry r: unable to parse auth field, must be formatted as base64(username:password)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runner.PullSecretAuths(tt.secret)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("PullSecretAuths() error = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprint(got); s != tt.want {
				t.Errorf("PullSecretAuths() = %s; want %s", s, tt.want)
			}
		})
	}
}

// TestPodImagePullSecrets: the credentials of a pod's imagePullSecrets
// reach the runtime; a secret that does not exist is named in a
// FailedToRetrieveImagePullSecret warning and the image is pulled anyway.
func TestPodImagePullSecrets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := runnertest.NewRuntime("registry.example.com/app:1")
		h := newHarness(t, rt)
		ctx := context.Background()
		h.store.SaveSecret(ctx, &manifest.Secret{
			ObjectMeta: manifest.ObjectMeta{Name: "regcred", Namespace: "default"},
			Type:       runner.SecretTypeDockerConfigJSON,
			Data: map[string][]byte{".dockerconfigjson": []byte(
				`{"auths":{"registry.example.com":{"username":"alice","password":"s3cret"}}}`)},
		})
		p := pod("private", "registry.example.com/app:1", "Never")
		p.Spec.ImagePullSecrets = []manifest.LocalObjectRef{{Name: "regcred"}, {Name: "absent"}, {Name: "gone"}}
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
			rt := runnertest.NewRuntime("registry.example.com/app:1")
			h := newHarness(t, rt)
			ctx := context.Background()
			h.store.SaveSecret(ctx, &manifest.Secret{
				ObjectMeta: manifest.ObjectMeta{Name: "regcred", Namespace: "default"},
				Type:       runner.SecretTypeDockerConfigJSON,
				Data:       map[string][]byte{".dockerconfigjson": []byte(`{"auths":`)},
			})
			p := pod("private", "registry.example.com/app:1", "Never")
			p.Spec.ImagePullSecrets = []manifest.LocalObjectRef{{Name: "regcred"}}
			if _, err := h.ctrl.ApplyPod(ctx, p); err != nil {
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
