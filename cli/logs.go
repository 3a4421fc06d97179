package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// logs prints a container's captured output, like kubectl logs.
func (e *env) logs(ctx context.Context, args []string) error {
	fs := e.flags("logs", "logs POD|job/NAME [-c CONTAINER] [-f] [--previous] [--timestamps] [--tail N] [--since D]")
	container := fs.StringP("container", "c", "", "container name")
	follow := fs.BoolP("follow", "f", false, "follow the output while the container runs (needs a running daemon)")
	previous := fs.BoolP("previous", "p", false, "the previous instance of the container")
	timestamps := fs.Bool("timestamps", false, "prefix each line with its RFC 3339 timestamp")
	tail := fs.Int("tail", -1, "lines from the end to show; -1 shows all")
	since := fs.Duration("since", 0, "only lines newer than this, e.g. 5m")
	allContainers := fs.Bool("all-containers", false, "every container of the pod")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	sel := fs.StringP("selector", "l", "", "logs of every pod matching this label selector")
	prefix := fs.Bool("prefix", false, "prefix each line with [pod/NAME/CONTAINER]")
	maxReqs := fs.Int("max-log-requests", 5, "with -l, the most pods to follow at once")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*sel == "") == (fs.NArg() != 1) || fs.NArg() > 1 {
		return &usageError{msg: "logs needs exactly one POD or job/NAME, or -l SELECTOR", hint: "localjobs logs simple-task"}
	}
	src, err := e.openSource(ctx)
	if err != nil {
		return err
	}
	target := fs.Arg(0)
	defer src.Close()
	if src.ReadOnly && *follow {
		fmt.Fprintln(e.stderr, "Warning: no daemon is running; printing the log without following")
		*follow = false
	}
	base := localapi.LogRequest{Previous: *previous, Follow: *follow, Timestamps: *timestamps, TailLines: *tail, SinceSeconds: int64(*since / time.Second)}
	if *sel != "" {
		return e.selectorLogs(ctx, src, *ns, *sel, *container, *allContainers, *prefix, *maxReqs, base)
	}

	var pod *manifest.Pod
	if kind, name, found := strings.Cut(target, "/"); found {
		switch kind {
		case "pod", "pods", "po":
			target = name
		case "job", "jobs", "job.batch":
			j, err := src.Job(ctx, *ns, name)
			if err != nil {
				return lookupErr(err, "jobs.batch", name)
			}
			pods, err := podsOfJob(ctx, src, j)
			if err != nil {
				return err
			}
			if len(pods) == 0 {
				return fmt.Errorf("job/%s has no pods", name)
			}
			pod = pickLogPod(pods)
			if len(pods) > 1 {
				fmt.Fprintf(e.stderr, "Found %d pods, using pod/%s\n", len(pods), pod.Name)
			}
		default:
			return &usageError{msg: fmt.Sprintf("cannot get logs of %q", kind), hint: "localjobs logs POD or job/NAME"}
		}
	}
	if pod == nil {
		r, err := src.PodRecord(ctx, *ns, target)
		if err != nil {
			return lookupErr(err, "pods", target)
		}
		pod = &r.Pod
	}
	var containers []string
	if *allContainers {
		for _, c := range pod.Spec.InitContainers {
			containers = append(containers, c.Name)
		}
		for _, c := range pod.Spec.Containers {
			containers = append(containers, c.Name)
		}
	} else {
		c, err := pickContainer(pod, *container, e)
		if err != nil {
			return err
		}
		containers = []string{c}
	}
	for _, c := range containers {
		req := base
		req.Namespace, req.Pod, req.Container = pod.Namespace, pod.Name, c
		var w io.Writer = e.stdout
		if *prefix {
			w = &prefixWriter{w: e.stdout, prefix: fmt.Sprintf("[pod/%s/%s] ", pod.Name, c)}
		}
		if err := src.Logs(ctx, w, req); err != nil {
			if errors.Is(err, localapi.ErrNotFound) {
				return notFound("pods", pod.Name)
			}
			return err
		}
	}
	return nil
}

func waitingReason(cr *localapi.ContainerRecord) string {
	if cr.Waiting != nil {
		return cr.Waiting.Reason
	}
	return "ContainerCreating"
}

// pickContainer resolves -c: the only container, the default-container
// annotation, or the first with a "Defaulted container" notice.
func pickContainer(pod *manifest.Pod, want string, e *env) (string, error) {
	var names []string
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	if want != "" {
		for _, n := range names {
			if n == want {
				return n, nil
			}
		}
		return "", fmt.Errorf("container %s is not valid for pod %s", want, pod.Name)
	}
	if len(pod.Spec.Containers) == 1 {
		return pod.Spec.Containers[0].Name, nil
	}
	def := pod.Annotations["kubectl.kubernetes.io/default-container"]
	if def == "" {
		def = pod.Spec.Containers[0].Name
	}
	fmt.Fprintf(e.stderr, "Defaulted container %q out of: %s\n", def, strings.Join(names, ", "))
	return def, nil
}

// pickLogPod orders a job's pods as kubectl's ByLogging does (active before
// finished, running before pending, more recent first) and picks the first.
func pickLogPod(pods []*manifest.Pod) *manifest.Pod {
	rank := func(p *manifest.Pod) int {
		switch p.Status.Phase {
		case manifest.PodRunning:
			return 0
		case manifest.PodPending:
			return 1
		}
		return 2
	}
	sorted := append([]*manifest.Pod(nil), pods...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		return a.CreationTimestamp.After(b.CreationTimestamp.Time)
	})
	return sorted[0]
}
