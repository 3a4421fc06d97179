// Package kubectl is what `kubectl get` prints for pods and Jobs, as the
// CLI's tables and the dashboard both show it: a pod's READY, STATUS and
// RESTARTS (kubectl's printPod), a Job's STATUS and COMPLETIONS. It is the
// one copy of that logic: cli and ui import it, and neither may import the
// other. It does no I/O; durations are apimachinery's HumanDuration.
package kubectl
