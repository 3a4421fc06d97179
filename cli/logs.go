package cli

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"sort"
	"strings"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/state"
)

// logs prints a container's captured output, like kubectl logs.
func (e *env) logs(ctx context.Context, args []string) error {
	fs := e.flags("logs", "logs POD|job/NAME [-c CONTAINER] [--previous] [--timestamps] [--tail N]")
	container := fs.StringP("container", "c", "", "container name")
	previous := fs.BoolP("previous", "p", false, "the previous instance of the container")
	timestamps := fs.Bool("timestamps", false, "prefix each line with its RFC 3339 timestamp")
	tail := fs.Int("tail", -1, "lines from the end to show; -1 shows all")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{msg: "logs needs exactly one POD or job/NAME", hint: "localjobs logs simple-task"}
	}
	db, ok, err := e.openStore()
	if err != nil {
		return err
	}
	target := fs.Arg(0)
	if !ok {
		return notFound("pods", target)
	}
	defer db.Close()

	var rec *runner.PodRecord
	if kind, name, found := strings.Cut(target, "/"); found {
		switch kind {
		case "pod", "pods", "po":
			target = name
		case "job", "jobs", "job.batch":
			j, err := db.Job(ctx, *ns, name)
			if errors.Is(err, runner.ErrObjectNotFound) {
				return notFound("jobs.batch", name)
			} else if err != nil {
				return err
			}
			pods, err := db.PodsOfJob(ctx, j.UID)
			if err != nil {
				return err
			}
			if len(pods) == 0 {
				return fmt.Errorf("job/%s has no pods", name)
			}
			rec = pickLogPod(pods)
			if len(pods) > 1 {
				fmt.Fprintf(e.stderr, "Found %d pods, using pod/%s\n", len(pods), rec.Pod.Name)
			}
		default:
			return &usageError{msg: fmt.Sprintf("cannot get logs of %q", kind), hint: "localjobs logs POD or job/NAME"}
		}
	}
	if rec == nil {
		rec, err = db.Pod(ctx, *ns, target)
		if errors.Is(err, runner.ErrObjectNotFound) {
			return notFound("pods", target)
		} else if err != nil {
			return err
		}
	}
	c, err := pickContainer(&rec.Pod, *container, e)
	if err != nil {
		return err
	}
	var cr *runner.ContainerRecord
	for _, x := range rec.Containers {
		if x.Name == c {
			cr = x
		}
	}
	run := cr.Current
	if *previous {
		run = cr.Last
		if run == nil {
			return fmt.Errorf("previous terminated container %q in pod %q not found", c, rec.Pod.Name)
		}
	}
	if run == nil {
		return fmt.Errorf("container %q in pod %q is waiting to start: %s", c, rec.Pod.Name, waitingReason(cr))
	}
	path := db.LogPath(rec.Pod.Namespace, rec.Pod.Name, rec.Pod.UID, c, run.Restart)
	err = state.ReadLog(path, e.stdout, state.ReadOptions{Timestamps: *timestamps, Tail: *tail})
	if errors.Is(err, iofs.ErrNotExist) {
		return nil // nothing was written yet
	}
	return err
}

func waitingReason(cr *runner.ContainerRecord) string {
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
func pickLogPod(pods []*runner.PodRecord) *runner.PodRecord {
	rank := func(p *runner.PodRecord) int {
		switch p.Pod.Status.Phase {
		case manifest.PodRunning:
			return 0
		case manifest.PodPending:
			return 1
		}
		return 2
	}
	sorted := append([]*runner.PodRecord(nil), pods...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		return a.Pod.CreationTimestamp.After(b.Pod.CreationTimestamp.Time)
	})
	return sorted[0]
}
