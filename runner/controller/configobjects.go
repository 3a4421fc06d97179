package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/runner/kubelet"
)

// ApplyConfigMap stores a ConfigMap for pods to reference (env, envFrom,
// volumes). Apply it before the pods that use it: a pod whose ConfigMap is
// missing waits in CreateContainerConfigError (env) or ContainerCreating
// (volumes) and retries with back-off.
func (c *Controller) ApplyConfigMap(ctx context.Context, cm *manifest.ConfigMap) error {
	out := runner.Clone(cm)
	c.stamp(&out.TypeMeta, &out.ObjectMeta, "ConfigMap")
	if err := c.Store.SaveConfigMap(ctx, out); err != nil {
		return fmt.Errorf("save configmap: %w", err)
	}
	return nil
}

// ApplySecret stores a Secret (stringData merged into data) for pods to
// reference.
func (c *Controller) ApplySecret(ctx context.Context, s *manifest.Secret) error {
	out := runner.Clone(s)
	c.stamp(&out.TypeMeta, &out.ObjectMeta, "Secret")
	if out.Type == "" {
		out.Type = "Opaque"
	}
	out.Data = kubelet.SecretData(out)
	out.StringData = nil
	if err := c.Store.SaveSecret(ctx, out); err != nil {
		return fmt.Errorf("save secret: %w", err)
	}
	return nil
}

// stamp gives a v1 object being stored what the apiserver gives it: its
// kind, the default namespace, a UID if it has none, and its creation time.
func (c *Controller) stamp(tm *manifest.TypeMeta, m *manifest.ObjectMeta, kind string) {
	tm.APIVersion, tm.Kind = "v1", kind
	if m.Namespace == "" {
		m.Namespace = "default"
	}
	if m.UID == "" {
		m.UID = newUID()
	}
	m.CreationTimestamp = manifest.Time{Time: c.now().Truncate(time.Second)}
}
