package runner

// Labels localjobs puts on every container it creates (DESIGN §3).
const (
	LabelInstance  = "io.localjobs.instance"
	LabelNamespace = "io.localjobs.namespace"
	LabelPod       = "io.localjobs.pod"
	LabelPodUID    = "io.localjobs.pod-uid"
	LabelContainer = "io.localjobs.container"
	LabelRestart   = "io.localjobs.restart"
	LabelJob       = "io.localjobs.job"
	LabelCronJob   = "io.localjobs.cronjob"

	// LabelSandbox marks a pod's pause (sandbox) container.
	LabelSandbox = "io.localjobs.sandbox"

	// LabelStagedMounts marks a container whose bind sources were staged:
	// the staged entries exist only until it has started, so a restarted
	// daemon recreates such a container rather than start it.
	LabelStagedMounts = "io.localjobs.staged-mounts"

	// AnnotationNetwork attaches a pod to an existing engine network.
	AnnotationNetwork = "localjobs.io/network"
)
