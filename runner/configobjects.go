package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/localjobs/localjobs/manifest"
)

// ApplyConfigMap stores a ConfigMap for pods to reference (env, envFrom,
// volumes). Apply it before the pods that use it: a pod whose ConfigMap is
// missing waits in CreateContainerConfigError (env) or ContainerCreating
// (volumes) and retries with back-off.
func (c *Controller) ApplyConfigMap(ctx context.Context, cm *manifest.ConfigMap) error {
	var out manifest.ConfigMap
	deepCopy(cm, &out)
	out.APIVersion, out.Kind = "v1", "ConfigMap"
	if out.Namespace == "" {
		out.Namespace = "default"
	}
	if out.UID == "" {
		out.UID = newUID()
	}
	out.CreationTimestamp = manifest.Time{Time: c.now().Truncate(time.Second)}
	if err := c.Store.SaveConfigMap(ctx, &out); err != nil {
		return fmt.Errorf("save configmap: %w", err)
	}
	return nil
}

// ApplySecret stores a Secret (stringData merged into data) for pods to
// reference.
func (c *Controller) ApplySecret(ctx context.Context, s *manifest.Secret) error {
	var out manifest.Secret
	deepCopy(s, &out)
	out.APIVersion, out.Kind = "v1", "Secret"
	if out.Namespace == "" {
		out.Namespace = "default"
	}
	if out.UID == "" {
		out.UID = newUID()
	}
	if out.Type == "" {
		out.Type = "Opaque"
	}
	out.Data = secretData(&out)
	out.StringData = nil
	out.CreationTimestamp = manifest.Time{Time: c.now().Truncate(time.Second)}
	if err := c.Store.SaveSecret(ctx, &out); err != nil {
		return fmt.Errorf("save secret: %w", err)
	}
	return nil
}
