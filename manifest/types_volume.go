package manifest

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/resource"
)

// The volumes of a pod (v1.Volume) and the sources localjobs provides.

// Volume is v1.Volume. Only the sources localjobs can provide are typed;
// every other source is kept raw and rejected by validation with a clear
// error (a PVC cannot exist on one machine without a cluster).
type Volume struct {
	Name                  string             `json:"name"`
	HostPath              *HostPathVolume    `json:"hostPath,omitempty"`
	EmptyDir              *EmptyDirVolume    `json:"emptyDir,omitempty"`
	Secret                *SecretVolume      `json:"secret,omitempty"`
	ConfigMap             *ConfigMapVolume   `json:"configMap,omitempty"`
	DownwardAPI           *DownwardAPIVolume `json:"downwardAPI,omitempty"`
	Projected             *ProjectedVolume   `json:"projected,omitempty"`
	GCEPersistentDisk     json.RawMessage    `json:"gcePersistentDisk,omitempty"`
	AWSElasticBlockStore  json.RawMessage    `json:"awsElasticBlockStore,omitempty"`
	GitRepo               json.RawMessage    `json:"gitRepo,omitempty"`
	NFS                   json.RawMessage    `json:"nfs,omitempty"`
	ISCSI                 json.RawMessage    `json:"iscsi,omitempty"`
	Glusterfs             json.RawMessage    `json:"glusterfs,omitempty"`
	PersistentVolumeClaim json.RawMessage    `json:"persistentVolumeClaim,omitempty"`
	RBD                   json.RawMessage    `json:"rbd,omitempty"`
	FlexVolume            json.RawMessage    `json:"flexVolume,omitempty"`
	Cinder                json.RawMessage    `json:"cinder,omitempty"`
	CephFS                json.RawMessage    `json:"cephfs,omitempty"`
	Flocker               json.RawMessage    `json:"flocker,omitempty"`
	FC                    json.RawMessage    `json:"fc,omitempty"`
	AzureFile             json.RawMessage    `json:"azureFile,omitempty"`
	VsphereVolume         json.RawMessage    `json:"vsphereVolume,omitempty"`
	Quobyte               json.RawMessage    `json:"quobyte,omitempty"`
	AzureDisk             json.RawMessage    `json:"azureDisk,omitempty"`
	PhotonPersistentDisk  json.RawMessage    `json:"photonPersistentDisk,omitempty"`
	PortworxVolume        json.RawMessage    `json:"portworxVolume,omitempty"`
	ScaleIO               json.RawMessage    `json:"scaleIO,omitempty"`
	StorageOS             json.RawMessage    `json:"storageos,omitempty"`
	CSI                   json.RawMessage    `json:"csi,omitempty"`
	Ephemeral             json.RawMessage    `json:"ephemeral,omitempty"`
	Image                 json.RawMessage    `json:"image,omitempty"`
}

// HostPathVolume is v1.HostPathVolumeSource.
type HostPathVolume struct {
	Path string  `json:"path"`
	Type *string `json:"type,omitempty"`
}

// EmptyDirVolume is v1.EmptyDirVolumeSource.
type EmptyDirVolume struct {
	Medium    string             `json:"medium,omitempty"`
	SizeLimit *resource.Quantity `json:"sizeLimit,omitempty"`
	Mode      *int32             `json:"mode,omitempty"`
}

// KeyToPath is v1.KeyToPath.
type KeyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
	Mode *int32 `json:"mode,omitempty"`
	User *int64 `json:"user,omitempty"`
}

// SecretVolume is v1.SecretVolumeSource.
type SecretVolume struct {
	SecretName  string      `json:"secretName,omitempty"`
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty"`
	DefaultUser *int64      `json:"defaultUser,omitempty"`
}

// ConfigMapVolume is v1.ConfigMapVolumeSource.
type ConfigMapVolume struct {
	Name        string      `json:"name,omitempty"`
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty"`
	DefaultUser *int64      `json:"defaultUser,omitempty"`
}

// DownwardAPIVolumeFile is v1.DownwardAPIVolumeFile.
type DownwardAPIVolumeFile struct {
	Path             string                 `json:"path"`
	FieldRef         *ObjectFieldSelector   `json:"fieldRef,omitempty"`
	ResourceFieldRef *ResourceFieldSelector `json:"resourceFieldRef,omitempty"`
	Mode             *int32                 `json:"mode,omitempty"`
	User             *int64                 `json:"user,omitempty"`
}

// DownwardAPIVolume is v1.DownwardAPIVolumeSource.
type DownwardAPIVolume struct {
	Items       []DownwardAPIVolumeFile `json:"items,omitempty"`
	DefaultMode *int32                  `json:"defaultMode,omitempty"`
	DefaultUser *int64                  `json:"defaultUser,omitempty"`
}

// DownwardAPIProjection is v1.DownwardAPIProjection: a downwardAPI source
// of a projected volume (no defaultMode of its own).
type DownwardAPIProjection struct {
	Items []DownwardAPIVolumeFile `json:"items,omitempty"`
}

// VolumeProjection is v1.VolumeProjection.
type VolumeProjection struct {
	Secret              *SecretProjection      `json:"secret,omitempty"`
	DownwardAPI         *DownwardAPIProjection `json:"downwardAPI,omitempty"`
	ConfigMap           *ConfigMapProjection   `json:"configMap,omitempty"`
	ServiceAccountToken json.RawMessage        `json:"serviceAccountToken,omitempty"`
	ClusterTrustBundle  json.RawMessage        `json:"clusterTrustBundle,omitempty"`
	PodCertificate      json.RawMessage        `json:"podCertificate,omitempty"`
}

// SecretProjection is v1.SecretProjection.
type SecretProjection struct {
	Name     string      `json:"name,omitempty"`
	Items    []KeyToPath `json:"items,omitempty"`
	Optional *bool       `json:"optional,omitempty"`
}

// ConfigMapProjection is v1.ConfigMapProjection.
type ConfigMapProjection struct {
	Name     string      `json:"name,omitempty"`
	Items    []KeyToPath `json:"items,omitempty"`
	Optional *bool       `json:"optional,omitempty"`
}

// ProjectedVolume is v1.ProjectedVolumeSource.
type ProjectedVolume struct {
	Sources     []VolumeProjection `json:"sources"`
	DefaultMode *int32             `json:"defaultMode,omitempty"`
	DefaultUser *int64             `json:"defaultUser,omitempty"`
}
