// Package controller is the Controller the daemon drives: it runs pods
// and Jobs by tying the kubelet (runner/kubelet, one worker per pod) to
// the Job controller (runner/jobcontroller, one worker per Job), and plays
// the apiserver's part for them.
//
// What belongs here, by file:
//   - controller.go: the Controller, its configuration, Run, and the
//     registry of pod and Job workers.
//   - pods.go and jobs.go: the public operations on pods and Jobs —
//     apply (admission, identity, a fresh run replacing the previous
//     one), update, terminate, kill, count.
//   - delete.go: deleting and replacing pods and Jobs, with their
//     containers, records, events and logs — every deletion is here.
//   - events.go: events, and publishing changes to subscribers (waking a
//     pod's Job on the way).
//   - restore.go: resuming everything unfinished after a daemon restart.
//   - configobjects.go: ConfigMaps and Secrets that pods reference.
//
// What a pod does on this machine is decided in runner/kubelet, what a
// Job does in runner/jobcontroller; a change to either starts there.
package controller
