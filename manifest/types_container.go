package manifest

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/resource"
)

// v1.Container and what hangs off it: ports, security context, resources,
// env, mounts; and the container statuses of a pod.

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
