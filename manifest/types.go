// Package manifest holds localjobs' typed view of the Kubernetes objects it
// runs (Pod, batch/v1 Job and CronJob, ConfigMap, Secret), their decoding from
// YAML the way kubectl does it, Kubernetes' defaults, and validation with field
// paths and file:line positions. It does no I/O beyond the bytes it is given.
//
// The structs mirror k8s.io/api field for field (JSON names and shapes), so a
// file accepted here is accepted by a real cluster. Fields localjobs does not
// act on are kept as raw JSON and reported once as warnings (see warn.go).
package manifest

import (
	"encoding/json"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// TypeMeta is apiVersion and kind.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// Time is a timestamp that marshals as RFC 3339 with second precision, like
// metav1.Time; the zero value marshals as null.
type Time struct{ time.Time }

// NewTime returns t truncated to the second, as Kubernetes stores times.
func NewTime(t time.Time) *Time { return &Time{t.Truncate(time.Second)} }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	t.Time = p.Local()
	return nil
}

// MicroTime is a timestamp with microsecond precision (metav1.MicroTime),
// used where ordering within a second matters.
type MicroTime struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t MicroTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *MicroTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = p.Local()
	return nil
}

// OwnerReference names the object that controls this one.
type OwnerReference struct {
	APIVersion         string `json:"apiVersion"`
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	UID                string `json:"uid"`
	Controller         *bool  `json:"controller,omitempty"`
	BlockOwnerDeletion *bool  `json:"blockOwnerDeletion,omitempty"`
}

// ObjectMeta is metav1.ObjectMeta. Server-set fields (uid, resourceVersion,
// creationTimestamp…) are filled by localjobs when the object is stored.
type ObjectMeta struct {
	Name                       string            `json:"name,omitempty"`
	GenerateName               string            `json:"generateName,omitempty"`
	Namespace                  string            `json:"namespace,omitempty"`
	SelfLink                   string            `json:"selfLink,omitempty"`
	UID                        string            `json:"uid,omitempty"`
	ResourceVersion            string            `json:"resourceVersion,omitempty"`
	Generation                 int64             `json:"generation,omitempty"`
	CreationTimestamp          Time              `json:"creationTimestamp,omitempty"`
	DeletionTimestamp          *Time             `json:"deletionTimestamp,omitempty"`
	DeletionGracePeriodSeconds *int64            `json:"deletionGracePeriodSeconds,omitempty"`
	Labels                     map[string]string `json:"labels,omitempty"`
	Annotations                map[string]string `json:"annotations,omitempty"`
	OwnerReferences            []OwnerReference  `json:"ownerReferences,omitempty"`
	Finalizers                 []string          `json:"finalizers,omitempty"`
	ManagedFields              json.RawMessage   `json:"managedFields,omitempty"`
}

// ---- Pod ----

// Pod is a v1 Pod.
type Pod struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       PodSpec   `json:"spec,omitempty"`
	Status     PodStatus `json:"status,omitempty"`
}

// Restart policies of a pod.
const (
	RestartPolicyAlways    = "Always"
	RestartPolicyOnFailure = "OnFailure"
	RestartPolicyNever     = "Never"
)

// Image pull policies.
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// PodSpec is v1.PodSpec. Fields typed as json.RawMessage are accepted and
// warned about (warn.go) but not acted on.
type PodSpec struct {
	Volumes                       []Volume                   `json:"volumes,omitempty"`
	InitContainers                []Container                `json:"initContainers,omitempty"`
	Containers                    []Container                `json:"containers"`
	EphemeralContainers           json.RawMessage            `json:"ephemeralContainers,omitempty"`
	RestartPolicy                 string                     `json:"restartPolicy,omitempty"`
	TerminationGracePeriodSeconds *int64                     `json:"terminationGracePeriodSeconds,omitempty"`
	ActiveDeadlineSeconds         *int64                     `json:"activeDeadlineSeconds,omitempty"`
	DNSPolicy                     string                     `json:"dnsPolicy,omitempty"`
	NodeSelector                  map[string]string          `json:"nodeSelector,omitempty"`
	ServiceAccountName            string                     `json:"serviceAccountName,omitempty"`
	DeprecatedServiceAccount      string                     `json:"serviceAccount,omitempty"`
	AutomountServiceAccountToken  *bool                      `json:"automountServiceAccountToken,omitempty"`
	NodeName                      string                     `json:"nodeName,omitempty"`
	HostNetwork                   bool                       `json:"hostNetwork,omitempty"`
	HostPID                       bool                       `json:"hostPID,omitempty"`
	HostIPC                       bool                       `json:"hostIPC,omitempty"`
	ShareProcessNamespace         *bool                      `json:"shareProcessNamespace,omitempty"`
	SecurityContext               *PodSecurityContext        `json:"securityContext,omitempty"`
	ImagePullSecrets              []LocalObjectRef           `json:"imagePullSecrets,omitempty"`
	Hostname                      string                     `json:"hostname,omitempty"`
	Subdomain                     string                     `json:"subdomain,omitempty"`
	Affinity                      *Affinity                  `json:"affinity,omitempty"`
	SchedulerName                 string                     `json:"schedulerName,omitempty"`
	Tolerations                   []Toleration               `json:"tolerations,omitempty"`
	HostAliases                   []HostAlias                `json:"hostAliases,omitempty"`
	PriorityClassName             string                     `json:"priorityClassName,omitempty"`
	Priority                      *int32                     `json:"priority,omitempty"`
	DNSConfig                     *PodDNSConfig              `json:"dnsConfig,omitempty"`
	ReadinessGates                []PodReadinessGate         `json:"readinessGates,omitempty"`
	RuntimeClassName              *string                    `json:"runtimeClassName,omitempty"`
	EnableServiceLinks            *bool                      `json:"enableServiceLinks,omitempty"`
	PreemptionPolicy              *string                    `json:"preemptionPolicy,omitempty"`
	Overhead                      json.RawMessage            `json:"overhead,omitempty"`
	TopologySpreadConstraints     []TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	SetHostnameAsFQDN             *bool                      `json:"setHostnameAsFQDN,omitempty"`
	OS                            *PodOS                     `json:"os,omitempty"`
	HostUsers                     *bool                      `json:"hostUsers,omitempty"`
	SchedulingGates               []PodSchedulingGate        `json:"schedulingGates,omitempty"`
	ResourceClaims                json.RawMessage            `json:"resourceClaims,omitempty"`
	Resources                     *ResourceRequirements      `json:"resources,omitempty"`
	HostnameOverride              *string                    `json:"hostnameOverride,omitempty"`
	SchedulingGroup               json.RawMessage            `json:"schedulingGroup,omitempty"`
	EvictionResponders            json.RawMessage            `json:"evictionResponders,omitempty"`
}

// PodSecurityContext is v1.PodSecurityContext (only the parts localjobs maps
// are typed).
type PodSecurityContext struct {
	SELinuxOptions           *SELinuxOptions                `json:"seLinuxOptions,omitempty"`
	WindowsOptions           *WindowsSecurityContextOptions `json:"windowsOptions,omitempty"`
	RunAsUser                *int64                         `json:"runAsUser,omitempty"`
	RunAsGroup               *int64                         `json:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool                          `json:"runAsNonRoot,omitempty"`
	SupplementalGroups       []int64                        `json:"supplementalGroups,omitempty"`
	SupplementalGroupsPolicy *string                        `json:"supplementalGroupsPolicy,omitempty"`
	FSGroup                  *int64                         `json:"fsGroup,omitempty"`
	Sysctls                  []Sysctl                       `json:"sysctls,omitempty"`
	FSGroupChangePolicy      *string                        `json:"fsGroupChangePolicy,omitempty"`
	SeccompProfile           *SeccompProfile                `json:"seccompProfile,omitempty"`
	AppArmorProfile          *AppArmorProfile               `json:"appArmorProfile,omitempty"`
	SELinuxChangePolicy      *string                        `json:"seLinuxChangePolicy,omitempty"`
}

// LocalObjectRef is v1.LocalObjectReference.
type LocalObjectRef struct {
	Name string `json:"name,omitempty"`
}

// HostAlias is v1.HostAlias.
type HostAlias struct {
	IP        string   `json:"ip"`
	Hostnames []string `json:"hostnames,omitempty"`
}

// PodDNSConfig is v1.PodDNSConfig.
type PodDNSConfig struct {
	Nameservers []string           `json:"nameservers,omitempty"`
	Searches    []string           `json:"searches,omitempty"`
	Options     []PodDNSConfigOpts `json:"options,omitempty"`
}

// PodDNSConfigOpts is v1.PodDNSConfigOption.
type PodDNSConfigOpts struct {
	Name  string  `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// Container is v1.Container.
type Container struct {
	Name                     string                  `json:"name"`
	Image                    string                  `json:"image,omitempty"`
	Command                  []string                `json:"command,omitempty"`
	Args                     []string                `json:"args,omitempty"`
	WorkingDir               string                  `json:"workingDir,omitempty"`
	Ports                    []ContainerPort         `json:"ports,omitempty"`
	EnvFrom                  []EnvFromSource         `json:"envFrom,omitempty"`
	Env                      []EnvVar                `json:"env,omitempty"`
	Resources                ResourceRequirements    `json:"resources,omitempty"`
	ResizePolicy             []ContainerResizePolicy `json:"resizePolicy,omitempty"`
	RestartPolicy            *string                 `json:"restartPolicy,omitempty"`
	RestartPolicyRules       json.RawMessage         `json:"restartPolicyRules,omitempty"`
	VolumeMounts             []VolumeMount           `json:"volumeMounts,omitempty"`
	VolumeDevices            json.RawMessage         `json:"volumeDevices,omitempty"`
	LivenessProbe            *Probe                  `json:"livenessProbe,omitempty"`
	ReadinessProbe           *Probe                  `json:"readinessProbe,omitempty"`
	StartupProbe             *Probe                  `json:"startupProbe,omitempty"`
	Lifecycle                *Lifecycle              `json:"lifecycle,omitempty"`
	TerminationMessagePath   string                  `json:"terminationMessagePath,omitempty"`
	TerminationMessagePolicy string                  `json:"terminationMessagePolicy,omitempty"`
	ImagePullPolicy          string                  `json:"imagePullPolicy,omitempty"`
	SecurityContext          *SecurityContext        `json:"securityContext,omitempty"`
	Stdin                    bool                    `json:"stdin,omitempty"`
	StdinOnce                bool                    `json:"stdinOnce,omitempty"`
	TTY                      bool                    `json:"tty,omitempty"`
}

// ContainerPort is v1.ContainerPort (accepted; pods use Docker's bridge).
type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	HostPort      int32  `json:"hostPort,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
}

// SecurityContext is v1.SecurityContext.
type SecurityContext struct {
	Capabilities             *Capabilities                  `json:"capabilities,omitempty"`
	Privileged               *bool                          `json:"privileged,omitempty"`
	SELinuxOptions           *SELinuxOptions                `json:"seLinuxOptions,omitempty"`
	WindowsOptions           *WindowsSecurityContextOptions `json:"windowsOptions,omitempty"`
	RunAsUser                *int64                         `json:"runAsUser,omitempty"`
	RunAsGroup               *int64                         `json:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool                          `json:"runAsNonRoot,omitempty"`
	ReadOnlyRootFilesystem   *bool                          `json:"readOnlyRootFilesystem,omitempty"`
	AllowPrivilegeEscalation *bool                          `json:"allowPrivilegeEscalation,omitempty"`
	ProcMount                *string                        `json:"procMount,omitempty"`
	SeccompProfile           *SeccompProfile                `json:"seccompProfile,omitempty"`
	AppArmorProfile          *AppArmorProfile               `json:"appArmorProfile,omitempty"`
}

// Capabilities is v1.Capabilities.
type Capabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// ResourceRequirements is v1.ResourceRequirements.
type ResourceRequirements struct {
	Limits   map[string]resource.Quantity `json:"limits,omitempty"`
	Requests map[string]resource.Quantity `json:"requests,omitempty"`
	Claims   []ResourceClaim              `json:"claims,omitempty"`
}

// EnvVar is v1.EnvVar.
type EnvVar struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// EnvVarSource is v1.EnvVarSource.
type EnvVarSource struct {
	FieldRef         *ObjectFieldSelector   `json:"fieldRef,omitempty"`
	ResourceFieldRef *ResourceFieldSelector `json:"resourceFieldRef,omitempty"`
	ConfigMapKeyRef  *KeySelector           `json:"configMapKeyRef,omitempty"`
	SecretKeyRef     *KeySelector           `json:"secretKeyRef,omitempty"`
	FileKeyRef       json.RawMessage        `json:"fileKeyRef,omitempty"`
}

// ObjectFieldSelector is v1.ObjectFieldSelector.
type ObjectFieldSelector struct {
	APIVersion string `json:"apiVersion,omitempty"`
	FieldPath  string `json:"fieldPath"`
}

// ResourceFieldSelector is v1.ResourceFieldSelector.
type ResourceFieldSelector struct {
	ContainerName string             `json:"containerName,omitempty"`
	Resource      string             `json:"resource"`
	Divisor       *resource.Quantity `json:"divisor,omitempty"`
}

// KeySelector is v1.ConfigMapKeySelector / v1.SecretKeySelector.
type KeySelector struct {
	Name     string `json:"name,omitempty"`
	Key      string `json:"key"`
	Optional *bool  `json:"optional,omitempty"`
}

// EnvFromSource is v1.EnvFromSource.
type EnvFromSource struct {
	Prefix       string        `json:"prefix,omitempty"`
	ConfigMapRef *NameOptional `json:"configMapRef,omitempty"`
	SecretRef    *NameOptional `json:"secretRef,omitempty"`
}

// NameOptional is v1.ConfigMapEnvSource / v1.SecretEnvSource.
type NameOptional struct {
	Name     string `json:"name,omitempty"`
	Optional *bool  `json:"optional,omitempty"`
}

// VolumeMount is v1.VolumeMount.
type VolumeMount struct {
	Name              string   `json:"name"`
	ReadOnly          bool     `json:"readOnly,omitempty"`
	RecursiveReadOnly *string  `json:"recursiveReadOnly,omitempty"`
	MountPath         string   `json:"mountPath"`
	SubPath           string   `json:"subPath,omitempty"`
	MountPropagation  *string  `json:"mountPropagation,omitempty"`
	SubPathExpr       string   `json:"subPathExpr,omitempty"`
	BindMountOptions  []string `json:"bindMountOptions,omitempty"`
}

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

// Pod phases.
const (
	PodPending   = "Pending"
	PodRunning   = "Running"
	PodSucceeded = "Succeeded"
	PodFailed    = "Failed"
	PodUnknown   = "Unknown"
)

// PodStatus is v1.PodStatus.
type PodStatus struct {
	Phase                 string            `json:"phase,omitempty"`
	Conditions            []PodCondition    `json:"conditions,omitempty"`
	Message               string            `json:"message,omitempty"`
	Reason                string            `json:"reason,omitempty"`
	HostIP                string            `json:"hostIP,omitempty"`
	PodIP                 string            `json:"podIP,omitempty"`
	StartTime             *Time             `json:"startTime,omitempty"`
	InitContainerStatuses []ContainerStatus `json:"initContainerStatuses,omitempty"`
	ContainerStatuses     []ContainerStatus `json:"containerStatuses,omitempty"`
	QOSClass              string            `json:"qosClass,omitempty"`
	ObservedGeneration    int64             `json:"observedGeneration,omitempty"`
	NominatedNodeName     string            `json:"nominatedNodeName,omitempty"`
	HostIPs               []PodIP           `json:"hostIPs,omitempty"`
	PodIPs                []PodIP           `json:"podIPs,omitempty"`

	// Kubelet and scheduler details localjobs does not report; kept so a
	// file saved with kubectl get -o yaml still decodes.
	EphemeralContainerStatuses           json.RawMessage `json:"ephemeralContainerStatuses,omitempty"`
	Resize                               json.RawMessage `json:"resize,omitempty"`
	ResourceClaimStatuses                json.RawMessage `json:"resourceClaimStatuses,omitempty"`
	ExtendedResourceClaimStatus          json.RawMessage `json:"extendedResourceClaimStatus,omitempty"`
	NodeAllocatableResourceClaimStatuses json.RawMessage `json:"nodeAllocatableResourceClaimStatuses,omitempty"`
	AllocatedResources                   json.RawMessage `json:"allocatedResources,omitempty"`
	Resources                            json.RawMessage `json:"resources,omitempty"`
	VolumeHealth                         json.RawMessage `json:"volumeHealth,omitempty"`
}

// PodIP is v1.PodIP (and v1.HostIP, which has the same shape).
type PodIP struct {
	IP string `json:"ip"`
}

// PodCondition is v1.PodCondition.
type PodCondition struct {
	Type               string `json:"type"`
	ObservedGeneration int64  `json:"observedGeneration,omitempty"`
	Status             string `json:"status"`
	LastProbeTime      *Time  `json:"lastProbeTime"`
	LastTransitionTime Time   `json:"lastTransitionTime,omitempty"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
}

// ContainerStatus is v1.ContainerStatus.
type ContainerStatus struct {
	Name         string         `json:"name"`
	State        ContainerState `json:"state,omitempty"`
	LastState    ContainerState `json:"lastState,omitempty"`
	Ready        bool           `json:"ready"`
	RestartCount int32          `json:"restartCount"`
	Image        string         `json:"image"`
	ImageID      string         `json:"imageID"`
	ContainerID  string         `json:"containerID,omitempty"`
	Started      *bool          `json:"started,omitempty"`
	StopSignal   *string        `json:"stopSignal,omitempty"`

	AllocatedResources       json.RawMessage `json:"allocatedResources,omitempty"`
	AllocatedResourcesStatus json.RawMessage `json:"allocatedResourcesStatus,omitempty"`
	Resources                json.RawMessage `json:"resources,omitempty"`
	User                     json.RawMessage `json:"user,omitempty"`
	VolumeMounts             json.RawMessage `json:"volumeMounts,omitempty"`
}

// ContainerState is v1.ContainerState: at most one member is set.
type ContainerState struct {
	Waiting    *StateWaiting    `json:"waiting,omitempty"`
	Running    *StateRunning    `json:"running,omitempty"`
	Terminated *StateTerminated `json:"terminated,omitempty"`
}

// StateWaiting is v1.ContainerStateWaiting.
type StateWaiting struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// StateRunning is v1.ContainerStateRunning.
type StateRunning struct {
	StartedAt Time `json:"startedAt,omitempty"`
}

// StateTerminated is v1.ContainerStateTerminated.
type StateTerminated struct {
	ExitCode    int32  `json:"exitCode"`
	Signal      int32  `json:"signal,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Message     string `json:"message,omitempty"`
	StartedAt   Time   `json:"startedAt,omitempty"`
	FinishedAt  Time   `json:"finishedAt,omitempty"`
	ContainerID string `json:"containerID,omitempty"`
}

// ---- Job ----

// Job is a batch/v1 Job.
type Job struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       JobSpec   `json:"spec,omitempty"`
	Status     JobStatus `json:"status,omitempty"`
}

// PodTemplateSpec is v1.PodTemplateSpec.
type PodTemplateSpec struct {
	ObjectMeta `json:"metadata,omitempty"`
	Spec       PodSpec `json:"spec,omitempty"`
}

// LabelSelector is metav1.LabelSelector.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is metav1.LabelSelectorRequirement.
type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// Job completion modes.
const (
	NonIndexedCompletion = "NonIndexed"
	IndexedCompletion    = "Indexed"
)

// JobSpec is batchv1.JobSpec.
type JobSpec struct {
	Parallelism             *int32            `json:"parallelism,omitempty"`
	Completions             *int32            `json:"completions,omitempty"`
	ActiveDeadlineSeconds   *int64            `json:"activeDeadlineSeconds,omitempty"`
	PodFailurePolicy        *PodFailurePolicy `json:"podFailurePolicy,omitempty"`
	SuccessPolicy           *SuccessPolicy    `json:"successPolicy,omitempty"`
	BackoffLimit            *int32            `json:"backoffLimit,omitempty"`
	BackoffLimitPerIndex    *int32            `json:"backoffLimitPerIndex,omitempty"`
	MaxFailedIndexes        *int32            `json:"maxFailedIndexes,omitempty"`
	Selector                *LabelSelector    `json:"selector,omitempty"`
	ManualSelector          *bool             `json:"manualSelector,omitempty"`
	Template                PodTemplateSpec   `json:"template"`
	TTLSecondsAfterFinished *int32            `json:"ttlSecondsAfterFinished,omitempty"`
	CompletionMode          *string           `json:"completionMode,omitempty"`
	Suspend                 *bool             `json:"suspend,omitempty"`
	PodReplacementPolicy    *string           `json:"podReplacementPolicy,omitempty"`
	ManagedBy               *string           `json:"managedBy,omitempty"`
	Scheduling              json.RawMessage   `json:"scheduling,omitempty"`
}

// PodFailurePolicy is batchv1.PodFailurePolicy.
type PodFailurePolicy struct {
	Rules []PodFailurePolicyRule `json:"rules"`
}

// PodFailurePolicyRule is batchv1.PodFailurePolicyRule.
type PodFailurePolicyRule struct {
	Action          string                        `json:"action"`
	OnExitCodes     *PodFailurePolicyOnExitCodes  `json:"onExitCodes,omitempty"`
	OnPodConditions []PodFailurePolicyOnCondition `json:"onPodConditions,omitempty"`
}

// PodFailurePolicyOnExitCodes is batchv1.PodFailurePolicyOnExitCodesRequirement.
type PodFailurePolicyOnExitCodes struct {
	ContainerName *string `json:"containerName,omitempty"`
	Operator      string  `json:"operator"`
	Values        []int32 `json:"values"`
}

// PodFailurePolicyOnCondition is batchv1.PodFailurePolicyOnPodConditionsPattern.
type PodFailurePolicyOnCondition struct {
	Type   string `json:"type"`
	Status string `json:"status,omitempty"`
}

// SuccessPolicy is batchv1.SuccessPolicy.
type SuccessPolicy struct {
	Rules []SuccessPolicyRule `json:"rules"`
}

// SuccessPolicyRule is batchv1.SuccessPolicyRule.
type SuccessPolicyRule struct {
	SucceededIndexes *string `json:"succeededIndexes,omitempty"`
	SucceededCount   *int32  `json:"succeededCount,omitempty"`
}

// Job condition types.
const (
	JobSuspended          = "Suspended"
	JobComplete           = "Complete"
	JobFailed             = "Failed"
	JobFailureTarget      = "FailureTarget"
	JobSuccessCriteriaMet = "SuccessCriteriaMet"
)

// JobStatus is batchv1.JobStatus.
type JobStatus struct {
	Conditions              []JobCondition           `json:"conditions,omitempty"`
	StartTime               *Time                    `json:"startTime,omitempty"`
	CompletionTime          *Time                    `json:"completionTime,omitempty"`
	Active                  int32                    `json:"active,omitempty"`
	Succeeded               int32                    `json:"succeeded,omitempty"`
	Failed                  int32                    `json:"failed,omitempty"`
	Terminating             *int32                   `json:"terminating,omitempty"`
	CompletedIndexes        string                   `json:"completedIndexes,omitempty"`
	FailedIndexes           *string                  `json:"failedIndexes,omitempty"`
	UncountedTerminatedPods *UncountedTerminatedPods `json:"uncountedTerminatedPods,omitempty"`
	Ready                   *int32                   `json:"ready,omitempty"`
}

// UncountedTerminatedPods is batchv1.UncountedTerminatedPods.
type UncountedTerminatedPods struct {
	Succeeded []string `json:"succeeded,omitempty"`
	Failed    []string `json:"failed,omitempty"`
}

// JobCondition is batchv1.JobCondition.
type JobCondition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	LastProbeTime      Time   `json:"lastProbeTime,omitempty"`
	LastTransitionTime Time   `json:"lastTransitionTime,omitempty"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
}

// ---- CronJob ----

// CronJob is a batch/v1 CronJob.
type CronJob struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       CronJobSpec   `json:"spec,omitempty"`
	Status     CronJobStatus `json:"status,omitempty"`
}

// JobTemplateSpec is batchv1.JobTemplateSpec.
type JobTemplateSpec struct {
	ObjectMeta `json:"metadata,omitempty"`
	Spec       JobSpec `json:"spec,omitempty"`
}

// CronJobSpec is batchv1.CronJobSpec.
type CronJobSpec struct {
	Schedule                   string          `json:"schedule"`
	TimeZone                   *string         `json:"timeZone,omitempty"`
	StartingDeadlineSeconds    *int64          `json:"startingDeadlineSeconds,omitempty"`
	ConcurrencyPolicy          string          `json:"concurrencyPolicy,omitempty"`
	Suspend                    *bool           `json:"suspend,omitempty"`
	JobTemplate                JobTemplateSpec `json:"jobTemplate"`
	SuccessfulJobsHistoryLimit *int32          `json:"successfulJobsHistoryLimit,omitempty"`
	FailedJobsHistoryLimit     *int32          `json:"failedJobsHistoryLimit,omitempty"`
}

// ObjectReference is v1.ObjectReference.
type ObjectReference struct {
	Kind            string `json:"kind,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	FieldPath       string `json:"fieldPath,omitempty"`
}

// CronJobStatus is batchv1.CronJobStatus.
type CronJobStatus struct {
	Active             []ObjectReference `json:"active,omitempty"`
	LastScheduleTime   *Time             `json:"lastScheduleTime,omitempty"`
	LastSuccessfulTime *Time             `json:"lastSuccessfulTime,omitempty"`
}

// ---- ConfigMap / Secret ----

// ConfigMap is a v1 ConfigMap.
type ConfigMap struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

// Secret is a v1 Secret. StringData is merged into Data by Default.
type Secret struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
	Data       map[string][]byte `json:"data,omitempty"`
	StringData map[string]string `json:"stringData,omitempty"`
	Type       string            `json:"type,omitempty"`
}

// ---- Events ----

// Event is a core v1 Event as localjobs records it.
type Event struct {
	TypeMeta       `json:",inline"`
	ObjectMeta     `json:"metadata,omitempty"`
	InvolvedObject ObjectReference `json:"involvedObject"`
	Reason         string          `json:"reason,omitempty"`
	Message        string          `json:"message,omitempty"`
	Source         EventSource     `json:"source,omitempty"`
	FirstTimestamp Time            `json:"firstTimestamp,omitempty"`
	LastTimestamp  Time            `json:"lastTimestamp,omitempty"`
	Count          int32           `json:"count,omitempty"`
	Type           string          `json:"type,omitempty"`
	EventTime      MicroTime       `json:"eventTime,omitempty"`
}

// EventSource is v1.EventSource.
type EventSource struct {
	Component string `json:"component,omitempty"`
	Host      string `json:"host,omitempty"`
}
