package state

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// SaveConfigMap stores (creates or replaces) a ConfigMap.
func (db *DB) SaveConfigMap(ctx context.Context, cm *manifest.ConfigMap) error {
	if err := checkKey("configmap", cm.Namespace, cm.Name); err != nil {
		return fmt.Errorf("save configmap: %w", err)
	}
	return db.putObject(ctx, bucketConfigMap, "configmap", cm.Namespace, cm.Name, cm)
}

// SaveSecret stores (creates or replaces) a Secret. Secrets are kept in
// the database (mode 0600) as Kubernetes keeps them in etcd: unencrypted.
func (db *DB) SaveSecret(ctx context.Context, s *manifest.Secret) error {
	if err := checkKey("secret", s.Namespace, s.Name); err != nil {
		return fmt.Errorf("save secret: %w", err)
	}
	return db.putObject(ctx, bucketSecrets, "secret", s.Namespace, s.Name, s)
}

// ConfigMap returns the ConfigMap ns/name, or an error wrapping
// runner.ErrObjectNotFound.
func (db *DB) ConfigMap(ctx context.Context, ns, name string) (*manifest.ConfigMap, error) {
	cm := new(manifest.ConfigMap)
	if err := db.getObject(ctx, bucketConfigMap, "configmap", ns, name, cm); err != nil {
		return nil, err
	}
	return cm, nil
}

// Secret returns the Secret ns/name, or an error wrapping
// runner.ErrObjectNotFound.
func (db *DB) Secret(ctx context.Context, ns, name string) (*manifest.Secret, error) {
	s := new(manifest.Secret)
	if err := db.getObject(ctx, bucketSecrets, "secret", ns, name, s); err != nil {
		return nil, err
	}
	return s, nil
}

// PodDir is the host directory of one pod's volumes and termination
// message files: volumes/<ns>_<pod>_<uid> in the state dir.
func (db *DB) PodDir(ns, pod, uid string) string {
	return filepath.Join(db.dir, "volumes", ns+"_"+pod+"_"+uid)
}

func (db *DB) putObject(ctx context.Context, bucket []byte, kind, ns, name string, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save %s %s/%s: %w", kind, ns, name, err)
	}
	err = db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put(objectKey(ns, name), data)
	})
	if err != nil {
		return fmt.Errorf("save %s %s/%s: %w", kind, ns, name, err)
	}
	return nil
}

func (db *DB) getObject(ctx context.Context, bucket []byte, kind, ns, name string, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil { // a database from before the bucket existed, opened read-only
			return runner.ErrObjectNotFound
		}
		data := b.Get(objectKey(ns, name))
		if data == nil {
			return runner.ErrObjectNotFound
		}
		return json.Unmarshal(data, v)
	})
	if err != nil {
		return fmt.Errorf("%s %s/%s: %w", kind, ns, name, err)
	}
	return nil
}
