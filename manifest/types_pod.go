package manifest

import "encoding/json"

// The v1 Pod: its spec (containers in types_container.go, volumes in
// types_volume.go) and status.

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
