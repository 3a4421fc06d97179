package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/localjobs/localjobs/localapi"
	"github.com/localjobs/localjobs/runner"
	"github.com/localjobs/localjobs/state"
)

// Apply implements localapi.Backend: the apply semantics of package apply
// (DESIGN §6).
func (d *Daemon) Apply(ctx context.Context, req localapi.ApplyRequest) (localapi.ApplyResponse, error) {
	return d.applier.Apply(ctx, req)
}

// Logs implements localapi.Backend.
func (d *Daemon) Logs(ctx context.Context, w io.Writer, req localapi.LogRequest) error {
	rec, err := d.DB.Pod(ctx, req.Namespace, req.Pod)
	if err != nil {
		return err
	}
	cr, err := pickContainer(rec, req.Container)
	if err != nil {
		return err
	}
	run := cr.Current
	if req.Previous {
		run = cr.Last
		if run == nil {
			return &localapi.BadRequestError{Msg: fmt.Sprintf("previous terminated container %q in pod %q not found", cr.Name, req.Pod)}
		}
	}
	if run == nil {
		return &localapi.BadRequestError{Msg: fmt.Sprintf("container %q in pod %q is waiting to start", cr.Name, req.Pod)}
	}
	path := d.DB.LogPath(rec.Pod.Namespace, rec.Pod.Name, rec.Pod.UID, cr.Name, run.Restart)
	opts := state.ReadOptions{Timestamps: req.Timestamps, Tail: req.TailLines}
	if req.SinceSeconds > 0 {
		opts.Since = time.Now().Add(-time.Duration(req.SinceSeconds) * time.Second)
	}
	if !req.Follow {
		if err := state.ReadLog(path, w, opts); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	// Follow: print what is there, then poll for newer lines until the
	// instance has exited; one last pass after the exit picks up the end.
	var last time.Time
	first, final := true, false
	for {
		var buf bytes.Buffer
		o := opts
		o.Timestamps = true
		if !first {
			o.Tail = -1
		}
		first = false
		if err := state.ReadLog(path, &buf, o); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		sc := bufio.NewScanner(&buf)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			tsText, text, _ := strings.Cut(line, " ")
			ts, err := time.Parse(time.RFC3339Nano, tsText)
			if err != nil || !ts.After(last) {
				continue
			}
			last = ts
			if req.Timestamps {
				text = line
			}
			if _, err := fmt.Fprintln(w, text); err != nil {
				return err
			}
		}
		if final {
			return nil
		}
		r, err := d.DB.Pod(ctx, req.Namespace, req.Pod)
		if err != nil {
			return nil
		}
		c2, _ := pickContainer(r, cr.Name)
		final = c2 == nil || c2.Current == nil || c2.Current.Restart != run.Restart || c2.Current.Step == runner.StepExited
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func pickContainer(rec *runner.PodRecord, name string) (*runner.ContainerRecord, error) {
	if name == "" {
		var apps []*runner.ContainerRecord
		for _, c := range rec.Containers {
			if !c.Init {
				apps = append(apps, c)
			}
		}
		if len(apps) >= 1 {
			def := rec.Pod.Annotations["kubectl.kubernetes.io/default-container"]
			for _, c := range apps {
				if c.Name == def {
					return c, nil
				}
			}
			return apps[0], nil
		}
	}
	for _, c := range rec.Containers {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, &localapi.BadRequestError{Msg: fmt.Sprintf("container %s is not valid for pod %s", name, rec.Pod.Name)}
}

// TerminatePod implements localapi.RunBackend.
func (d *Daemon) TerminatePod(ctx context.Context, ns, name string, kill bool) error {
	if !kill {
		if _, err := d.DB.Pod(ctx, ns, name); err != nil {
			return err
		}
		d.Controller.TerminatePod(ns, name, "", "")
		return nil
	}
	return d.Controller.KillPod(ctx, ns, name)
}
