package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/manifest"
)

// wait blocks until a job has a condition or is deleted, like kubectl wait.
func (e *env) wait(ctx context.Context, args []string) error {
	fs := e.flags("wait", "wait --for=condition=complete|failed|delete job/NAME [--timeout D]")
	forCond := fs.String("for", "", "condition=complete, condition=failed or delete")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	ns := fs.StringP("namespace", "n", "default", "namespace")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *forCond == "" {
		return &usageError{msg: "wait needs --for and one job/NAME", hint: "localjobs wait --for=condition=complete job/hello"}
	}
	kind, name, ok := strings.Cut(fs.Arg(0), "/")
	if !ok || resourceAliases[kind] != "jobs" {
		return &usageError{msg: fmt.Sprintf("wait supports job/NAME, not %q", fs.Arg(0)), hint: "localjobs wait --for=condition=complete job/hello"}
	}
	want := strings.ToLower(*forCond)
	cond := ""
	switch want {
	case "condition=complete":
		cond = manifest.JobComplete
	case "condition=failed":
		cond = manifest.JobFailed
	case "delete":
	default:
		return &usageError{msg: fmt.Sprintf("--for=%s is not supported", *forCond), hint: "--for=condition=complete, --for=condition=failed or --for=delete"}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	if c == nil {
		return &exitError{code: exitFailed, err: errors.New("no localjobs daemon is running: wait needs one (localjobs up)")}
	}
	met := func(j *manifest.Job, deleted bool) bool {
		if cond == "" {
			return deleted
		}
		for _, jc := range j.Status.Conditions {
			if jc.Type == cond && jc.Status == "True" {
				return true
			}
		}
		return false
	}
	// Watch first, then read the current state, so no change is missed.
	stream, err := c.OpenWatch(ctx, "jobs", *ns)
	if err != nil {
		return err
	}
	defer stream.Close()
	events := make(chan localapi.WatchEvent, 64)
	watchErr := make(chan error, 1)
	go func() {
		for {
			ev, err := stream.Next()
			if err != nil {
				watchErr <- err
				return
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	j, err := c.Job(ctx, *ns, name)
	switch {
	case errors.Is(err, localapi.ErrNotFound):
		if cond == "" {
			fmt.Fprintf(e.stdout, "job.batch/%s condition met\n", name)
			return nil
		}
		return notFound("jobs.batch", name)
	case err != nil:
		return err
	case met(j, false):
		fmt.Fprintf(e.stdout, "job.batch/%s condition met\n", name)
		return nil
	}
	for {
		select {
		case ev := <-events:
			var j manifest.Job
			if err := json.Unmarshal(ev.Object, &j); err != nil || j.Name != name {
				continue
			}
			if met(&j, ev.Type == "DELETED") {
				fmt.Fprintf(e.stdout, "job.batch/%s condition met\n", name)
				return nil
			}
		case err := <-watchErr:
			if ctx.Err() == nil && err != nil {
				return err
			}
			return &exitError{code: exitFailed, err: fmt.Errorf("timed out waiting for the condition on jobs/%s", name)}
		case <-ctx.Done():
			return &exitError{code: exitFailed, err: fmt.Errorf("timed out waiting for the condition on jobs/%s", name)}
		}
	}
}
