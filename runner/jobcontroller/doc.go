// Package jobcontroller is the Job controller (batch/v1 Job, reference
// §2): it decides which pods a Job needs and what its status is, the way
// Kubernetes' job controller does, and asks the controller that runs it
// (Host) to create and stop the pods.
//
// What belongs here, by file:
//   - reconcile.go: reconcileJob, the pure, level-based sync, as three
//     named stages: classify.go (stage 1: count the pods, write the
//     counts), conditions.go (stage 2: Suspended, FailureTarget,
//     SuccessCriteriaMet, Failed, Complete), manage.go (stage 3: how many
//     pods to stop or create, the failure back-off). Each stage has its
//     own table tests.
//   - policy.go: podFailurePolicy and successPolicy; indexed.go: Indexed
//     Jobs (completion indexes, their labels, annotations and env).
//   - worker.go: the Job worker loop (observe, reconcile, act, wait; the
//     TTL after finishing); jobs.go: what a new Job and its pods get from
//     the apiserver, and the fields an update may change.
//
// How a pod runs is runner/kubelet's business, and deleting a Job is
// runner/controller's; this package knows neither.
package jobcontroller
