// Package kubelet runs pods on this machine, as Kubernetes' kubelet does on
// a node: one Worker per unfinished pod drives its containers through the
// Runtime and records every step in the Store before taking it.
//
// What belongs here, by file:
//   - reconcile.go: reconcilePod, the pure decision of what to start or
//     stop next (init containers, native sidecars, restart policy,
//     CrashLoopBackOff and image pull back-off, activeDeadlineSeconds);
//     status.go: the PodStatus derived from the record (phase, container
//     states, conditions, QoS class).
//   - worker.go: the pod worker loop; start.go: pulling, creating and
//     starting one container instance; watch.go: waiting for its exit,
//     capturing its log, stopping it.
//   - containerspec.go and env.go: the engine's container spec, with the
//     environment, $(VAR) expansion and the downward API.
//   - volumes.go, hostpath.go, beneath_*.go: volumes written on the host,
//     and subPaths and hostPaths resolved without following a link out of
//     their folder.
//   - sandbox.go: the pause sandbox and per-pod setup and teardown;
//     termination.go: termination messages; pullsecrets.go:
//     imagePullSecrets.
//   - security.go: Pod Security admission (baseline, privileged, the
//     hostPath folders); slots.go: --max-pods scheduling.
//   - restore.go: bringing a pod's recorded containers in line with the
//     engine after a daemon restart.
//
// The package knows nothing of Jobs or of the registry of workers: it asks
// the controller that runs it (Host) to publish changes and record events.
package kubelet
