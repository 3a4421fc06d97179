package kubelet_test

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner/kubelet"
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
		{"DockerConfigJSON", secret(kubelet.SecretTypeDockerConfigJSON, ".dockerconfigjson",
			`{"auths":{"registry.example.com:5000":{"auth":"`+b64("alice:s3cret")+`"},"https://index.docker.io/v1/":{"username":"bob","password":"pw"}}}`),
			`[{https://index.docker.io/v1/ bob pw  } {registry.example.com:5000 alice s3cret ` + b64("alice:s3cret") + ` }]`, ""},
		{"AuthWinsOverUsername", secret(kubelet.SecretTypeDockerConfigJSON, ".dockerconfigjson",
			`{"auths":{"r.example":{"username":"x","password":"y","auth":"`+b64("u:p:with:colons")+`"}}}`),
			`[{r.example u p:with:colons ` + b64("u:p:with:colons") + ` }]`, ""},
		{"IdentityToken", secret(kubelet.SecretTypeDockerConfigJSON, ".dockerconfigjson",
			`{"auths":{"r.example":{"identitytoken":"tok"}}}`), `[{r.example    tok}]`, ""},
		{"Dockercfg", secret(kubelet.SecretTypeDockercfg, ".dockercfg",
			`{"r.example":{"auth":"`+b64("u:p")+`","email":"u@example.com"}}`), `[{r.example u p ` + b64("u:p") + ` }]`, ""},
		{"WrongType", secret("Opaque", ".dockerconfigjson", `{"auths":{"r":{"auth":"x"}}}`), `[]`, ""},
		{"WrongKey", secret(kubelet.SecretTypeDockerConfigJSON, ".dockercfg", `{"r":{}}`), `[]`, ""},
		{"Malformed", secret(kubelet.SecretTypeDockerConfigJSON, ".dockerconfigjson", `{"auths":`), "", "secret regcred: .dockerconfigjson: unexpected end of JSON input"},
		{"BadAuth", secret(kubelet.SecretTypeDockerConfigJSON, ".dockerconfigjson", `{"auths":{"r":{"auth":"`+b64("nocolon")+`"}}}`),
			"", "secret regcred: registry r: unable to parse auth field, must be formatted as base64(username:password)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kubelet.PullSecretAuths(tt.secret)
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
