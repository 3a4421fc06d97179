// Package runner is the vocabulary every part of localjobs that runs pods
// and Jobs shares, and the seams between them. It holds no controller
// logic; the work is in its subpackages:
//
//   - runner/controller: the Controller the daemon drives — the registry
//     of pod and Job workers, the public operations (apply, update,
//     terminate, delete, restore), events, and deleting pods and Jobs
//     with their containers, records and logs (all in delete.go).
//   - runner/jobcontroller: the Job controller — reconcileJob, a pure
//     function in named stages, the pod failure and success policies,
//     Indexed Jobs, and the Job worker.
//   - runner/kubelet: running one pod on this machine — pod reconcile and
//     status, the pod worker, container specs and env, volumes and host
//     paths, the sandbox, image pull secrets, termination messages, and
//     admission (pod security, --max-pods).
//   - runner/docker: the Runtime over the Docker Engine API.
//   - runner/runnertest: a scripted fake Runtime and an in-memory Store.
//
// Here are the Runtime and Store interfaces (implemented by runner/docker
// and state), the records they exchange (PodRecord, ContainerRecord, Run
// and the Step* a container instance goes through), the container spec
// and labels, the errors the seams return, the Clock, and the Hub that
// delivers every Change (pods, Jobs, events, log lines) to subscribers.
//
// A change belongs here only if more than one of those packages, or a
// package outside runner, needs it.
package runner
